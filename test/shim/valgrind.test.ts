// valgrind memcheck over full lifecycles of the shim: no errors and no definite leaks, in the first
// process and in the long-lived shim (valgrind follows the fork; the runtime it execs runs natively).

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeBundle, processSpec, uniqueId } from "../fixtures/bundle.js";
import { attachOutput, sendControl, writeFifo } from "../helpers/fifo.js";
import { SHIM_PATH, ShimEnv } from "../helpers/shim.js";
import { waitForText } from "../helpers/wait.js";

const VALGRIND_EXIT = 99;
/** The shipped shim is static; memcheck needs the dynamically linked build of the same objects (shim/Makefile). */
const DYNAMIC_SHIM = `${SHIM_PATH}-dynamic`;

function valgrind(logDir: string): string[] {
  return [
    "valgrind",
    "--tool=memcheck",
    "--leak-check=full",
    "--show-leak-kinds=definite",
    "--errors-for-leak-kinds=definite",
    `--error-exitcode=${VALGRIND_EXIT}`,
    "--trace-children=no",
    "--child-silent-after-fork=no",
    `--log-file=${join(logDir, "valgrind.%p.log")}`,
  ];
}

function assertReportClean(log: string, what: string): void {
  assert.match(log, /ERROR SUMMARY: 0 errors/, `${what}: memcheck errors\n${log}`);
  assert.doesNotMatch(log, /definitely lost: [1-9]/, `${what}: definite leak\n${log}`);
}

/** Checks the memcheck report of `pid`, waiting for its summary (written as the process ends). */
async function assertClean(logDir: string, pid: number, what: string): Promise<void> {
  assertReportClean(await waitForText(join(logDir, `valgrind.${pid}.log`), "ERROR SUMMARY:", 30_000), what);
}

/**
 * Checks every memcheck report in `logDir` that has a summary (the shim's children that exec the
 * runtime have none) and returns how many there were.
 */
function assertAllClean(logDir: string): number {
  let summaries = 0;
  for (const name of readdirSync(logDir).filter((n) => /^valgrind\.\d+\.log$/.test(n))) {
    const log = readFileSync(join(logDir, name), "utf8");
    if (!log.includes("ERROR SUMMARY:")) continue;
    assertReportClean(log, name);
    summaries++;
  }
  return summaries;
}

describe("shim under valgrind", () => {
  test("create, stdin, output, closestdin, exit: no errors, no definite leaks", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({
      args: ["sh", "-c", 'read line; echo "got $line"; echo to-stderr >&2; cat; exit 4'],
      memoryLimit: 64 * 1024 * 1024,
    });
    t.after(() => bundle.remove());
    const run = await env.runShim({
      bundle: bundle.path,
      stdin: true,
      wrapper: valgrind(env.dir),
      shim: DYNAMIC_SHIM,
      timeoutMs: 60_000,
    });
    assert.equal(run.code, 0, run.stderr);
    const stdout = attachOutput(join(env.stateDir, "stdout"));
    t.after(() => stdout.close());
    await env.start();
    writeFifo(join(env.stateDir, "stdin"), "memcheck\n");
    await stdout.waitFor(/got memcheck\n/, 30_000);
    sendControl(env.stateDir, "closestdin");
    const exit = await env.waitExit(undefined, 60_000);
    assert.equal(exit.exit_code, 4);
    const shimPid = await env.shimPid();
    await env.waitShimGone(undefined, 60_000);
    await assertClean(env.dir, run.pid, "first process");
    await assertClean(env.dir, shimPid, "long-lived shim");
    assertAllClean(env.dir);
  });

  test("terminal with resize: no errors, no definite leaks", async (t) => {
    const env = await ShimEnv.create(t);
    const script =
      'for i in $(seq 200); do s=$(stty size); [ "$s" = "30 100" ] && break; sleep 0.05; done; echo "size=$s"';
    const bundle = await makeBundle({ args: ["sh", "-c", script], terminal: true });
    t.after(() => bundle.remove());
    const run = await env.runShim({
      bundle: bundle.path,
      terminal: true,
      wrapper: valgrind(env.dir),
      shim: DYNAMIC_SHIM,
      timeoutMs: 60_000,
    });
    assert.equal(run.code, 0, run.stderr);
    sendControl(env.stateDir, "resize 100 30");
    await env.start();
    const exit = await env.waitExit(undefined, 60_000);
    assert.equal(exit.exit_code, 0);
    const shimPid = await env.shimPid();
    await env.waitShimGone(undefined, 60_000);
    assert.match(readFileSync(join(env.stateDir, "log"), "utf8"), /size=30 100/);
    await assertClean(env.dir, run.pid, "first process");
    await assertClean(env.dir, shimPid, "long-lived shim");
    assertAllClean(env.dir);
  });

  test("exec with stdin: no errors, no definite leaks", async (t) => {
    const env = await ShimEnv.started(t, { args: ["sleep", "1000"] });
    const execId = uniqueId("exec");
    const spec = processSpec({ args: ["sh", "-c", 'read line; echo "exec got $line"; exit 3'] });
    const run = await env.runShim({
      execId,
      process: spec,
      stdin: true,
      wrapper: valgrind(env.dir),
      shim: DYNAMIC_SHIM,
      timeoutMs: 60_000,
    });
    assert.equal(run.code, 0, run.stderr);
    writeFifo(join(env.stateDirOf(execId), "stdin"), "input\n");
    assert.equal((await env.waitExit(execId, 60_000)).exit_code, 3);
    const shimPid = await env.shimPid(execId);
    await env.waitShimGone(execId, 60_000);
    assert.match(readFileSync(join(env.stateDirOf(execId), "log"), "utf8"), /exec got input/);
    await assertClean(env.dir, run.pid, "first process");
    await assertClean(env.dir, shimPid, "long-lived exec shim");
    assertAllClean(env.dir);
  });

  test("a create the runtime refuses: the failure path cleans up with no errors, no definite leaks", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle();
    t.after(() => bundle.remove());
    await writeFile(bundle.configPath, "{ not json");
    const run = await env.runShim({
      bundle: bundle.path,
      wrapper: valgrind(env.dir),
      shim: DYNAMIC_SHIM,
      timeoutMs: 60_000,
    });
    assert.equal(run.code, 1, `exit 1 (the runtime failed), not ${VALGRIND_EXIT} (memcheck): ${run.stderr}`);
    // The first process reaps the shim's child before it exits, so both reports are complete now.
    await assertClean(env.dir, run.pid, "first process");
    assert.ok(assertAllClean(env.dir) >= 2, "reports of the first process and of the shim's child");
  });
});
