// The shim drives crun as well as runc: one full create / start / exit / delete cycle.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeBundle } from "../fixtures/bundle.js";
import { parseCriLog, streamText } from "../helpers/cri-log.js";
import { parentPid } from "../helpers/proc.js";
import { crun } from "../helpers/runtime.js";
import { ShimEnv } from "../helpers/shim.js";

describe("shim with crun", () => {
  test("create, start, exit code, log, delete", async (t) => {
    const env = await ShimEnv.create(t, { runtime: crun() });
    const bundle = await makeBundle({ args: ["sh", "-c", "echo crun-out; echo crun-err >&2; exit 5"] });
    t.after(() => bundle.remove());
    await env.createWithShim({ bundle: bundle.path });
    const initPid = await env.initPid();
    assert.equal(parentPid(initPid), await env.shimPid());
    assert.equal((await env.state())?.status, "created");
    await env.start();
    const exit = await env.waitExit();
    assert.equal(exit.exit_code, 5);
    assert.equal(exit.pid, initPid);
    await env.waitShimGone();
    const records = parseCriLog(await readFile(join(env.stateDir, "log"), "utf8"));
    assert.equal(streamText(records, "stdout"), "crun-out\n");
    assert.equal(streamText(records, "stderr"), "crun-err\n");
    assert.equal((await env.state())?.status, "stopped");
    const deleted = await env.runtimeCommand(["delete", env.id]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(await env.state(), undefined);
  });
});
