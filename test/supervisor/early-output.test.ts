// EarlyOutput (src/berthd/shim/early-output.ts) on real FIFOs, with this process as the "shim": what is
// written before anyone takes the read ends is read from them, then EOF; read ends nobody takes are
// closed a bounded time after the shim is gone, and release() closes everything; the FIFOs themselves.

import assert from "node:assert/strict";
import { closeSync, constants, openSync, readdirSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { EarlyOutput } from "../../src/berthd/shim/early-output.js";
import { makeTempDir } from "../fixtures/bundle.js";
import { readFdToEnd } from "../helpers/dbus.js";

const fdCount = () => readdirSync("/proc/self/fd").length;

/** Writes like the shim: a non-blocking write end, which opens only while a reader exists. */
function shimWrite(path: string, text: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

describe("supervisor: an exec's early output", () => {
  test("written before take(), read after the shim is gone: everything, then EOF", async (t) => {
    const dir = makeTempDir("early");
    t.after(() => dir.remove());
    const early = EarlyOutput.open(dir.path);
    t.after(() => early.release());
    shimWrite(join(dir.path, "stdout"), "hi\n");
    shimWrite(join(dir.path, "stderr"), "oops\n");
    early.shimGone(60_000);
    const fds = early.take();
    assert.ok(fds !== undefined);
    assert.equal(early.take(), undefined, "only the first taker gets them");
    assert.deepEqual(await Promise.all([readFdToEnd(fds.stdout), readFdToEnd(fds.stderr)]), [
      "hi\n",
      "oops\n",
    ]);
  });

  test("the FIFOs are made 0600 by mkfifo(3), no process; existing ones are refused by path", (t) => {
    const dir = makeTempDir("early");
    t.after(() => dir.remove());
    const early = EarlyOutput.open(dir.path);
    t.after(() => early.release());
    for (const name of ["stdout", "stderr"]) {
      const stat = statSync(join(dir.path, name));
      assert.ok(stat.isFIFO(), `${name} is a FIFO`);
      assert.equal(stat.mode & 0o777, 0o600);
    }
    assert.throws(() => EarlyOutput.open(dir.path), {
      message: `mkfifo ${join(dir.path, "stdout")}: File exists`,
    });
  });

  test("read ends nobody takes are closed keepMs after the shim is gone; release() closes all", async (t) => {
    const dir = makeTempDir("early");
    t.after(() => dir.remove());
    const baseline = fdCount();
    const early = EarlyOutput.open(dir.path);
    t.after(() => early.release());
    assert.equal(fdCount(), baseline + 4, "a read end and a placeholder writer per stream");
    shimWrite(join(dir.path, "stdout"), "unread\n");
    early.shimGone(50);
    assert.equal(fdCount(), baseline + 2, "the writers go with the shim");
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(early.take(), undefined);
    assert.equal(fdCount(), baseline);

    const otherDir = makeTempDir("early");
    t.after(() => otherDir.remove());
    const other = await EarlyOutput.open(otherDir.path);
    other.release();
    assert.equal(fdCount(), baseline);
  });
});
