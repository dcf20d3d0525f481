// ExitWatch on a real FIFO, and the read it decides with (fd.ts readByte, koffi's read(2) instead of
// fs.readSync, which throws on EAGAIN): a shim gone before the watch starts is seen at once, a live
// one only when its write end closes.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { readByte } from "../../src/berthd/fd.js";
import { ExitWatch } from "../../src/berthd/shim/exit-watch.js";
import { makeTempDir } from "../fixtures/temp.js";

function fifo(dir: string): string {
  const path = join(dir, "exit.fifo");
  execFileSync("mkfifo", [path]);
  return path;
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const result = await Promise.race([promise.then(() => true), timeout]);
  clearTimeout(timer);
  return result;
}

test("readByte: -1 while a writer is there with nothing written, 1 for data, 0 once it is gone", (t) => {
  const dir = makeTempDir("exit-watch");
  t.after(() => dir.remove());
  const path = fifo(dir.path);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  t.after(() => closeSync(reader));
  const writer = openSync(path, constants.O_WRONLY);
  assert.equal(readByte(reader), -1);
  writeSync(writer, "x");
  assert.equal(readByte(reader), 1);
  closeSync(writer);
  assert.equal(readByte(reader), 0);
  assert.throws(() => readByte(-1), /read\(-1\) failed: errno 9/);
});

test("ExitWatch: gone at once without a writer; with one, gone exactly when it closes", async (t) => {
  const dir = makeTempDir("exit-watch");
  t.after(() => dir.remove());
  const path = fifo(dir.path);

  const early = new ExitWatch(dir.path);
  early.start();
  assert.ok(await settlesWithin(early.gone, 2000), "no writer: gone at once");

  // The shim holds the write end; O_RDWR opens it without waiting for a reader.
  const writer = openSync(path, constants.O_RDWR);
  const watch = new ExitWatch(dir.path);
  t.after(() => watch.close());
  watch.start();
  assert.equal(await settlesWithin(watch.gone, 300), false, "a writer is there: not gone");
  closeSync(writer);
  assert.ok(await settlesWithin(watch.gone, 5000), "the writer closed: gone");
});
