// src/berthd/systemd/scope.ts against the sandbox's systemd, over its real system bus: a scope per
// shim in berth.slice, collected when empty, stopped, abandoned, refused twice, and many at once.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ScopeError, ScopeExistsError, Scopes, shimScopeName } from "../../src/berthd/systemd/scope.js";
import { connectBus, type MessageBus } from "../../src/common/bus.js";
import { uniqueId } from "../fixtures/bundle.js";
import { Sandbox } from "./sandbox.js";

const sandbox = new Sandbox();
let bus: MessageBus;
let scopes: Scopes;

before(async () => {
  await sandbox.up();
  bus = await connectBus(sandbox.busAddress);
  scopes = new Scopes(bus);
  await scopes.start();
});
after(async () => {
  await scopes?.stop();
  bus?.disconnect();
  await sandbox.down();
});

/** A process inside, standing in for a shim; returns its pid as systemd sees it. */
async function sleeper(): Promise<number> {
  const out = await sandbox.execOk("sh", ["-c", "sleep 300 </dev/null >/dev/null 2>&1 & echo $!"]);
  return Number(out.trim());
}

async function show(unit: string): Promise<Record<string, string>> {
  const out = await sandbox.execOk("systemctl", [
    "show",
    "-p",
    "LoadState,ActiveState,SubState,Slice,Description,CollectMode,ControlGroup",
    unit,
  ]);
  return Object.fromEntries(
    out
      .trim()
      .split("\n")
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}

async function waitGone(unit: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await show(unit)).LoadState !== "not-found") {
    if (Date.now() > deadline) assert.fail(`${unit} is still there`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

test("create() puts the pid in berth-shim-<id>.scope in berth.slice; an empty scope is collected", async () => {
  const id = uniqueId("shim");
  const pid = await sleeper();
  const unit = await scopes.create(id, [pid], `berth shim for container ${id}`);
  assert.equal(unit, shimScopeName(id));
  assert.equal(unit, `berth-shim-${id}.scope`);
  assert.deepEqual(await show(unit), {
    LoadState: "loaded",
    ActiveState: "active",
    SubState: "running",
    Slice: "berth.slice",
    Description: `berth shim for container ${id}`,
    CollectMode: "inactive-or-failed",
    ControlGroup: `/berth.slice/${unit}`,
  });
  const cgroup = await sandbox.execOk("cat", [`/proc/${pid}/cgroup`]);
  assert.match(cgroup, new RegExp(`name=systemd:/berth\\.slice/${unit.replace(/\./g, "\\.")}$`, "m"));
  await sandbox.execOk("kill", ["-KILL", String(pid)]);
  await waitGone(unit);
});

test("stopScope() kills what is in the scope and the unit goes; a second stop is fine", async () => {
  const id = uniqueId("stop");
  const pid = await sleeper();
  const unit = await scopes.create(id, [pid], "to stop");
  await scopes.stopScope(id);
  assert.equal((await sandbox.exec("kill", ["-0", String(pid)])).code, 1, "the process is gone");
  await waitGone(unit);
  await scopes.stopScope(id);
});

test("abandon() leaves the scope running, abandoned, until its processes are gone", async () => {
  const id = uniqueId("abandon");
  const pid = await sleeper();
  const unit = await scopes.create(id, [pid], "to abandon");
  await scopes.abandon(id);
  const state = await show(unit);
  assert.equal(state.ActiveState, "active");
  assert.equal(state.SubState, "abandoned");
  await sandbox.execOk("kill", ["-KILL", String(pid)]);
  await waitGone(unit);
});

test("a second scope for the same id is refused with ScopeExistsError; a bad pid with ScopeError", async () => {
  const id = uniqueId("twice");
  const pid = await sleeper();
  await scopes.create(id, [pid], "first");
  const other = await sleeper();
  await assert.rejects(scopes.create(id, [other], "second"), ScopeExistsError);
  await assert.rejects(scopes.create(uniqueId("nopid"), [4_000_000], "no such pid"), ScopeError);
  await scopes.stopScope(id);
  await sandbox.execOk("kill", ["-KILL", String(other)]);
});

test("50 scopes made at once each get their own job result", async () => {
  const ids = Array.from({ length: 50 }, () => uniqueId("many"));
  const pids = await Promise.all(ids.map(() => sleeper()));
  const started = Date.now();
  const units = await Promise.all(ids.map((id, i) => scopes.create(id, [pids[i] as number], "many")));
  const ms = Date.now() - started;
  process.stderr.write(`scope: 50 concurrent StartTransientUnit calls done in ${ms} ms\n`);
  const listed = await sandbox.execOk("systemctl", [
    "list-units",
    "--plain",
    "--no-legend",
    "berth-shim-many-*",
  ]);
  for (const unit of units)
    assert.match(listed, new RegExp(`^${unit.replace(/\./g, "\\.")} +loaded active running`, "m"));
  await Promise.all(ids.map((id) => scopes.stopScope(id)));
});
