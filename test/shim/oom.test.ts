// OOM: the shim watches the container's memory cgroup from before start (with --start, from just after
// the runtime's run, counting kills from the cgroup's creation), so a kill by the kernel's OOM killer
// shows in exit.json (oom_killed) and in the live `oom` file. Real runc, cgroupfs driver.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeBundle } from "../fixtures/bundle.js";
import { oomBeforeWatch, runc } from "../helpers/runtime.js";
import { ShimEnv } from "../helpers/shim.js";

describe("shim OOM", () => {
  for (const start of [false, true]) {
    test(`a container that allocates past its memory limit is recorded as oom-killed${start ? " (--start)" : ""}`, async (t) => {
      const env = await ShimEnv.create(t);
      // The shell doubles a string until it no longer fits in 32 MiB.
      const bundle = await makeBundle({
        args: ["sh", "-c", 'a=x; while :; do a="$a$a"; done'],
        memoryLimit: 32 * 1024 * 1024,
      });
      t.after(() => bundle.remove());
      await env.createWithShim({ bundle: bundle.path, start });
      if (!start) await env.start();
      const exit = await env.waitExit(undefined, 30_000);
      assert.equal(exit.oom_killed, true);
      assert.equal(exit.exit_code, 137);
      assert.equal(exit.signal, 9);
      const oom = JSON.parse(await readFile(join(env.stateDir, "oom"), "utf8"));
      assert.ok(oom.count >= 1, `oom count ${oom.count}`);
      assert.ok(oom.last_at > 0 && oom.last_at <= exit.exited_at, `oom last_at ${oom.last_at}`);
    });
  }

  test("--start: a kill before the shim's watch is registered still counts", async (t) => {
    const env = await ShimEnv.create(t, { runtime: oomBeforeWatch(runc()) });
    // A child runs out of memory and is killed while init lives on: the runtime's run returns only
    // after the kill, so the kill precedes the watch.
    const bundle = await makeBundle({
      args: ["sh", "-c", `sh -c 'a=x; while :; do a="$a$a"; done'; exec sleep 1000`],
      memoryLimit: 32 * 1024 * 1024,
    });
    t.after(() => bundle.remove());
    const run = await env.createWithShim({ bundle: bundle.path, start: true });
    assert.equal(run.stderr, "");
    await env.kill("KILL");
    const exit = await env.waitExit();
    assert.equal(exit.exit_code, 137);
    assert.equal(exit.oom_killed, true, "the cgroup's kill before the watch is the container's");
  });

  test("a container killed by a signal, not by the OOM killer, is not oom-killed", async (t) => {
    const env = await ShimEnv.started(t, { args: ["sleep", "1000"], memoryLimit: 32 * 1024 * 1024 });
    await env.kill("KILL");
    const exit = await env.waitExit();
    assert.equal(exit.exit_code, 137);
    assert.equal(exit.oom_killed, false);
  });
});
