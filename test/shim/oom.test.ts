// OOM: the shim watches the container's memory cgroup from before start, so a kill by the kernel's
// OOM killer shows in exit.json (oom_killed) and in the live `oom` file. Real runc, cgroupfs driver.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ShimEnv } from "../helpers/shim.js";

describe("shim OOM", () => {
  test("a container that allocates past its memory limit is recorded as oom-killed", async (t) => {
    // The shell doubles a string until it no longer fits in 32 MiB.
    const env = await ShimEnv.started(t, {
      args: ["sh", "-c", 'a=x; while :; do a="$a$a"; done'],
      memoryLimit: 32 * 1024 * 1024,
    });
    const exit = await env.waitExit(undefined, 30_000);
    assert.equal(exit.oom_killed, true);
    assert.equal(exit.exit_code, 137);
    assert.equal(exit.signal, 9);
    const oom = JSON.parse(await readFile(join(env.stateDir, "oom"), "utf8"));
    assert.ok(oom.count >= 1, `oom count ${oom.count}`);
    assert.ok(oom.last_at > 0 && oom.last_at <= exit.exited_at, `oom last_at ${oom.last_at}`);
  });

  test("a container killed by a signal, not by the OOM killer, is not oom-killed", async (t) => {
    const env = await ShimEnv.started(t, { args: ["sleep", "1000"], memoryLimit: 32 * 1024 * 1024 });
    await env.kill("KILL");
    const exit = await env.waitExit();
    assert.equal(exit.exit_code, 137);
    assert.equal(exit.oom_killed, false);
  });
});
