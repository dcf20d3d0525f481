// src/berthd/systemd/notify.ts against the real systemd of the sandbox: notify-probe.js runs as a
// service there (Type=notify, a watchdog, socket activation) and systemd's own view is checked.

import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  childEnvironment,
  listenFds,
  notify,
  SERVICE_MANAGER_VARIABLES,
  Watchdog,
  watchdogUsec,
} from "../../src/berthd/systemd/notify.js";
import { uniqueId } from "../fixtures/bundle.js";
import { poll, show } from "../systemd/helpers.js";
import { CHECKOUT, Sandbox } from "./sandbox.js";

const PROBE = join(CHECKOUT, "dist/test/sandbox/notify-probe.js");
const sandbox = new Sandbox();

before(() => sandbox.up());
after(() => sandbox.down());

test("without a service manager every call is a no-op", () => {
  for (const name of ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID"]) {
    delete process.env[name];
  }
  assert.equal(notify("READY=1"), false);
  assert.equal(watchdogUsec(), undefined);
  assert.deepEqual(listenFds(), []);
  const watchdog = new Watchdog();
  watchdog.start();
  assert.equal(watchdog.intervalMs, undefined);
  watchdog.stop();
});

test("childEnvironment() keeps the service manager's variables from children (runc would wait on them)", () => {
  const env = {
    PATH: "/usr/bin",
    NOTIFY_SOCKET: "/run/systemd/notify",
    WATCHDOG_USEC: "20000000",
    WATCHDOG_PID: "7",
    LISTEN_FDS: "1",
    LISTEN_PID: "7",
    LISTEN_FDNAMES: "berthd.socket",
  };
  assert.deepEqual(childEnvironment(env), { PATH: "/usr/bin" });
  assert.equal(env.NOTIFY_SOCKET, "/run/systemd/notify", "the input is left alone");
});

test("berthd's own child environment is computed once: every spawn shares one frozen copy", () => {
  const env = childEnvironment();
  assert.equal(childEnvironment(), env, "the same object each time");
  assert.ok(Object.isFrozen(env), "no spawn can change what the next one gets");
  assert.equal(env.PATH, process.env.PATH);
  for (const name of SERVICE_MANAGER_VARIABLES) assert.equal(env[name], undefined, name);
});

test("READY=1, STATUS (printf-looking text passed as data) and watchdog pings reach systemd", async () => {
  const unit = `${uniqueId("notify")}.service`;
  const status = "100% done %n%s%x %%";
  // systemd-run returns once the start job is done: for Type=notify, when READY=1 arrived.
  await sandbox.execOk("systemd-run", [
    `--unit=${unit}`,
    "-p",
    "Type=notify",
    "-p",
    "WatchdogSec=1",
    "-p",
    "TimeoutStartSec=15",
    "-p",
    "RemainAfterExit=yes",
    "--",
    "node",
    PROBE,
    "ready",
    status,
  ]);
  const running = await show(sandbox, unit, "ActiveState", "SubState", "StatusText", "WatchdogUSec");
  assert.equal(running.ActiveState, "active");
  assert.equal(running.SubState, "running");
  assert.equal(running.StatusText, status);
  assert.equal(running.WatchdogUSec, "1s");
  // It runs three times longer than WatchdogSec and still ends well: the pings arrived. (STOPPING=1
  // ends it as "dead", after which systemd may collect it: its own journal lines are the record.)
  const journal = await poll(
    "the probe to finish",
    async () => {
      const out = await sandbox.execOk("journalctl", ["-u", unit, "-o", "cat", "--no-pager"]);
      return /Deactivated successfully|Failed with result/.test(out) ? out : undefined;
    },
    15_000,
  );
  assert.match(journal, /Deactivated successfully/);
  assert.doesNotMatch(journal, /[Ww]atchdog timeout/);
  assert.match(journal, /watchdog usec=1000000 interval=500/);
});

test("a service that stops pinging is killed by the watchdog (the control for the test above)", async () => {
  const unit = `${uniqueId("silent")}.service`;
  await sandbox.execOk("systemd-run", [
    `--unit=${unit}`,
    "-p",
    "Type=notify",
    "-p",
    "WatchdogSec=1",
    "-p",
    "TimeoutStartSec=15",
    "--",
    "node",
    PROBE,
    "silent",
  ]);
  const state = await poll(
    "the watchdog to fire",
    async () => {
      const s = await show(sandbox, unit, "ActiveState", "Result");
      return s.ActiveState === "failed" ? s : undefined;
    },
    15_000,
  );
  assert.equal(state.Result, "watchdog");
});

test("pidNotify() makes systemd see the message as sent by that pid", async () => {
  const unit = `${uniqueId("pid")}.service`;
  // NotifyAccess=main: systemd names the sender it refuses, which must be the child, not the probe.
  await sandbox.execOk("systemd-run", [
    `--unit=${unit}`,
    "-p",
    "Type=notify",
    "-p",
    "NotifyAccess=main",
    "-p",
    "TimeoutStartSec=15",
    "--",
    "node",
    PROBE,
    "pid",
  ]);
  const journal = await poll(
    "the refusal",
    async () => {
      const out = await sandbox.execOk("journalctl", ["-u", unit, "-o", "cat", "--no-pager"]);
      return /child pid=\d+/.test(out) && /Got notification message from PID/.test(out) ? out : undefined;
    },
    15_000,
  );
  const child = journal.match(/child pid=(\d+)/)?.[1];
  assert.match(journal, new RegExp(`Got notification message from PID ${child}\\b`));
});

test("socket activation hands the listening socket to listenFds()", async () => {
  const name = uniqueId("listen");
  const path = `/run/${name}.sock`;
  await sandbox.execOk("systemd-run", [
    `--unit=${name}`,
    `--socket-property=ListenStream=${path}`,
    "--",
    "node",
    PROBE,
    "listen",
  ]);
  // The first connection starts the service (from the host, through the sandbox's root).
  await new Promise<void>((resolve, reject) => {
    const socket = connect(`/proc/${sandbox.pid}/root${path}`, () => {
      socket.destroy();
      resolve();
    });
    socket.on("error", reject);
  });
  const line = await poll(
    "the probe's report",
    async () => {
      const out = await sandbox.execOk("journalctl", ["-u", `${name}.service`, "-o", "cat", "--no-pager"]);
      return out.split("\n").find((l) => l.startsWith("{"));
    },
    15_000,
  );
  assert.deepEqual(JSON.parse(line), { fds: [3], kinds: ["socket"], left: null });
});
