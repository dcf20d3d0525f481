// Bad input: the shim's first process exits non-zero within seconds, says what is wrong, and leaves
// no process, no FIFO and no container behind.

import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeBundle, processSpec, uniqueId } from "../fixtures/bundle.js";
import { processesMentioning } from "../helpers/proc.js";
import { crun, failsAfterRun, runc } from "../helpers/runtime.js";
import { ShimEnv, type ShimRun } from "../helpers/shim.js";

/** What the shim leaves in a state dir it failed in: nothing but what the caller put there. */
async function assertNothingLeft(env: ShimEnv, run: ShimRun, callerFiles: string[] = []): Promise<void> {
  const left = readdirSync(run.stateDir).filter((name) => !callerFiles.includes(name));
  const fifos = left.filter((name) => statSync(join(run.stateDir, name)).isFIFO());
  assert.deepEqual(fifos, [], "no FIFO left");
  for (const name of ["shim.pid", "init.pid", "exit.json", "console.sock"]) {
    assert.ok(!left.includes(name), `${name} left behind`);
  }
  assert.deepEqual(processesMentioning(env.dir), [], "no process left");
  assert.equal(await env.state(), undefined, "no container left");
  assert.equal(run.stdioClosed, true, "nothing holds the first process's stdout/stderr open");
}

// A few seconds is plenty; the guard only keeps a hanging shim from hanging the suite.
const FAIL_FAST_MS = 10_000;

describe("shim bad input", () => {
  test("missing bundle: exit non-zero, message names the bundle", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = join(env.dir, "no-such-bundle");
    const run = await env.runShim({ bundle, timeoutMs: FAIL_FAST_MS });
    assert.notEqual(run.code, 0);
    assert.ok(run.stderr.includes(bundle), `stderr: ${run.stderr}`);
    await assertNothingLeft(env, run);
  });

  test("bad runtime path: exit non-zero, message names the runtime", async (t) => {
    const runtimePath = `/nonexistent/${uniqueId("runtime")}`;
    const env = await ShimEnv.create(t, { runtime: { name: "missing", path: runtimePath, globalArgs: [] } });
    const bundle = await makeBundle({ args: ["true"] });
    t.after(() => bundle.remove());
    const run = await env.runShim({ bundle: bundle.path, timeoutMs: FAIL_FAST_MS });
    assert.notEqual(run.code, 0);
    assert.ok(run.stderr.includes(runtimePath), `stderr: ${run.stderr}`);
    await assertNothingLeft(env, run);
  });

  test("invalid config.json: exit 1 with the runtime's own error text", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle();
    t.after(() => bundle.remove());
    await writeFile(bundle.configPath, "{ not json");
    const run = await env.runShim({ bundle: bundle.path, timeoutMs: FAIL_FAST_MS });
    assert.equal(run.code, 1);
    // runc says "invalid character 'n' looking for beginning of object key string".
    assert.ok(run.stderr.startsWith(`berth-shim: runc create ${env.id}: `), `stderr: ${run.stderr}`);
    assert.match(run.stderr, /invalid character|config\.json/i);
    await assertNothingLeft(env, run);
  });

  test("a config.json the runtime refuses after starting to create: nothing half-made is left", async (t) => {
    const env = await ShimEnv.create(t);
    // Valid JSON and a valid spec, but the program does not exist in the rootfs: runc fails late,
    // after it has begun to set the container up.
    const bundle = await makeBundle({ args: ["/no/such/program"] });
    t.after(() => bundle.remove());
    const run = await env.runShim({ bundle: bundle.path, timeoutMs: FAIL_FAST_MS });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /\/no\/such\/program/);
    await assertNothingLeft(env, run);
  });

  for (const runtime of [runc(), crun()]) {
    test(`--start whose ${runtime.name} run fails late: exit 1 with its words, undone as a failed create`, async (t) => {
      const env = await ShimEnv.create(t, { runtime: failsAfterRun(runtime) });
      const bundle = await makeBundle({ args: ["sleep", "1000"] });
      t.after(() => bundle.remove());
      const run = await env.runShim({ bundle: bundle.path, start: true, timeoutMs: FAIL_FAST_MS });
      assert.equal(run.code, 1, run.stderr);
      assert.equal(
        run.stderr,
        `berth-shim: ${runtime.name} run ${env.id}: refused after the run (test wrapper)\n`,
      );
      // The container the run made and started is gone with its processes.
      await assertNothingLeft(env, run);
      // Only the logs kept for diagnosis: no started.json, and no log file of a container that never ran.
      assert.deepEqual(readdirSync(run.stateDir).sort(), ["runtime.log", "shim.log"]);
    });
  }

  test("--start whose run the runtime refuses: its words, as runc run", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["/no/such/program"] });
    t.after(() => bundle.remove());
    const run = await env.runShim({ bundle: bundle.path, start: true, timeoutMs: FAIL_FAST_MS });
    assert.equal(run.code, 1);
    assert.ok(run.stderr.startsWith(`berth-shim: runc run ${env.id}: `), `stderr: ${run.stderr}`);
    assert.match(run.stderr, /\/no\/such\/program/);
    await assertNothingLeft(env, run);
  });

  test("--start with --exec-id: exit 2 (an exec'd process runs at once) and nothing created", async (t) => {
    const env = await ShimEnv.create(t);
    const execId = uniqueId("exec");
    const run = await env.runShim({
      execId,
      start: true,
      process: processSpec({ args: ["true"] }),
      timeoutMs: FAIL_FAST_MS,
    });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--start is for create mode/);
    assert.deepEqual(readdirSync(run.stateDir), ["process.json"]);
  });

  test("an invalid id: exit 2 and nothing created", async (t) => {
    const env = await ShimEnv.create(t, { id: "../escape" });
    const bundle = await makeBundle();
    t.after(() => bundle.remove());
    const run = await env.runShim({ bundle: bundle.path, timeoutMs: FAIL_FAST_MS });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--id/);
    assert.deepEqual(readdirSync(run.stateDir), []);
  });

  test("exec into a container that does not exist: exit 1, nothing but process.json left", async (t) => {
    const env = await ShimEnv.create(t);
    const execId = uniqueId("exec");
    const run = await env.runShim({
      execId,
      process: processSpec({ args: ["true"] }),
      timeoutMs: FAIL_FAST_MS,
    });
    assert.equal(run.code, 1);
    assert.ok(
      run.stderr.startsWith(`berth-shim: runc exec ${execId} in container ${env.id}: `),
      `stderr: ${run.stderr}`,
    );
    await assertNothingLeft(env, run, ["process.json"]);
  });
});
