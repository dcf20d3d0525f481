import assert from "node:assert/strict";
import { readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeBundle, makeTempDir, uniqueId } from "../fixtures/bundle.js";
import { openInheritable } from "../helpers/proc.js";
import { makeHarness } from "./harness.js";

describe("supervisor: what a shim inherits", { timeout: 60_000 }, () => {
  test("no fd of berthd leaks into a shim, even one opened without O_CLOEXEC (as native modules do)", async (t) => {
    const h = await makeHarness(t);
    const dir = makeTempDir("leak");
    t.after(() => dir.remove());
    const marker = join(dir.path, "leak-marker");
    openInheritable(t, marker);
    const bundle = await makeBundle({ args: ["sleep", "100"] });
    t.after(() => bundle.remove());
    const id = uniqueId("inherit");
    const info = await h.sv.runContainer(id, bundle.path, {});
    const targets = readdirSync(`/proc/${info.shimPid}/fd`).map((n) =>
      readlinkSync(`/proc/${info.shimPid}/fd/${n}`),
    );
    assert.ok(targets.length > 0);
    assert.ok(!targets.includes(marker), `the shim holds ${marker}`);
    assert.ok(!targets.some((target) => target.startsWith("socket:")), "the shim holds no socket of berthd");
    await h.sv.kill(id, "all", 9);
    await h.sv.wait(id);
  });
});
