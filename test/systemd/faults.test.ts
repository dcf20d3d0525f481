// Faults under a real systemd (issue 4, "Live upgrade and faults"): a shim SIGKILLed under its
// container, and a berthd that stops answering (the watchdog). berth is installed in a sandbox
// (install.ts); the watchdog test hangs berthd through its test hook (src/berthd/test-hooks.ts,
// BERTHD_TEST_HOOKS=1 in a drop-in, SIGUSR2) with WatchdogSec=3s.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { MessageBus } from "../../src/common/bus.js";
import { containerPath } from "../../src/common/bus-path.js";
import { SignalRecorder } from "../helpers/dbus.js";
import { Sandbox } from "../sandbox/sandbox.js";
import {
  BundleFarm,
  CONTAINER_INTERFACE,
  call,
  listContainers,
  poll,
  property,
  runMany,
  show,
  systemBus,
} from "./helpers.js";
import { dropIn, installBerth } from "./install.js";

const sandbox = new Sandbox();
let bus: MessageBus;
let farm: BundleFarm;
let signals: SignalRecorder;

before(async () => {
  await sandbox.up();
  await installBerth(sandbox);
  await dropIn(
    sandbox,
    "berthd.service",
    "test-watchdog",
    "[Service]\nWatchdogSec=3s\nEnvironment=BERTHD_TEST_HOOKS=1\n",
  );
  const start = await sandbox.exec("systemctl", ["start", "berthd.service"], { timeoutMs: 60_000 });
  assert.equal(start.code, 0, `systemctl start berthd: ${start.stderr}`);
  bus = await systemBus(sandbox);
  signals = await SignalRecorder.start(bus);
  farm = await BundleFarm.create(sandbox);
});

after(async () => {
  bus?.disconnect();
  await sandbox.down();
});

/** Units whose name mentions `id` (loaded or not). */
async function unitsOf(id: string): Promise<string[]> {
  const out = await sandbox.execOk("systemctl", ["list-units", "--all", "--plain", "--no-legend", `*${id}*`]);
  return out
    .trim()
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.split(/\s+/)[0]);
}

test("SIGKILL a shim: its container is killed and reported with exit 255, its scope goes, nothing leaks", async (t) => {
  const t0 = Date.now();
  const step = (what: string) => t.diagnostic(`${what}: ${Date.now() - t0} ms`);
  const id = "shimkill";
  await runMany(bus, farm, [id], ["sleep", "100000"], 1);
  const path = containerPath(id);
  const pid = Number(await property(bus, path, CONTAINER_INTERFACE, "Pid"));
  const shimPid = Number(await property(bus, path, CONTAINER_INTERFACE, "ShimPid"));
  const unit = String(await property(bus, path, CONTAINER_INTERFACE, "Unit"));
  assert.ok(pid > 0 && shimPid > 0);
  assert.equal(unit, `berth-shim-${id}.scope`, "the Unit property names the shim's scope");
  assert.equal((await show(sandbox, unit, "ActiveState")).ActiveState, "active");
  assert.equal((await show(sandbox, `berth-${id}.scope`, "ActiveState")).ActiveState, "active");

  const since = signals.mark();
  step("running");
  await sandbox.execOk("kill", ["-KILL", String(shimPid)]);
  const exited = await signals.waitFor((s) => s.path === path && s.member === "Exited", 20_000, since);
  step("Exited");
  assert.equal(exited.body[0], 255, "a container whose shim died is reported with exit code 255");
  assert.equal(await property(bus, path, CONTAINER_INTERFACE, "Status"), "stopped");
  assert.equal(await property(bus, path, CONTAINER_INTERFACE, "ExitCode"), 255);
  // The container's init was killed with it, and both scopes went (CollectMode=inactive-or-failed).
  await poll("the container's init to be gone", async () =>
    (await sandbox.exec("kill", ["-0", String(pid)])).code !== 0 ? true : undefined,
  );
  await poll("the shim's and the container's scopes to go", async () => {
    const units = await unitsOf(id);
    return units.length === 0 ? true : undefined;
  });

  step("scopes gone");
  await call(bus, path, CONTAINER_INTERFACE, "Delete");
  assert.ok(!(await listContainers(bus)).has(id), "deleted");
  // Nothing leaks: no state dir, no runtime state, no process mentioning the id, no unit.
  assert.equal((await sandbox.exec("test", ["-e", `/run/berth/containers/${id}`])).code, 1, "state dir gone");
  const runc = await sandbox.execOk("sh", [
    "-c",
    "runc --root /run/berth/runtime/runc list -q 2>/dev/null || true",
  ]);
  assert.doesNotMatch(runc, new RegExp(`^${id}$`, "m"), "runc forgot it");
  const procs = await sandbox.execOk("sh", ["-c", `pgrep -af -- '[${id[0]}]${id.slice(1)}' || true`]);
  assert.equal(procs.trim(), "", "no process mentions the container");
  assert.deepEqual(await unitsOf(id), []);
  assert.equal(exitedCount(since, path), 1, "Exited exactly once");
});

function exitedCount(since: number, path: string): number {
  return signals.signals.slice(since).filter((s) => s.path === path && s.member === "Exited").length;
}

test("watchdog: a berthd that stops answering is killed and restarted by systemd; containers stay", async () => {
  const id = "watched";
  await runMany(bus, farm, [id], ["sleep", "100000"], 1);
  const pid = Number(await property(bus, containerPath(id), CONTAINER_INTERFACE, "Pid"));
  const before = await show(sandbox, "berthd.service", "MainPID", "NRestarts", "WatchdogUSec");
  assert.equal(before.WatchdogUSec, "3s");
  const old = Number(before.MainPID);

  const hungAt = Date.now();
  await sandbox.execOk("kill", ["-USR2", String(old)]);
  // Hung for real: a call does not get an answer while the watchdog has not fired yet.
  const early = await sandbox.exec("timeout", [
    "1",
    "busctl",
    "get-property",
    "org.berth.Supervisor1",
    "/org/berth/Supervisor1",
    "org.berth.Supervisor1.Manager",
    "Version",
  ]);
  assert.equal(early.code, 124, `berthd still answered after SIGUSR2: ${early.stdout}`);

  const now = await poll(
    "systemd to restart the hung berthd",
    async () => {
      const s = await show(sandbox, "berthd.service", "ActiveState", "MainPID", "NRestarts");
      return s.ActiveState === "active" && Number(s.MainPID) !== old ? s : undefined;
    },
    30_000,
  );
  const took = Date.now() - hungAt;
  assert.equal(Number(now.NRestarts), Number(before.NRestarts) + 1);
  assert.ok(took < 15_000, `restarted ${took} ms after the hang (WatchdogSec=3s)`);
  const journal = await sandbox.execOk("journalctl", ["--no-pager", "-u", "berthd.service", "-o", "cat"]);
  assert.match(journal, /Watchdog timeout/, "systemd says why");
  const list = await listContainers(bus);
  assert.deepEqual([list.get(id)?.status, list.get(id)?.pid], ["running", pid]);
  await sandbox.execOk("kill", ["-0", String(pid)]);
});
