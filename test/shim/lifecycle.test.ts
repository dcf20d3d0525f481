// The shim's life: it reports "created" through its first process, becomes the container init's
// parent (subreaper), outlives whoever started it, holds exit.fifo while alive, and exits after init.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeBundle } from "../fixtures/bundle.js";
import { writeFifo } from "../helpers/fifo.js";
import { parentPid, processAlive } from "../helpers/proc.js";
import { SHIM_PATH, ShimEnv } from "../helpers/shim.js";

describe("shim lifecycle", () => {
  test("created: shim.pid, init.pid and the FIFOs exist, and the shim is init's parent", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["sleep", "1000"] });
    t.after(() => bundle.remove());
    const run = await env.createWithShim({ bundle: bundle.path });
    const shimPid = await env.shimPid();
    const initPid = await env.initPid();
    assert.ok(processAlive(shimPid), "the long-lived shim runs");
    // The runtime's create forked init and exited; as subreaper the shim inherits it.
    assert.equal(parentPid(initPid), shimPid);
    assert.equal((await env.state())?.status, "created");
    for (const name of ["exit.fifo", "control.fifo", "stdin", "stdout", "stderr"]) {
      assert.ok(statSync(join(env.stateDir, name)).isFIFO(), `${name} is a FIFO`);
    }
    assert.equal(existsSync(join(env.stateDir, "exit.json")), false);
    assert.equal(existsSync(join(env.stateDir, "console.sock")), false);
    assert.ok(existsSync(join(env.stateDir, "runtime.log")), "the runtime logs to runtime.log");
    assert.equal(run.stderr, "");
    // Detached from everything its starter gave it.
    for (const fd of [0, 1, 2]) assert.equal(readlinkSync(`/proc/${shimPid}/fd/${fd}`), "/dev/null");
    assert.equal(readlinkSync(`/proc/${shimPid}/cwd`), "/");
    assert.equal(
      run.stdioClosed,
      true,
      "the first process's stdout/stderr end with it (berthd reads them to EOF)",
    );

    // exit.fifo gives no EOF while the shim lives.
    await assert.rejects(env.waitShimGone(undefined, 300), /still holds exit\.fifo/);

    await env.start();
    assert.equal(parentPid(initPid), shimPid);
    assert.equal((await env.state())?.status, "running");
    await env.kill("KILL");
    assert.equal((await env.waitExit()).exit_code, 137);
    await env.waitShimGone();
    assert.equal(processAlive(shimPid), false);
    // Only the files docs/shim.md lists stay behind: no temporary file of an atomic write, no socket.
    const documented = ["shim.pid", "init.pid", "exit.fifo", "exit.json", "oom", "control.fifo", "stdin"];
    documented.push("stdout", "stderr", "log", "runtime.log", "shim.log");
    const unexpected = readdirSync(env.stateDir).filter((name) => !documented.includes(name));
    assert.deepEqual(unexpected, []);
  });

  test("the long-lived shim keeps no fd its starter leaked to it", async (t) => {
    // berthd's D-Bus socket comes from a native module without O_CLOEXEC: a shim that kept it would keep
    // berthd's bus name owned after berthd died. Here the starter leaks fd 9, open on a marker file.
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["sleep", "1000"] });
    t.after(() => bundle.remove());
    const marker = join(bundle.path, "inherited-marker");
    writeFileSync(marker, "");
    await env.createWithShim({
      bundle: bundle.path,
      wrapper: ["sh", "-c", 'exec 9<"$0"; exec "$@"', marker],
    });
    const shimPid = await env.shimPid();
    const held = readdirSync(`/proc/${shimPid}/fd`).map((fd) => readlinkSync(`/proc/${shimPid}/fd/${fd}`));
    assert.ok(held.length > 3, "the shim's own fds are listed");
    assert.equal(held.includes(marker), false, `the shim still holds the leaked fd: ${held.join(", ")}`);
    await env.kill("KILL");
    assert.equal((await env.waitExit()).exit_code, 137);
  });

  test("the shim survives its starter being SIGKILLed, and still records the exit", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["sh", "-c", "read line; exit 42"] });
    t.after(() => bundle.remove());
    const options = { bundle: bundle.path, stdin: true };
    await env.prepareStateDir(options);
    // The starter stands in for berthd: it runs the shim and lives on after it reports "created".
    const starter = spawn(
      "sh",
      ["-c", '"$@"; echo "created=$?"; exec sleep 600', "sh", SHIM_PATH, ...env.shimArgs(options)],
      {
        detached: true,
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    t.after(() => {
      if (starter.exitCode === null && starter.signalCode === null) process.kill(-starter.pid!, "SIGKILL");
    });
    const created = await new Promise<string>((resolve) => {
      let text = "";
      starter.stdout!.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes("\n")) resolve(text.trim());
      });
    });
    assert.equal(created, "created=0");
    const shimPid = await env.shimPid();
    assert.notEqual(parentPid(shimPid), starter.pid, "the long-lived shim is not its starter's child");

    // Kill the starter's whole process group: the shim left it with setsid().
    const starterGone = new Promise((r) => starter.on("exit", r));
    process.kill(-starter.pid!, "SIGKILL");
    await starterGone;

    assert.ok(processAlive(shimPid), "the shim outlives its starter");
    await env.start();
    assert.equal((await env.state())?.status, "running");
    writeFifo(join(env.stateDir, "stdin"), "go\n");
    const exit = await env.waitExit();
    assert.equal(exit.exit_code, 42);
    await env.waitShimGone();
  });

  test("the shim ignores SIGTERM, SIGINT and SIGHUP: it ends when its process does", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["sh", "-c", "read line; exit 9"] });
    t.after(() => bundle.remove());
    await env.createWithShim({ bundle: bundle.path, stdin: true });
    await env.start();
    const shimPid = await env.shimPid();
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.kill(shimPid, signal);
    await assert.rejects(env.waitShimGone(undefined, 300), /still holds exit\.fifo/);
    assert.ok(processAlive(shimPid));
    assert.equal((await env.state())?.status, "running");
    writeFifo(join(env.stateDir, "stdin"), "go\n");
    assert.equal((await env.waitExit()).exit_code, 9);
  });

  test("a second shim on a live state dir is refused and leaves the first one's files alone", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["sh", "-c", "read line; exit 6"] });
    t.after(() => bundle.remove());
    await env.createWithShim({ bundle: bundle.path, stdin: true });
    const shimPid = await env.shimPid();
    const second = await env.runShim({ bundle: bundle.path, stdin: true, timeoutMs: 10_000 });
    assert.equal(second.code, 1);
    assert.notEqual(second.stderr, "");
    for (const name of ["exit.fifo", "control.fifo", "stdin", "stdout", "stderr"]) {
      assert.ok(statSync(join(env.stateDir, name)).isFIFO(), `${name} is still there`);
    }
    assert.equal(await env.shimPid(), shimPid);
    assert.ok(processAlive(shimPid));
    // The first shim still does its whole job.
    await env.start();
    writeFifo(join(env.stateDir, "stdin"), "go\n");
    assert.equal((await env.waitExit()).exit_code, 6);
  });
});
