import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { makeBundle, uniqueId } from "../fixtures/bundle.js";
import { kindsFor, makeHarness } from "./harness.js";

describe("supervisor: pause, resume, stats", { timeout: 120_000 }, () => {
  test("Pause and Resume change Status; GetStats reads the container's cgroup; getByPid finds any of its processes", async (t) => {
    const h = await makeHarness(t);
    const limit = 64 << 20;
    const bundle = await makeBundle({
      args: ["sh", "-c", "sleep 100 & sleep 100 & wait"],
      memoryLimit: limit,
    });
    t.after(() => bundle.remove());
    const id = uniqueId("pause");
    await h.sv.runContainer(id, bundle.path, {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stats = await h.sv.stats(id);
    assert.ok(stats.memoryCurrent > 0n, "memory in use");
    assert.equal(stats.memoryLimit, BigInt(limit));
    assert.ok(stats.cpuUsageNSec > 0n, "cpu time used");
    assert.equal(stats.pids, 3n, "sh and two sleeps");

    // GetContainerByPID: the init, and any other process of the container (found by its cgroup).
    const info = h.sv.get(id)!;
    assert.equal(h.sv.getByPid(info.pid)?.id, id);
    const children = readFileSync(`/proc/${info.pid}/task/${info.pid}/children`, "utf8").trim().split(/\s+/);
    assert.equal(children.length, 2);
    assert.equal(h.sv.getByPid(Number(children[0]))?.id, id);
    assert.equal(h.sv.getByPid(process.pid), undefined);
    assert.equal(h.sv.getByPid(0), undefined);

    await h.sv.pause(id);
    assert.equal(h.sv.get(id)?.status, "paused");
    await assert.rejects(h.sv.pause(id), { code: "InvalidState" });
    await assert.rejects(h.sv.delete(id), { code: "InvalidState" });
    await h.sv.resume(id);
    assert.equal(h.sv.get(id)?.status, "running");
    await h.sv.kill(id, "all", 9);
    assert.equal(await h.sv.wait(id), 137);
    assert.deepEqual(kindsFor(h.events, id), [
      "container-new",
      "changed:running",
      "changed:paused",
      "changed:running",
      "container-exited",
      "changed:stopped",
    ]);
  });
});
