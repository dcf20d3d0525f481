import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeBundle, uniqueId } from "../fixtures/bundle.js";
import { runc, runtimeCommand } from "../helpers/runtime.js";
import { kindsFor, makeHarness, processGone } from "./harness.js";

describe("supervisor: exit and OOM watchers", { timeout: 120_000 }, () => {
  test("an OOM kill: container-oom before Exited, OOMKilled true", async (t) => {
    const h = await makeHarness(t);
    // tail keeps the last "line" of /dev/zero in memory, which never ends: it grows until killed.
    const bundle = await makeBundle({ args: ["tail", "/dev/zero"], memoryLimit: 16 << 20 });
    t.after(() => bundle.remove());
    const id = uniqueId("oom");
    await h.sv.runContainer(id, bundle.path, {});
    assert.equal(await h.sv.wait(id), 137);
    assert.equal(h.sv.get(id)?.oomKilled, true);
    assert.deepEqual(kindsFor(h.events, id), [
      "container-new",
      "changed:running",
      "container-oom",
      "container-exited",
      "changed:stopped",
    ]);
  });

  test("a shim SIGKILLed: the container is killed through the runtime and recorded as exit 255", async (t) => {
    const h = await makeHarness(t);
    const bundle = await makeBundle({ args: ["sleep", "100"] });
    t.after(() => bundle.remove());
    const id = uniqueId("lost");
    const info = await h.sv.runContainer(id, bundle.path, {});
    process.kill(info.shimPid, "SIGKILL");
    assert.equal(await h.sv.wait(id), 255);
    assert.ok(await processGone(info.pid), "the container's init was killed");
    const state = await runtimeCommand(runc(), join(h.config.stateDir, "runtime", "runc"), ["state", id]);
    assert.equal(JSON.parse(state.stdout).status, "stopped");
    const exit = JSON.parse(readFileSync(join(h.config.stateDir, "containers", id, "exit.json"), "utf8"));
    assert.equal(exit.recorded_by, "berthd");
    assert.ok(h.logs.some((line) => /error: container .* shim died without recording an exit/.test(line)));
    await h.sv.delete(id);
  });
});
