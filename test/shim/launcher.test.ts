// berth-shim --launcher through berthd's own client (src/berthd/shim/launcher.ts), and its framing
// straight on its pipes: what a child gets and what comes back, many at once, timeouts, a launcher
// that dies or is stopped, and bad requests (docs/shim.md "Launcher mode").

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { encodeRequest, Launcher, type RunOptions } from "../../src/berthd/shim/launcher.js";
import { RuntimeFailedError } from "../../src/common/errors.js";
import { makeTempDir } from "../fixtures/temp.js";
import { openInheritable, processAlive, processGone } from "../helpers/proc.js";
import { SHIM_PATH } from "../helpers/shim.js";

const OPTIONS: RunOptions = { stdout: true, timeoutMs: 10_000, maxOutput: 1 << 20 };

function started(t: TestContext): Launcher {
  const launcher = new Launcher(SHIM_PATH);
  launcher.start();
  t.after(() => launcher.stop());
  return launcher;
}

/** The replies a raw launcher writes, parsed: [id, result, value, flags, stdout, stderr]. */
function readReplies(data: Buffer): Array<[number, number, number, number, string, string]> {
  const replies: Array<[number, number, number, number, string, string]> = [];
  for (let at = 0; at + 4 <= data.length; ) {
    const end = at + 4 + data.readUInt32LE(at);
    const [id, result, value, flags, outLength] = [0, 1, 2, 3, 4].map((i) =>
      data.readUInt32LE(at + 4 + 4 * i),
    );
    const body = at + 28;
    replies.push([
      id,
      result,
      value,
      flags,
      data.toString("utf8", body, body + outLength),
      data.toString("utf8", body + outLength, end),
    ]);
    at = end;
  }
  return replies;
}

describe("berth-shim --launcher", { timeout: 60_000 }, () => {
  test("exit codes, a signal, stdout and stderr, stdout not captured", async (t) => {
    const launcher = started(t);
    const three = await launcher.run(["sh", "-c", "echo out; echo err >&2; exit 3"], OPTIONS);
    assert.deepEqual(three, { code: 3, signal: null, stdout: "out\n", stderr: "err\n", timedOut: false });
    assert.equal((await launcher.run(["true"], OPTIONS)).code, 0);
    const killed = await launcher.run(["sh", "-c", "kill -TERM $$"], OPTIONS);
    assert.equal(killed.code, null);
    assert.equal(killed.signal, "SIGTERM");
    const quiet = await launcher.run(["sh", "-c", "echo out; echo err >&2"], { ...OPTIONS, stdout: false });
    assert.equal(quiet.stdout, "");
    assert.equal(quiet.stderr, "err\n");
  });

  test("output beyond the cap is read and dropped: the child never blocks on it", async (t) => {
    const launcher = started(t);
    // 4 MiB on each stream, far beyond a pipe's buffer: the child finishes only if both are drained.
    const script =
      "head -c 4194304 /dev/zero | tr '\\0' o; head -c 4194304 /dev/zero | tr '\\0' e >&2; exit 7";
    const result = await launcher.run(["sh", "-c", script], { ...OPTIONS, maxOutput: 1000 });
    assert.equal(result.code, 7);
    assert.equal(result.stdout, "o".repeat(1000));
    assert.equal(result.stderr, "e".repeat(1000));
  });

  test("a child past its timeout is killed with SIGKILL and reported timed out", async (t) => {
    const launcher = started(t);
    const begun = Date.now();
    const result = await launcher.run(["sh", "-c", "echo begun; exec sleep 30"], {
      ...OPTIONS,
      timeoutMs: 300,
    });
    assert.equal(result.timedOut, true);
    assert.equal(result.signal, "SIGKILL");
    assert.equal(result.stdout, "begun\n");
    assert.ok(Date.now() - begun < 10_000, `took ${Date.now() - begun} ms`);
  });

  test("50 runs at once, each with its own reply", async (t) => {
    const launcher = started(t);
    const begun = Date.now();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        launcher.run(["sh", "-c", `sleep 0.5; echo ${i}; exit ${i % 7}`], OPTIONS),
      ),
    );
    for (const [i, result] of results.entries()) {
      assert.equal(result.stdout, `${i}\n`);
      assert.equal(result.code, i % 7);
    }
    // One after the other would take 25 s.
    assert.ok(Date.now() - begun < 15_000, `took ${Date.now() - begun} ms`);
  });

  test("a child sees only fds 0, 1, 2 and no NOTIFY_SOCKET, even when berthd holds an inheritable fd", async (t) => {
    const dir = makeTempDir("launcher-fd");
    t.after(() => dir.remove());
    openInheritable(t, join(dir.path, "marker"));
    process.env.NOTIFY_SOCKET = "/run/launcher-test-notify";
    t.after(() => delete process.env.NOTIFY_SOCKET);
    const launcher = started(t);
    const fds = await launcher.run(["sh", "-c", "ls /proc/$$/fd"], OPTIONS);
    assert.deepEqual(fds.stdout.trim().split("\n"), ["0", "1", "2"]);
    const environ = readFileSync(`/proc/${launcher.pid}/environ`, "utf8");
    assert.ok(!environ.includes("NOTIFY_SOCKET="), "the launcher has no NOTIFY_SOCKET");
    const env = await launcher.run(["env"], OPTIONS);
    assert.match(env.stdout, /^PATH=/m, "the child has the launcher's environment");
    assert.doesNotMatch(env.stdout, /NOTIFY_SOCKET/);
    assert.equal((await launcher.run(["sh", "-c", "read line"], OPTIONS)).code, 1, "stdin is /dev/null");
  });

  test("a program that cannot run, and an argument the frame cannot carry, are refused by name", async (t) => {
    const launcher = started(t);
    await assert.rejects(launcher.run(["/nonexistent/runc", "start"], OPTIONS), {
      code: "RuntimeFailed",
      message: "/nonexistent/runc: No such file or directory",
    });
    await assert.rejects(launcher.run(["echo", "a\0b"], OPTIONS), (error: Error) => {
      assert.ok(error instanceof RuntimeFailedError);
      assert.match(error.message, /^bad request: .* after the last argument/);
      return true;
    });
    assert.equal((await launcher.run(["true"], OPTIONS)).code, 0, "the stream goes on");
  });

  test("a launcher killed mid-request: the run fails naming it, the next run starts a new one", async (t) => {
    const dir = makeTempDir("launcher-kill");
    t.after(() => dir.remove());
    const pidFile = join(dir.path, "child.pid");
    const launcher = started(t);
    const first = launcher.pid;
    assert.ok(first !== undefined);
    const running = launcher.run(["sh", "-c", `echo $$ > ${pidFile}; exec sleep 30`], OPTIONS);
    while (!readFileSync(pidFile, { encoding: "utf8", flag: "a+" }).endsWith("\n")) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const orphan = Number(readFileSync(pidFile, "utf8"));
    t.after(() => {
      if (processAlive(orphan)) process.kill(orphan, "SIGKILL");
    });
    process.kill(first, "SIGKILL");
    await assert.rejects(running, {
      code: "RuntimeFailed",
      message: `the launcher (${SHIM_PATH} --launcher, pid ${first}) was killed by SIGKILL`,
    });
    const next = await launcher.run(["sh", "-c", "echo again"], OPTIONS);
    assert.equal(next.stdout, "again\n");
    assert.ok(launcher.pid !== undefined && launcher.pid !== first, "a new launcher runs");
  });

  test("stop: the launcher lets a running child finish, then exits; run() is refused after", async (t) => {
    const launcher = started(t);
    const pid = launcher.pid;
    assert.ok(pid !== undefined);
    const running = launcher.run(["sh", "-c", "sleep 0.5; echo done"], OPTIONS);
    await launcher.stop();
    assert.equal((await running).stdout, "done\n");
    assert.ok(await processGone(pid), "the launcher is gone");
    await assert.rejects(launcher.run(["true"], OPTIONS), {
      code: "RuntimeFailed",
      message: "cannot run true: berthd is stopping",
    });
  });

  test("a berthd that does not read its replies never stalls the launcher: children finish, replies wait", async (t) => {
    const dir = makeTempDir("launcher-full");
    t.after(() => dir.remove());
    const child = spawn(SHIM_PATH, ["--launcher"], { stdio: ["pipe", "pipe", "inherit"] });
    t.after(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    child.stdout.pause();
    // 20 replies of 256 KiB each: far more than the pipe to us holds while nobody reads it.
    const count = 20;
    for (let i = 0; i < count; i++) {
      const script = `head -c 262144 /dev/zero; touch ${join(dir.path, `done-${i}`)}`;
      child.stdin.write(encodeRequest(i + 1, ["sh", "-c", script], OPTIONS));
    }
    const deadline = Date.now() + 20_000;
    const finished = () =>
      Array.from({ length: count }, (_, i) => join(dir.path, `done-${i}`)).filter(existsSync);
    while (finished().length < count && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(finished().length, count, "every child ran to its end while we read nothing");
    const chunks: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    child.stdin.end();
    assert.equal(await exited, 0);
    const replies = readReplies(Buffer.concat(chunks));
    assert.equal(replies.length, count);
    for (const reply of replies) assert.equal(reply[4].length, 262144);
  });

  test("bad framing on its pipes: a bad request is answered and the stream goes on; a bad length ends it", async (t) => {
    const child = spawn(SHIM_PATH, ["--launcher"], { stdio: ["pipe", "pipe", "pipe"] });
    t.after(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    const noArgs = encodeRequest(7, ["true"], OPTIONS);
    noArgs.writeUInt32LE(0, 20); // argc 0
    const unknownFlag = encodeRequest(8, ["true"], OPTIONS);
    unknownFlag.writeUInt32LE(0x10, 8);
    const tooFew = encodeRequest(9, ["true"], OPTIONS);
    tooFew.writeUInt32LE(2, 20); // argc 2, one string
    const good = encodeRequest(10, ["sh", "-c", "echo ok"], OPTIONS);
    const badLength = Buffer.alloc(8);
    badLength.writeUInt32LE(3, 0);
    // After the bad length nothing is read: this request is never run.
    const ignored = encodeRequest(11, ["true"], OPTIONS);
    child.stdin.end(Buffer.concat([noArgs, unknownFlag, tooFew, good, badLength, ignored]));
    assert.equal(await exited, 0);
    const replies = readReplies(Buffer.concat(chunks));
    const byId = new Map(replies.map((reply) => [reply[0], reply]));
    assert.equal(replies.length, 5);
    assert.match(byId.get(7)?.[5] ?? "", /^bad request: argc 0/);
    assert.match(byId.get(8)?.[5] ?? "", /^bad request: unknown flags 0x10/);
    assert.match(byId.get(9)?.[5] ?? "", /^bad request: 1 of 2 arguments/);
    for (const id of [7, 8, 9])
      assert.deepEqual(byId.get(id)?.slice(1, 3), [2, 22], `request ${id}: not run, EINVAL`);
    assert.deepEqual(byId.get(10)?.slice(1, 5), [0, 0, 0, "ok\n"]);
    assert.deepEqual(byId.get(0)?.slice(1, 3), [2, 71], "id 0: not run, EPROTO");
    assert.match(byId.get(0)?.[5] ?? "", /^bad request frame: length 3/);
    assert.ok(!byId.has(11));
    assert.equal(stderr, "");
  });
});
