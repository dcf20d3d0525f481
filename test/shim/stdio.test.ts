// The container's stdio through the shim: output always drained to the log, stdin through its FIFO,
// control commands (closestdin, resize) through control.fifo, and a terminal's pty.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync, readSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeBundle } from "../fixtures/bundle.js";
import { parseCriLog, streamText } from "../helpers/cri-log.js";
import { attachOutput, sendControl, writeFifo } from "../helpers/fifo.js";
import { ShimEnv } from "../helpers/shim.js";
import { waitForText } from "../helpers/wait.js";

/** 63 characters: with its newline, 64 bytes a line, so sizes in MiB are whole lines. */
const LINE = "0123456789abcdef".repeat(4).slice(0, 63);

describe("shim stdio", () => {
  test("50 MB to stdout with no FIFO reader: the container exits 0 and the log has every byte", async (t) => {
    const size = 50 * 1024 * 1024;
    const env = await ShimEnv.started(t, { args: ["sh", "-c", `yes ${LINE} | head -c ${size}`] });
    // Generous: draining 50 MB takes a second or two; a container blocked on a full pipe never exits.
    const exit = await env.waitExit(undefined, 60_000);
    assert.equal(exit.exit_code, 0);
    await env.waitShimGone();
    const records = parseCriLog(await readFile(join(env.stateDir, "log"), "utf8"));
    const stdout = streamText(records, "stdout");
    assert.equal(stdout.length, size);
    assert.equal(stdout, `${LINE}\n`.repeat(size / 64));
  });

  test("a reader that attaches and never reads does not block the container", async (t) => {
    const size = 20 * 1024 * 1024;
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["sh", "-c", `yes ${LINE} | head -c ${size}`] });
    t.after(() => bundle.remove());
    await env.createWithShim({ bundle: bundle.path });
    // A read end that is never read: the shim's FIFO fills, and it must keep draining the container.
    const stuckReader = openSync(join(env.stateDir, "stdout"), constants.O_RDONLY | constants.O_NONBLOCK);
    t.after(() => closeSync(stuckReader));
    await env.start();
    const exit = await env.waitExit(undefined, 60_000);
    assert.equal(exit.exit_code, 0);
    await env.waitShimGone();
    const records = parseCriLog(await readFile(join(env.stateDir, "log"), "utf8"));
    assert.equal(
      streamText(records, "stdout"),
      `${LINE}\n`.repeat(size / 64),
      "the log still has everything",
    );
    // The shim did write to this reader (it is not the no-reader case): its FIFO holds the start.
    const head = Buffer.alloc(64);
    assert.equal(readSync(stuckReader, head), 64);
    assert.equal(head.toString(), `${LINE}\n`);
  });

  test("an attached reader's FIFO is grown beyond the default 64 KiB", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["sh", "-c", "echo first; read go"] });
    t.after(() => bundle.remove());
    await env.createWithShim({ bundle: bundle.path, stdin: true });
    const stdout = attachOutput(join(env.stateDir, "stdout"));
    t.after(() => stdout.close());
    await env.start();
    await stdout.waitFor(/first\n/);
    // F_GETPIPE_SZ (1032) through one more read end of the same pipe, open while the shim writes to it.
    const getPipeSize =
      "import fcntl, os, sys; print(fcntl.fcntl(os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK), 1032))";
    const size = Number(
      execFileSync("python3", ["-c", getPipeSize, join(env.stateDir, "stdout")], { encoding: "utf8" }),
    );
    assert.ok(size > 64 * 1024, `pipe size ${size}`);
    writeFifo(join(env.stateDir, "stdin"), "go\n");
    assert.equal((await env.waitExit()).exit_code, 0);
  });

  test("stdin round trip: cat echoes what the stdin FIFO gets, closestdin ends it", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["cat"] });
    t.after(() => bundle.remove());
    await env.createWithShim({ bundle: bundle.path, stdin: true });
    const stdout = attachOutput(join(env.stateDir, "stdout"));
    t.after(() => stdout.close());
    await env.start();
    writeFifo(join(env.stateDir, "stdin"), "hello through the shim\n");
    await stdout.waitFor(/hello through the shim\n/);
    // A client that comes and goes: cat must not see EOF when a writer closes its end.
    writeFifo(join(env.stateDir, "stdin"), "second writer\n");
    await stdout.waitFor(/second writer\n/);
    assert.equal((await env.state())?.status, "running");
    sendControl(env.stateDir, "closestdin");
    const exit = await env.waitExit();
    assert.equal(exit.exit_code, 0);
    assert.equal(stdout.text(), "hello through the shim\nsecond writer\n");
  });

  test("closestdin right after input: the input written before it is not lost", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["sh", "-c", "cat; echo end"] });
    t.after(() => bundle.remove());
    await env.createWithShim({ bundle: bundle.path, stdin: true });
    await env.start();
    const input = `${LINE}\n`.repeat(1024); // 64 KiB
    writeFifo(join(env.stateDir, "stdin"), input);
    sendControl(env.stateDir, "closestdin");
    assert.equal((await env.waitExit()).exit_code, 0);
    await env.waitShimGone();
    const records = parseCriLog(await readFile(join(env.stateDir, "log"), "utf8"));
    assert.equal(streamText(records, "stdout"), `${input}end\n`);
  });

  test("without --stdin the container's stdin is at EOF", async (t) => {
    const env = await ShimEnv.started(t, { args: ["sh", "-c", "cat; echo cat-ended"] });
    assert.equal((await env.waitExit()).exit_code, 0);
    await env.waitShimGone();
    const records = parseCriLog(await readFile(join(env.stateDir, "log"), "utf8"));
    assert.equal(streamText(records, "stdout"), "cat-ended\n");
  });

  test("terminal: stty size inside reports the size set by resize", async (t) => {
    const env = await ShimEnv.create(t);
    // Polls until the size arrives, so the test does not race the shim applying the resize.
    const script =
      'for i in $(seq 100); do s=$(stty size); [ "$s" = "41 133" ] && break; sleep 0.05; done; echo "size=$s"; [ -t 0 ] && echo tty=yes';
    const bundle = await makeBundle({ args: ["sh", "-c", script], terminal: true });
    t.after(() => bundle.remove());
    await env.createWithShim({ bundle: bundle.path, terminal: true });
    const stdout = attachOutput(join(env.stateDir, "stdout"));
    t.after(() => stdout.close());
    sendControl(env.stateDir, "resize 133 41");
    await env.start();
    await stdout.waitFor(/tty=yes/);
    assert.match(stdout.text(), /size=41 133\r?\n/);
    assert.equal((await env.waitExit()).exit_code, 0);
    await env.waitShimGone();
    // The terminal's output also reaches the log, all of it as stdout.
    const records = parseCriLog(await readFile(join(env.stateDir, "log"), "utf8"));
    assert.match(streamText(records, "stdout"), /size=41 133/);
    assert.equal(streamText(records, "stderr"), "");
  });

  test("terminal stdin: input reaches the pty, closestdin sends end-of-file", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["sh", "-c", "cat; echo cat-done"], terminal: true });
    t.after(() => bundle.remove());
    await env.createWithShim({ bundle: bundle.path, terminal: true, stdin: true });
    const stdout = attachOutput(join(env.stateDir, "stdout"));
    t.after(() => stdout.close());
    await env.start();
    writeFifo(join(env.stateDir, "stdin"), "typed line\n");
    // The pty echoes the input and cat repeats it: the line shows twice.
    await stdout.waitFor(/typed line\r?\n(.|\n)*typed line\r?\n/);
    sendControl(env.stateDir, "closestdin");
    await stdout.waitFor(/cat-done/);
    assert.equal((await env.waitExit()).exit_code, 0);
  });

  test("a reader attached mid-run sees live output, not what came before it", async (t) => {
    const env = await ShimEnv.create(t);
    const bundle = await makeBundle({ args: ["sh", "-c", "echo early; read go; echo late"] });
    t.after(() => bundle.remove());
    await env.createWithShim({ bundle: bundle.path, stdin: true });
    await env.start();
    const logPath = join(env.stateDir, "log");
    await waitForText(logPath, "early");
    const stdout = attachOutput(join(env.stateDir, "stdout"));
    t.after(() => stdout.close());
    writeFifo(join(env.stateDir, "stdin"), "go\n");
    await stdout.waitFor(/late\n/);
    assert.equal(stdout.text(), "late\n");
    assert.equal((await env.waitExit()).exit_code, 0);
  });
});
