// OpenStdio: the reader protocol of docs/shim.md "Stdio". The caller gets blocking fds that see live
// output and EOF only when the shim is gone: berthd holds a placeholder writer on each output FIFO
// until exit.fifo reports the shim gone.

import { closeSync, constants, openSync } from "node:fs";
import { join } from "node:path";
import { InvalidStateError } from "../../common/errors.js";
import type { StdioFds } from "../../common/types.js";
import { FILES } from "../state/layout.js";

function closeAll(fds: number[]): void {
  for (const fd of fds) closeSync(fd);
}

/** A blocking read end of an output FIFO, plus the placeholder writer that keeps it from seeing EOF. */
function openOutput(path: string): { reader: number; placeholder: number } {
  const probe = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const placeholder = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      // A writer exists now, so this blocking open returns at once.
      return { reader: openSync(path, constants.O_RDONLY), placeholder };
    } catch (error) {
      closeSync(placeholder);
      throw error;
    }
  } finally {
    closeSync(probe);
  }
}

/** The stdin FIFO's write end (the shim holds it O_RDWR), or /dev/null when the process has no stdin. */
function openInput(path: string, hasStdin: boolean): number {
  if (!hasStdin) return openSync("/dev/null", constants.O_WRONLY);
  let probe: number;
  try {
    probe = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    throw new InvalidStateError("the process's shim is gone");
  }
  try {
    // A reader exists (probe succeeded), so the blocking open returns at once; the caller gets a
    // blocking fd, not one that fails with EAGAIN when the FIFO is full.
    return openSync(path, constants.O_WRONLY);
  } finally {
    closeSync(probe);
  }
}

export function openStdio(stateDir: string, hasStdin: boolean, shimGone: Promise<void>): StdioFds {
  const opened: number[] = [];
  try {
    const stdout = openOutput(join(stateDir, FILES.stdout));
    opened.push(stdout.reader, stdout.placeholder);
    const stderr = openOutput(join(stateDir, FILES.stderr));
    opened.push(stderr.reader, stderr.placeholder);
    const stdin = openInput(join(stateDir, FILES.stdin), hasStdin);
    const placeholders = [stdout.placeholder, stderr.placeholder];
    void shimGone.then(() => closeAll(placeholders));
    return { stdin, stdout: stdout.reader, stderr: stderr.reader };
  } catch (error) {
    closeAll(opened);
    if (error instanceof InvalidStateError) throw error;
    throw new InvalidStateError(`cannot open the process's stdio: ${(error as Error).message}`);
  }
}
