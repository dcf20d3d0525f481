import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { BerthError } from "../../src/common/errors.js";
import { makeBundle, uniqueId } from "../fixtures/bundle.js";
import { makeHarness } from "./harness.js";

describe("supervisor: conflicting operations never interleave", { timeout: 120_000 }, () => {
  test("two Starts at once: exactly one runs the runtime, the other sees running", async (t) => {
    const h = await makeHarness(t);
    const bundle = await makeBundle({ args: ["sleep", "100"] });
    t.after(() => bundle.remove());
    const id = uniqueId("twice");
    await h.sv.createContainer(id, bundle.path, {});
    const results = await Promise.allSettled([
      h.sv.startContainer(id),
      h.sv.startContainer(id),
      h.sv.startContainer(id),
    ]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    for (const r of results.filter((r) => r.status === "rejected")) {
      assert.equal(((r as PromiseRejectedResult).reason as BerthError).code, "InvalidState");
    }
    const running = h.events.filter((e) => e.kind === "container-changed" && e.changed.status === "running");
    assert.equal(running.length, 1);
  });

  test("Kill then Delete queued at once: Delete runs after Kill and sees the container still running", async (t) => {
    const h = await makeHarness(t);
    const bundle = await makeBundle({ args: ["sleep", "100"] });
    t.after(() => bundle.remove());
    const id = uniqueId("order");
    await h.sv.runContainer(id, bundle.path, {});
    const order: string[] = [];
    const kill = h.sv.kill(id, "all", 9).then(() => order.push("kill"));
    const del = h.sv.delete(id).then(
      () => order.push("delete"),
      (error: BerthError) => order.push(`delete:${error.code}`),
    );
    await Promise.all([kill, del]);
    assert.equal(order[0], "kill");
    assert.equal(await h.sv.wait(id), 137);
    await h.sv.delete(id);
  });

  test("an operation on a container whose create is in flight fails with Busy", async (t) => {
    const h = await makeHarness(t);
    const bundle = await makeBundle({ args: ["sleep", "100"] });
    t.after(() => bundle.remove());
    const id = uniqueId("busy");
    let duringCreate: Promise<void> | undefined;
    h.sv.onEvent((event) => {
      // The create takes its start slot after reserving the id: the shim is running right now.
      if (
        event.kind === "manager-changed" &&
        event.changed.activeStarts === 1 &&
        duringCreate === undefined
      ) {
        duringCreate = h.sv.startContainer(id);
        duringCreate.catch(() => {});
      }
    });
    await h.sv.createContainer(id, bundle.path, {});
    assert.ok(duringCreate !== undefined);
    await assert.rejects(duringCreate, { code: "Busy", message: /being created/ });
    await assert.rejects(h.sv.createContainer(id, bundle.path, {}), { code: "ContainerExists" });
    await h.sv.startContainer(id);
    assert.equal(h.sv.get(id)?.status, "running");
  });
});
