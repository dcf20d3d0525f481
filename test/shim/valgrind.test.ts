// valgrind memcheck over full lifecycles of the shim: no errors and no definite leaks, in the first
// process and in the long-lived shim (valgrind follows the fork; the runtime it execs runs natively),
// and over the launcher mode serving good and bad requests.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { encodeRequest } from "../../src/berthd/shim/launcher.js";
import { makeBundle, makeTempDir, processSpec, uniqueId } from "../fixtures/bundle.js";
import { attachOutput, sendControl, writeFifo } from "../helpers/fifo.js";
import { failsAfterRun, runc } from "../helpers/runtime.js";
import { SHIM_PATH, ShimEnv, type ShimOptions, type ShimRun } from "../helpers/shim.js";
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

/** The shim's first process under memcheck (the dynamic build), with room for valgrind's slowness. */
function runUnderValgrind(env: ShimEnv, options: ShimOptions): Promise<ShimRun> {
  return env.runShim({ ...options, wrapper: valgrind(env.dir), shim: DYNAMIC_SHIM, timeoutMs: 60_000 });
}

/** Once the long-lived shim is gone: its report, the first process's and every other one are clean. */
async function assertLifecycleClean(env: ShimEnv, run: ShimRun, execId?: string): Promise<void> {
  const shimPid = await env.shimPid(execId);
  await env.waitShimGone(execId, 60_000);
  await assertClean(env.dir, run.pid, "first process");
  await assertClean(env.dir, shimPid, "long-lived shim");
  assertAllClean(env.dir);
}

describe("shim under valgrind", () => {
  test("create, stdin, output, closestdin, exit: no errors, no definite leaks", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({
      args: ["sh", "-c", 'read line; echo "got $line"; echo to-stderr >&2; cat; exit 4'],
      memoryLimit: 64 * 1024 * 1024,
    });
    t.after(() => bundle.remove());
    const run = await runUnderValgrind(env, {
      bundle: bundle.path,
      stdin: true,
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
    await assertLifecycleClean(env, run);
  });

  test("terminal with resize: no errors, no definite leaks", async (t) => {
    const env = await ShimEnv.create(t);
    const script =
      'for i in $(seq 200); do s=$(stty size); [ "$s" = "30 100" ] && break; sleep 0.05; done; echo "size=$s"';
    const bundle = await makeBundle({ args: ["sh", "-c", script], terminal: true });
    t.after(() => bundle.remove());
    const run = await runUnderValgrind(env, {
      bundle: bundle.path,
      terminal: true,
    });
    assert.equal(run.code, 0, run.stderr);
    sendControl(env.stateDir, "resize 100 30");
    await env.start();
    const exit = await env.waitExit(undefined, 60_000);
    assert.equal(exit.exit_code, 0);
    await assertLifecycleClean(env, run);
    assert.match(readFileSync(join(env.stateDir, "log"), "utf8"), /size=30 100/);
  });

  test("exec with stdin: no errors, no definite leaks", async (t) => {
    const env = await ShimEnv.started(t, { args: ["sleep", "1000"] });
    const execId = uniqueId("exec");
    const spec = processSpec({ args: ["sh", "-c", 'read line; echo "exec got $line"; exit 3'] });
    const run = await runUnderValgrind(env, {
      execId,
      process: spec,
      stdin: true,
    });
    assert.equal(run.code, 0, run.stderr);
    writeFifo(join(env.stateDirOf(execId), "stdin"), "input\n");
    assert.equal((await env.waitExit(execId, 60_000)).exit_code, 3);
    await assertLifecycleClean(env, run, execId);
    assert.match(readFileSync(join(env.stateDirOf(execId), "log"), "utf8"), /exec got input/);
  });

  test("--start, output, exit: no errors, no definite leaks", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["sh", "-c", "echo started; exit 5"] });
    t.after(() => bundle.remove());
    const run = await runUnderValgrind(env, {
      bundle: bundle.path,
      start: true,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await env.waitExit(undefined, 60_000)).exit_code, 5);
    await assertLifecycleClean(env, run);
    assert.match(readFileSync(join(env.stateDir, "log"), "utf8"), /stdout F started/);
  });

  test("a --start whose run fails late: the undo path has no errors, no definite leaks", async (t) => {
    const env = await ShimEnv.create(t, { runtime: failsAfterRun(runc()) });
    const bundle = await makeBundle({ args: ["sleep", "1000"] });
    t.after(() => bundle.remove());
    const run = await runUnderValgrind(env, {
      bundle: bundle.path,
      start: true,
    });
    assert.equal(run.code, 1, `exit 1 (the run failed), not ${VALGRIND_EXIT} (memcheck): ${run.stderr}`);
    assert.match(run.stderr, /runc run .*refused after the run/);
    await assertClean(env.dir, run.pid, "first process");
    assert.ok(assertAllClean(env.dir) >= 2, "reports of the first process and of the shim's child");
  });

  test("a create the runtime refuses: the failure path cleans up with no errors, no definite leaks", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle();
    t.after(() => bundle.remove());
    await writeFile(bundle.configPath, "{ not json");
    const run = await runUnderValgrind(env, {
      bundle: bundle.path,
    });
    assert.equal(run.code, 1, `exit 1 (the runtime failed), not ${VALGRIND_EXIT} (memcheck): ${run.stderr}`);
    // The first process reaps the shim's child before it exits, so both reports are complete now.
    await assertClean(env.dir, run.pid, "first process");
    assert.ok(assertAllClean(env.dir) >= 2, "reports of the first process and of the shim's child");
  });

  test("the launcher: runs, a failing exec, a timeout, a bad request and a bad frame: no errors, no definite leaks", async (t) => {
    const logs = makeTempDir("valgrind-launcher");
    t.after(() => logs.remove());
    const options = { stdout: true, timeoutMs: 10_000, maxOutput: 100 };
    const badArgc = encodeRequest(4, ["true"], options);
    badArgc.writeUInt32LE(0, 20);
    const badFrame = Buffer.alloc(4);
    const requests = Buffer.concat([
      encodeRequest(1, ["sh", "-c", "echo out; echo err >&2; head -c 1000 /dev/zero; exit 3"], options),
      encodeRequest(2, ["/nonexistent"], options),
      encodeRequest(3, ["sleep", "30"], { ...options, timeoutMs: 200 }),
      badArgc,
      badFrame, // length 0: the launcher reads no more and exits once sleep is reaped
    ]);
    const child = spawn(
      valgrind(logs.path)[0],
      [...valgrind(logs.path).slice(1), DYNAMIC_SHIM, "--launcher"],
      {
        stdio: ["pipe", "pipe", "inherit"],
      },
    );
    const replies: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => replies.push(chunk));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    child.stdin.write(requests);
    assert.equal(await exited, 0, "the launcher exited 0, and memcheck found nothing");
    const data = Buffer.concat(replies);
    let count = 0;
    for (let at = 0; at < data.length; at += 4 + data.readUInt32LE(at)) count++;
    assert.equal(count, 5, "four replies and the bad frame's");
    // The launcher's, and the child whose exec failed (valgrind runs a vfork as a fork, so that child
    // ends under it).
    assert.ok(assertAllClean(logs.path) >= 1, "the launcher's report was read");
  });
});
