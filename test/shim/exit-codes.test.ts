// exit.json records how the container's init ended: its code, or 128+N and N for a signal.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { makeBundle } from "../fixtures/bundle.js";
import { ShimEnv } from "../helpers/shim.js";

describe("shim exit codes", () => {
  for (const code of [0, 3]) {
    test(`exit ${code} is recorded`, async (t) => {
      const env = await ShimEnv.create(t);
      const bundle = await makeBundle({ args: ["sh", "-c", `exit ${code}`] });
      t.after(() => bundle.remove());
      const before = Date.now() * 1000;
      await env.createWithShim({ bundle: bundle.path });
      const initPid = await env.initPid();
      await env.start();
      const exit = await env.waitExit();
      assert.equal(exit.exit_code, code);
      assert.equal(exit.signal, 0);
      assert.equal(exit.pid, initPid);
      assert.equal(exit.oom_killed, false);
      assert.ok(
        exit.exited_at >= before && exit.exited_at <= Date.now() * 1000,
        `exited_at ${exit.exited_at}`,
      );
      await env.waitShimGone();
    });
  }

  test("SIGKILL through the runtime reads 137", async (t) => {
    const env = await ShimEnv.started(t, { args: ["sleep", "1000"] });
    await env.kill("KILL");
    const exit = await env.waitExit();
    assert.equal(exit.exit_code, 137);
    assert.equal(exit.signal, 9);
    await env.waitShimGone();
  });

  // As PID 1 of its own pid namespace, a process ignores SIGTERM unless it handles it, so the
  // container shares the host's pid namespace: there `sleep` really dies of the signal.
  test("SIGTERM through the runtime reads 143", async (t) => {
    const env = await ShimEnv.started(t, { args: ["sleep", "1000"], pidNamespace: false });
    await env.kill("TERM");
    const exit = await env.waitExit();
    assert.equal(exit.exit_code, 143);
    assert.equal(exit.signal, 15);
    await env.waitShimGone();
  });
});
