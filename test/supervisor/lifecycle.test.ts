import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeBundle, uniqueId } from "../fixtures/bundle.js";
import { processesMentioning } from "../helpers/proc.js";
import { failsAfterRun, runc, runtimeCommand } from "../helpers/runtime.js";
import { kindsFor, makeHarness, processGone, testConfig, waitForEvent } from "./harness.js";

describe("supervisor lifecycle (real runc, real shim)", { timeout: 120_000 }, () => {
  test("create, start, exit 3, delete: state, files and events in the design's order", async (t) => {
    const h = await makeHarness(t);
    const bundle = await makeBundle({ args: ["sh", "-c", "echo hello-out; echo hello-err >&2; exit 3"] });
    t.after(() => bundle.remove());
    const id = uniqueId("life");

    const created = await h.sv.createContainer(id, bundle.path, { labels: { app: "web" } });
    assert.equal(created.status, "created");
    assert.ok(created.pid > 0, "init pid known after create");
    assert.ok(created.shimPid > 0, "shim pid known after create");
    assert.equal(created.bundle, bundle.path);
    assert.deepEqual(created.labels, { app: "web" });
    assert.equal(created.exitCode, -1);
    const dir = join(h.config.stateDir, "containers", id);
    const request = JSON.parse(readFileSync(join(dir, "request.json"), "utf8"));
    assert.equal(request.bundle, bundle.path);
    const runtimeConfig = JSON.parse(readFileSync(join(dir, "bundle", "config.json"), "utf8"));
    assert.equal(runtimeConfig.linux.cgroupsPath, `/berth/${id}`);
    assert.equal(runtimeConfig.root.path, join(bundle.path, "rootfs"));

    await h.sv.startContainer(id);
    const exitCode = await h.sv.wait(id);
    assert.equal(exitCode, 3);
    const info = h.sv.get(id)!;
    assert.equal(info.status, "stopped");
    assert.equal(info.pid, 0);
    assert.ok(info.startedAt > 0n && info.exitedAt >= info.startedAt, "times recorded in order");
    assert.equal(await h.sv.wait(id), 3, "Wait after the exit answers at once");

    const log = readFileSync(info.logPath, "utf8");
    assert.match(log, /stdout F hello-out/);
    assert.match(log, /stderr F hello-err/);

    await h.sv.delete(id);
    assert.equal(h.sv.get(id), undefined);
    assert.equal(existsSync(dir), false, "container dir removed");
    assert.deepEqual(kindsFor(h.events, id), [
      "container-new",
      "changed:running",
      "container-exited",
      "changed:stopped",
      "container-removed",
    ]);
    const running = h.events.find((e) => e.kind === "container-changed" && e.id === id)!;
    assert.ok(running.kind === "container-changed" && running.changed.pid === created.pid);
    const exited = h.events.find((e) => e.kind === "container-exited" && e.id === id);
    assert.ok(exited?.kind === "container-exited" && exited.exitCode === 3 && !exited.oomKilled);
  });

  for (const runtime of ["runc", "crun"]) {
    test(`RunContainer (${runtime}): the shim starts it; events and StartedAt as CreateContainer + Start`, async (t) => {
      const h = await makeHarness(t);
      const bundle = await makeBundle({ args: ["sleep", "100"] });
      t.after(() => bundle.remove());
      const id = uniqueId("run");
      const info = await h.sv.runContainer(id, bundle.path, { runtime });
      assert.equal(info.status, "running");
      assert.ok(info.pid > 0 && info.shimPid > 0);
      const dir = join(h.config.stateDir, "containers", id);
      const started = JSON.parse(readFileSync(join(dir, "started.json"), "utf8"));
      assert.equal(info.startedAt, BigInt(started.started_at), "StartedAt is when the shim issued the start");
      assert.ok(info.startedAt >= info.createdAt);
      const record = JSON.parse(readFileSync(join(dir, "berthd.json"), "utf8"));
      assert.equal(record.started, true);
      assert.equal(record.startedAt, String(info.startedAt));
      assert.deepEqual(kindsFor(h.events, id), ["container-new", "changed:running"]);
      const added = h.events.find((e) => e.kind === "container-new" && e.info.id === id);
      assert.ok(
        added?.kind === "container-new" && added.info.status === "created" && added.info.pid === info.pid,
      );
      const running = h.events.find((e) => e.kind === "container-changed" && e.id === id);
      assert.ok(running?.kind === "container-changed");
      assert.deepEqual(running.changed, { status: "running", pid: info.pid, startedAt: info.startedAt });
      await h.sv.kill(id, "all", 9);
      assert.equal(await h.sv.wait(id), 137);
      await h.sv.delete(id);
    });
  }

  test("a RunContainer whose runtime run fails late: RuntimeFailed in its words, and nothing is left", async (t) => {
    const dying = failsAfterRun(runc());
    const h = await makeHarness(t, {
      runtimes: [...testConfig("").runtimes, { name: "dying", path: dying.path, args: [] }],
    });
    const bundle = await makeBundle({ args: ["sleep", "100"] });
    t.after(() => bundle.remove());
    const id = uniqueId("nostart");
    await assert.rejects(h.sv.runContainer(id, bundle.path, { runtime: "dying" }), {
      code: "RuntimeFailed",
      message: new RegExp(`^runc run ${id}: refused after the run`),
    });
    assert.equal(h.sv.get(id), undefined);
    assert.deepEqual(kindsFor(h.events, id), [], "no event: the container never existed for clients");
    assert.equal(existsSync(join(h.config.stateDir, "containers", id)), false, "its dir is gone");
    const root = join(h.config.stateDir, "runtime", "dying");
    assert.notEqual(
      (await runtimeCommand(runc(), root, ["state", id])).code,
      0,
      "the runtime knows no such container",
    );
    assert.deepEqual(processesMentioning(id), [], "no shim or runtime process left");
    assert.equal(h.sv.activeStarts, 0, "the start slot is free again");
    // The id is free again: the same RunContainer with a runtime that works succeeds.
    assert.equal((await h.sv.runContainer(id, bundle.path, {})).status, "running");
    await h.sv.kill(id, "all", 9);
    assert.equal(await h.sv.wait(id), 137);
    await h.sv.delete(id);
  });

  test("the Runtime option picks a configured runtime, with its own --root; SIGTERM: exit 143", async (t) => {
    const h = await makeHarness(t, {
      runtimes: [testConfig("").runtimes[0]!, { ...testConfig("").runtimes[0]!, name: "other" }],
    });
    // Without its own pid namespace, init is an ordinary process that SIGTERM kills.
    const bundle = await makeBundle({ args: ["sleep", "100"], pidNamespace: false });
    t.after(() => bundle.remove());
    const id = uniqueId("rt");
    const info = await h.sv.runContainer(id, bundle.path, { runtime: "other" });
    assert.equal(info.status, "running");
    assert.equal(info.runtime, "other");
    assert.ok(
      existsSync(join(h.config.stateDir, "runtime", "other", id)),
      "the runtime's state is under runtime/other",
    );
    await h.sv.kill(id, "init", 15);
    assert.equal(await h.sv.wait(id), 143);
    await h.sv.delete(id);
    assert.equal(h.sv.list().length, 0);
  });

  test("crun through the Runtime option; without cgroups of its own (hybrid hosts) GetStats refuses", async (t) => {
    const h = await makeHarness(t);
    const bundle = await makeBundle({ args: ["sh", "-c", "sleep 0.5; exit 4"] });
    t.after(() => bundle.remove());
    const id = uniqueId("crun");
    const info = await h.sv.runContainer(id, bundle.path, { runtime: "crun" });
    assert.equal(info.runtime, "crun");
    const crunArgs = h.config.runtimes.find((r) => r.name === "crun")!.args;
    if (crunArgs.includes("--cgroup-manager=disabled")) {
      await assert.rejects(h.sv.stats(id), { code: "InvalidState", message: /no cgroup of its own/ });
    } else {
      assert.ok((await h.sv.stats(id)).memoryCurrent > 0n);
    }
    assert.equal(await h.sv.wait(id), 4);
    await h.sv.delete(id);
  });

  test("delete of a created container: its init is killed, no Exited, only Removed", async (t) => {
    const h = await makeHarness(t);
    const bundle = await makeBundle({ args: ["sleep", "100"] });
    t.after(() => bundle.remove());
    const id = uniqueId("created");
    const info = await h.sv.createContainer(id, bundle.path, {});
    const waiting = h.sv.wait(id);
    await h.sv.delete(id);
    await assert.rejects(waiting, { code: "InvalidState" });
    assert.ok(await processGone(info.shimPid), "the shim is gone");
    assert.deepEqual(kindsFor(h.events, id), ["container-new", "container-removed"]);
  });

  test("AutoRemove: Exited, then Removed, and the dir is gone", async (t) => {
    const h = await makeHarness(t);
    const bundle = await makeBundle({ args: ["true"] });
    t.after(() => bundle.remove());
    const id = uniqueId("auto");
    await h.sv.runContainer(id, bundle.path, { autoRemove: true });
    await waitForEvent(h.events, (e) => e.kind === "container-removed" && e.id === id);
    assert.deepEqual(kindsFor(h.events, id), [
      "container-new",
      "changed:running",
      "container-exited",
      "changed:stopped",
      "container-removed",
    ]);
    assert.equal(existsSync(join(h.config.stateDir, "containers", id)), false);
  });
});
