// OpenStdio: the reader protocol of docs/shim.md "Stdio". The caller gets blocking fds that see live
// output and EOF only when the shim is gone: berthd holds one placeholder writer per output FIFO
// (shared by every OpenStdio of that process) until exit.fifo reports the shim gone.

import { closeSync, constants, openSync } from "node:fs";
import { join } from "node:path";
import { InvalidStateError } from "../../common/errors.js";
import type { StdioFds } from "../../common/types.js";
import { FILES } from "../state/layout.js";

/** The placeholder writers of one process's output FIFOs, opened on first use, closed when its shim is gone. */
export class StdioPlaceholders {
  private readonly fds = new Map<string, number>();
  private closed = false;

  constructor(shimGone: Promise<void>) {
    void shimGone.then(() => this.close());
  }

  /** Opens the placeholder writer for `path` unless one is held. The caller holds a read end already. */
  ensure(path: string): void {
    if (this.closed) throw new InvalidStateError("the process's shim is gone");
    if (!this.fds.has(path)) this.fds.set(path, openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
  }

  close(): void {
    this.closed = true;
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

/** An output FIFO's read ends as OpenStdio hands them out. */
export interface OutputFds {
  stdout: number;
  stderr: number;
}

/**
 * A blocking read end of an output FIFO that sees no EOF while a placeholder writer is held;
 * `holdWriter` makes sure one is (the caller holds a non-blocking read end meanwhile, so it opens).
 */
export function openOutput(path: string, holdWriter: (path: string) => void): number {
  const probe = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    holdWriter(path);
    // A writer exists now, so this blocking open returns at once.
    return openSync(path, constants.O_RDONLY);
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

/**
 * OpenStdio's three fds. `first`: read ends opened earlier (an exec's, held from before its process
 * started: early-output.ts), handed out instead of new ones; they are closed here on failure.
 */
export function openStdio(
  stateDir: string,
  hasStdin: boolean,
  placeholders: StdioPlaceholders,
  first?: OutputFds,
): StdioFds {
  const opened: number[] = first === undefined ? [] : [first.stdout, first.stderr];
  try {
    if (first === undefined) {
      const holdWriter = (path: string) => placeholders.ensure(path);
      opened.push(openOutput(join(stateDir, FILES.stdout), holdWriter));
      opened.push(openOutput(join(stateDir, FILES.stderr), holdWriter));
    }
    const [stdout, stderr] = opened as [number, number];
    return { stdin: openInput(join(stateDir, FILES.stdin), hasStdin), stdout, stderr };
  } catch (error) {
    for (const fd of opened) closeSync(fd);
    if (error instanceof InvalidStateError) throw error;
    throw new InvalidStateError(`cannot open the process's stdio: ${(error as Error).message}`);
  }
}
