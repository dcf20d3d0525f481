import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { makeBundle, uniqueId } from "../fixtures/bundle.js";
import { makeHarness } from "./harness.js";

describe("supervisor: configuration at run time", { timeout: 60_000 }, () => {
  test("MaxConcurrentStarts and reconfigure(): bounds checked, manager-changed emitted, new runtimes usable", async (t) => {
    const h = await makeHarness(t);
    assert.throws(
      () => {
        h.sv.maxConcurrentStarts = 0;
      },
      { code: "InvalidArgument" },
    );
    h.sv.maxConcurrentStarts = 3;
    assert.equal(h.sv.maxConcurrentStarts, 3);
    assert.ok(h.events.some((e) => e.kind === "manager-changed" && e.changed.maxConcurrentStarts === 3));

    const runc = h.config.runtimes[0]!;
    h.sv.reconfigure({
      ...h.config,
      maxConcurrentStarts: 5,
      runtimes: [runc, { ...runc, name: "late" }],
      defaultRuntime: "late",
    });
    assert.equal(h.sv.maxConcurrentStarts, 5);
    assert.deepEqual(h.sv.runtimeNames, ["runc", "late"]);
    assert.equal(h.sv.defaultRuntime, "late");
    const bundle = await makeBundle({ args: ["true"] });
    t.after(() => bundle.remove());
    const id = uniqueId("late");
    const info = await h.sv.runContainer(id, bundle.path, {});
    assert.equal(info.runtime, "late");
    assert.equal(await h.sv.wait(id), 0);
    await h.sv.delete(id);
  });
});
