import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeBundle, uniqueId } from "../fixtures/bundle.js";
import { makeHarness, waitForEvent } from "./harness.js";

describe("supervisor: exec", { timeout: 120_000 }, () => {
  test("exec'd processes: exit codes, env/cwd merged, events, ProcessExists, delete only when stopped", async (t) => {
    const h = await makeHarness(t);
    const bundle = await makeBundle({ args: ["sleep", "100"], env: ["FROM_CONFIG=yes"] });
    t.after(() => bundle.remove());
    const id = uniqueId("exec");
    await h.sv.runContainer(id, bundle.path, {});

    const quick = await h.sv.exec(id, "quick", {
      args: ["sh", "-c", 'echo "$FROM_CONFIG $EXTRA $(pwd)"; exit 7'],
      env: ["EXTRA=added"],
      cwd: "/tmp",
    });
    assert.equal(quick.status, "running");
    assert.ok(quick.pid > 0);
    assert.equal(await h.sv.waitProcess(id, "quick"), 7);
    const processDir = join(h.config.stateDir, "containers", id, "processes", "quick");
    assert.match(readFileSync(join(processDir, "log"), "utf8"), /stdout F yes added \/tmp/);
    const [stopped] = h.sv.processes(id);
    assert.equal(stopped?.status, "stopped");
    assert.equal(stopped?.exitCode, 7);

    const slow = await h.sv.exec(id, "slow", { args: ["sleep", "100"] });
    await assert.rejects(h.sv.exec(id, "slow", { args: ["true"] }), { code: "ProcessExists" });
    await assert.rejects(h.sv.deleteProcess(id, "slow"), { code: "InvalidState" });
    await assert.rejects(h.sv.waitProcess(id, "nope"), { code: "NoSuchProcess" });
    await h.sv.killProcess(id, "slow", 9);
    assert.equal(await h.sv.waitProcess(id, "slow"), 137);
    assert.notEqual(slow.pid, 0);
    await h.sv.deleteProcess(id, "quick");
    assert.equal(existsSync(processDir), false);
    assert.deepEqual(
      h.events
        .filter((e) => e.kind.startsWith("process-") && "id" in e && e.id === "quick")
        .map((e) => e.kind),
      ["process-exited", "process-changed", "process-removed"],
    );
    assert.ok(h.events.some((e) => e.kind === "process-new" && e.info.id === "quick"));

    // The container's exit takes the remaining process record with it on Delete.
    await h.sv.kill(id, "all", 9);
    await h.sv.wait(id);
    await h.sv.delete(id);
    await waitForEvent(h.events, (e) => e.kind === "process-removed" && e.id === "slow");
  });
});
