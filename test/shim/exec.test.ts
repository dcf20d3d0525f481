// Exec mode: the shim runs `runtime exec -d --process process.json` and records the exec'd process's
// exit under processes/<exec-id>/, while the container keeps running.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { processSpec, uniqueId } from "../fixtures/bundle.js";
import { parseCriLog, streamText } from "../helpers/cri-log.js";
import { writeFifo } from "../helpers/fifo.js";
import { parentPid } from "../helpers/proc.js";
import { ShimEnv } from "../helpers/shim.js";

describe("shim exec", () => {
  test("an exec'd process's exit code is recorded under processes/<exec-id>/", async (t) => {
    const env = await ShimEnv.started(t, { args: ["sleep", "1000"] });

    const execId = uniqueId("exec");
    const script = "echo in-exec; echo exec-err >&2; read x; exit 7";
    await env.createWithShim({ execId, process: processSpec({ args: ["sh", "-c", script] }), stdin: true });
    const execPid = await env.initPid(execId);
    const execShimPid = await env.shimPid(execId);
    assert.notEqual(execShimPid, await env.shimPid());
    assert.equal(parentPid(execPid), execShimPid, "the exec shim is the exec'd process's parent");

    writeFifo(join(env.stateDirOf(execId), "stdin"), "\n");
    const exit = await env.waitExit(execId);
    assert.equal(exit.exit_code, 7);
    assert.equal(exit.pid, execPid);
    await env.waitShimGone(execId);

    const records = parseCriLog(await readFile(join(env.stateDirOf(execId), "log"), "utf8"));
    assert.equal(streamText(records, "stdout"), "in-exec\n");
    assert.equal(streamText(records, "stderr"), "exec-err\n");
    // The container itself is untouched.
    assert.equal((await env.state())?.status, "running");
    await assert.rejects(readFile(join(env.stateDir, "exit.json")), { code: "ENOENT" });
  });

  test("a terminal exec starts at its process.json consoleSize", async (t) => {
    const env = await ShimEnv.started(t, { args: ["sleep", "1000"] });
    const execId = uniqueId("exec");
    const spec = processSpec({
      args: ["sh", "-c", 'echo "size=$(stty size)"'],
      terminal: true,
      consoleSize: { width: 111, height: 33 },
    });
    await env.createWithShim({ execId, process: spec, terminal: true });
    assert.equal((await env.waitExit(execId)).exit_code, 0);
    await env.waitShimGone(execId);
    const records = parseCriLog(await readFile(join(env.stateDirOf(execId), "log"), "utf8"));
    assert.match(streamText(records, "stdout"), /size=33 111\r?\n/);
  });
});
