// Live restart, upgrade and daemon faults in a real systemd (issue 4, "Live upgrade and faults"):
// berth installed in a sandbox (the .deb by default, see install.ts), 50 running containers, then
// `systemctl restart berthd`, an upgrade to a build with another version, SIGKILL of berthd and
// `systemctl stop berthd` followed by a D-Bus call. Each time: every container keeps running with the
// same pid, every object is back on the bus, calls made meanwhile through the bus and through
// /run/berth/private succeed, and a container killed while berthd is down is reported Exited once
// with its exit code. The tests share the containers and run in order.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { MessageBus } from "../../src/common/bus.js";
import { containerPath } from "../../src/common/bus-path.js";
import { SignalRecorder } from "../helpers/dbus.js";
import { Sandbox } from "../sandbox/sandbox.js";
import {
  BundleFarm,
  CONTAINER_INTERFACE,
  listContainers,
  MANAGER_INTERFACE,
  MANAGER_PATH,
  managedPaths,
  Prober,
  poll,
  privateAddress,
  property,
  runMany,
  show,
  sleep,
  systemBus,
} from "./helpers.js";
import { type Installed, installBerth, upgradeBerth } from "./install.js";

const COUNT = 50;
const sandbox = new Sandbox();
let installed: Installed;
let bus: MessageBus;
let farm: BundleFarm;
let signals: SignalRecorder;
/** The 50 containers: id → pid (the sandbox's). */
const pids = new Map<string, number>();
let victims = 0;

before(async () => {
  await sandbox.up();
  installed = await installBerth(sandbox);
  const start = await sandbox.exec("systemctl", ["start", "berthd.service"], { timeoutMs: 60_000 });
  assert.equal(start.code, 0, `systemctl start berthd: ${start.stderr}`);
  bus = await systemBus(sandbox);
  signals = await SignalRecorder.start(bus);
  farm = await BundleFarm.create(sandbox);
  const ids = Array.from({ length: COUNT }, (_, i) => `live-${i}`);
  await runMany(bus, farm, ids, ["sleep", "100000"]);
  const list = await listContainers(bus);
  for (const id of ids) {
    const entry = list.get(id);
    assert.equal(entry?.status, "running", `${id} runs`);
    pids.set(id, entry.pid);
  }
});

after(async () => {
  bus?.disconnect();
  await sandbox.down();
});

async function mainPid(): Promise<number> {
  return Number((await show(sandbox, "berthd.service", "MainPID")).MainPID);
}

/** Runs a container that the test kills while berthd is down; returns its id and pid. */
async function victim(): Promise<{ id: string; pid: number }> {
  const id = `victim-${victims++}`;
  await runMany(bus, farm, [id], ["sleep", "100000"], 1);
  const pid = Number(await property(bus, containerPath(id), CONTAINER_INTERFACE, "Pid"));
  assert.ok(pid > 0);
  return { id, pid };
}

/** A shell inside the sandbox that SIGKILLs `pid` as soon as process `gone` has exited. */
function killWhenGone(gone: number, pid: number): Promise<unknown> {
  return sandbox.execOk(
    "sh",
    ["-c", `while kill -0 ${gone} 2>/dev/null; do sleep 0.005; done; kill -KILL ${pid}`],
    { timeoutMs: 60_000 },
  );
}

/**
 * `disturb` stops or replaces berthd (old MainPID given) and kills the victim while it is down; then
 * the guarantees are checked: a new berthd is active, every container runs with its pid and is on
 * the bus, the probes through the bus and the private socket all succeeded, the victim's exit (137,
 * SIGKILL) was signalled exactly once.
 */
async function survives(
  disturb: (old: number, victimPid: number) => Promise<void>,
  options: { probe?: boolean; killedAt?: () => number; diagnostic?: (text: string) => void } = {},
): Promise<void> {
  const v = await victim();
  const since = signals.mark();
  const old = await mainPid();
  assert.ok(old > 0, "berthd runs before");
  const prober =
    options.probe === false ? undefined : new Prober(bus, privateAddress(sandbox), COUNT, 20_000).start();
  try {
    await disturb(old, v.pid);
    const now = await poll("a new berthd to be active", async () => {
      const s = await show(sandbox, "berthd.service", "ActiveState", "MainPID");
      return s.ActiveState === "active" && Number(s.MainPID) !== old && Number(s.MainPID) !== 0
        ? s
        : undefined;
    });
    assert.notEqual(Number(now.MainPID), old);
    await sleep(300); // a few probes against the new berthd too
  } finally {
    const results = await prober?.stop();
    if (results !== undefined) {
      for (const r of Object.values(results)) {
        options.diagnostic?.(
          `${r.via}: ${r.ok} calls answered, slowest ${r.slowestMs} ms, ${r.failures.length} failed`,
        );
        // A call (or a connection to the private socket) berthd had already received when it was
        // SIGKILLed cannot be answered; every call made after the kill must be.
        const killedAt = options.killedAt?.() ?? 0;
        const failures = r.failures.filter((f) => f.startedAt >= killedAt);
        if (failures.length > 0) {
          const journal = await sandbox.exec("sh", [
            "-c",
            "journalctl --no-pager -n 300 -u berthd.service -u berthd.socket | grep -v 're-attached (' | tail -n 40",
          ]);
          assert.deepEqual(
            failures.map((f) => f.text),
            [],
            `calls through the ${r.via} failed during the restart; the journal:\n${journal.stdout}`,
          );
        }
        assert.ok(r.ok > 0, `some calls through the ${r.via} were made`);
      }
    }
  }

  const list = await listContainers(bus);
  const paths = await managedPaths(bus);
  for (const [id, pid] of pids) {
    assert.deepEqual(
      [list.get(id)?.status, list.get(id)?.pid],
      ["running", pid],
      `${id} still runs with pid ${pid}`,
    );
    assert.ok(paths.has(containerPath(id)), `${containerPath(id)} is back on the bus`);
  }
  // The pids are the same processes: they never died (kill -0 fails if any did).
  await sandbox.execOk("kill", ["-0", ...[...pids.values()].map(String)]);

  const path = containerPath(v.id);
  const exited = await signals.waitFor((s) => s.path === path && s.member === "Exited", 20_000, since);
  assert.equal(exited.body[0], 137, "the victim's exit code: SIGKILL");
  await sleep(1000);
  const all = signals.signals.slice(since).filter((s) => s.path === path && s.member === "Exited");
  assert.equal(all.length, 1, "Exited exactly once");
  assert.equal(await property(bus, path, CONTAINER_INTERFACE, "ExitCode"), 137);
  assert.equal(await property(bus, path, CONTAINER_INTERFACE, "Status"), "stopped");
}

test("systemctl restart berthd with 50 running containers: nothing else notices", async (t) => {
  await survives(
    async (old, victimPid) => {
      const killer = killWhenGone(old, victimPid);
      const started = Date.now();
      const restart = await sandbox.exec("systemctl", ["restart", "berthd.service"], { timeoutMs: 90_000 });
      assert.equal(restart.code, 0, restart.stderr);
      t.diagnostic(`systemctl restart berthd: ${Date.now() - started} ms`);
      await killer;
    },
    { diagnostic: (text) => t.diagnostic(text) },
  );
});

test("upgrade: a build with another version re-attaches everything", async (t) => {
  const version = `${installed.version}+upgradetest1`;
  assert.notEqual(await property(bus, MANAGER_PATH, MANAGER_INTERFACE, "Version"), version);
  await survives(
    async (old, victimPid) => {
      const killer = killWhenGone(old, victimPid);
      installed = await upgradeBerth(sandbox, installed, version);
      // The package's postinst restarts berthd; a checkout install is restarted by hand.
      if ((await mainPid()) === old) await sandbox.execOk("systemctl", ["restart", "berthd.service"]);
      await killer;
    },
    { diagnostic: (text) => t.diagnostic(text) },
  );
  assert.equal(await property(bus, MANAGER_PATH, MANAGER_INTERFACE, "Version"), version);
});

test("SIGKILL berthd: systemd restarts it (Restart=always) and it re-attaches everything", async (t) => {
  const before = Number((await show(sandbox, "berthd.service", "NRestarts")).NRestarts);
  let killedAt = 0;
  await survives(
    async (old, victimPid) => {
      const killer = killWhenGone(old, victimPid);
      await sandbox.execOk("kill", ["-KILL", String(old)]);
      await killer;
      // Only now is the old berthd's bus connection surely closed: a call made while the kernel tore
      // the killed process down still reached it and can never be answered (NoReply).
      killedAt = Date.now();
    },
    { killedAt: () => killedAt, diagnostic: (text) => t.diagnostic(text) },
  );
  const after = await show(sandbox, "berthd.service", "NRestarts");
  assert.equal(Number(after.NRestarts), before + 1, "systemd restarted it, nobody else");
});

test("systemctl stop berthd: containers keep running; a call to the name starts berthd again", async () => {
  await survives(
    async (_old, victimPid) => {
      const stop = await sandbox.exec("systemctl", ["stop", "berthd.service"], { timeoutMs: 60_000 });
      assert.equal(stop.code, 0, stop.stderr);
      assert.equal((await show(sandbox, "berthd.service", "ActiveState")).ActiveState, "inactive");
      await sandbox.execOk("kill", ["-0", ...[...pids.values()].map(String)]);
      await sandbox.execOk("kill", ["-KILL", String(victimPid)]);
      await sleep(200);
      assert.equal((await show(sandbox, "berthd.service", "ActiveState")).ActiveState, "inactive");
      // Bus activation: the bus starts berthd.service and holds the call until the name is owned.
      const started = Date.now();
      const list = await listContainers(bus, 60_000);
      assert.ok(list.size >= COUNT, `the activated berthd lists ${list.size} containers`);
      assert.ok(Date.now() - started < 60_000);
    },
    { probe: false },
  );
});
