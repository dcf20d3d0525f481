// --start (RunContainer's path): the shim runs the runtime's `run --detach` (create and start in one
// call), then registers the OOM watch, and its first process reports only then; started.json says when
// the run was issued.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeBundle } from "../fixtures/bundle.js";
import { parseCriLog, streamText } from "../helpers/cri-log.js";
import { parentPid } from "../helpers/proc.js";
import { crun, initExitsBeforeWatch, runc } from "../helpers/runtime.js";
import { ShimEnv } from "../helpers/shim.js";

function startedAt(stateDir: string): number {
  const started = JSON.parse(readFileSync(join(stateDir, "started.json"), "utf8"));
  assert.deepEqual(Object.keys(started), ["started_at"]);
  return started.started_at;
}

describe("shim --start", () => {
  for (const runtime of [runc(), crun()]) {
    test(`${runtime.name}: running when the first process exits, then exit.json as ever`, async (t) => {
      const env = await ShimEnv.create(t, { runtime });
      const bundle = await makeBundle({ args: ["sleep", "1000"] });
      t.after(() => bundle.remove());
      const before = Date.now() * 1000;
      const run = await env.createWithShim({ bundle: bundle.path, start: true });
      const after = Date.now() * 1000;
      assert.equal(run.stderr, "");
      assert.equal((await env.state())?.status, "running", "started before the first process reported");
      const at = startedAt(env.stateDir);
      assert.ok(at >= before && at <= after, `started_at ${at} within the run [${before}, ${after}]`);
      const initPid = await env.initPid();
      assert.equal(parentPid(initPid), await env.shimPid(), "the shim is still init's subreaper");
      assert.match(readFileSync(join(env.stateDir, "shim.log"), "utf8"), /running \S+ run /);
      await env.kill("KILL");
      const exit = await env.waitExit();
      assert.equal(exit.exit_code, 137);
      assert.equal(exit.pid, initPid);
      assert.ok(exit.exited_at >= at, "exited after it was started");
      await env.waitShimGone();
    });
  }

  test("a process that exits at once: its output and exit code are kept", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["sh", "-c", "echo started-out; echo started-err >&2; exit 6"] });
    t.after(() => bundle.remove());
    await env.createWithShim({ bundle: bundle.path, start: true });
    const exit = await env.waitExit();
    assert.equal(exit.exit_code, 6);
    assert.ok(exit.exited_at >= startedAt(env.stateDir));
    await env.waitShimGone();
    const records = parseCriLog(await readFile(join(env.stateDir, "log"), "utf8"));
    assert.equal(streamText(records, "stdout"), "started-out\n");
    assert.equal(streamText(records, "stderr"), "started-err\n");
  });

  test("a process that exited before the OOM watch: the run succeeds, exit.json as ever", async (t) => {
    const env = await ShimEnv.create(t, { runtime: initExitsBeforeWatch(runc()) });
    const bundle = await makeBundle({ args: ["sh", "-c", "exit 7"], memoryLimit: 32 * 1024 * 1024 });
    t.after(() => bundle.remove());
    const run = await env.createWithShim({ bundle: bundle.path, start: true });
    assert.equal(run.stderr, "");
    const exit = await env.waitExit();
    assert.equal(exit.exit_code, 7);
    assert.equal(exit.oom_killed, false);
    assert.ok(exit.exited_at >= startedAt(env.stateDir));
    await env.waitShimGone();
  });
});
