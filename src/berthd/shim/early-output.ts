// An exec'd process's output from its first byte. The shim writes a FIFO only while it has a reader
// (docs/shim.md "Stdio") and Exec() runs the process at once, so without this whatever it printed
// before the client's OpenStdio was lost (`berthctl exec c echo hi` printed nothing). berthd makes
// the exec's stdout and stderr FIFOs itself before launching the shim (which accepts them) and holds
// a blocking read end plus a placeholder writer on each: the pipes exist from the start and keep
// what the process writes (up to the FIFO size; beyond that the shim drops, it never blocks). The
// first OpenStdio takes the read ends; the writers go when the shim is gone, so that reader gets
// everything, then EOF. Read ends nobody took are released EARLY_OUTPUT_KEEP_MS after the shim is
// gone, or when the process is deleted, so an exec nobody attaches to does not pin fds for ever.

import { closeSync, constants, openSync } from "node:fs";
import { join } from "node:path";
import { makeFifo } from "../fd.js";
import { FILES } from "../state/layout.js";
import { type OutputFds, openOutput } from "./stdio.js";

/** How long an exited process's unclaimed output stays available to a first OpenStdio. */
export const EARLY_OUTPUT_KEEP_MS = 60_000;

export class EarlyOutput {
  private readers: OutputFds | undefined;
  private readonly writers: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  private constructor() {}

  /** Makes `stateDir`'s stdout and stderr FIFOs (Node has no mkfifo) and opens their held ends. */
  static open(stateDir: string): EarlyOutput {
    const paths = [join(stateDir, FILES.stdout), join(stateDir, FILES.stderr)] as const;
    for (const path of paths) makeFifo(path, 0o600);
    const early = new EarlyOutput();
    const holdWriter = (path: string) => {
      early.writers.push(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    };
    const opened: number[] = [];
    try {
      for (const path of paths) opened.push(openOutput(path, holdWriter));
    } catch (error) {
      for (const fd of opened) closeSync(fd);
      early.release();
      throw error;
    }
    early.readers = { stdout: opened[0]!, stderr: opened[1]! };
    return early;
  }

  /** The held read ends, once (the first OpenStdio's); undefined after that or once released. */
  take(): OutputFds | undefined {
    const readers = this.readers;
    this.readers = undefined;
    clearTimeout(this.timer);
    return readers;
  }

  /** The shim is gone: readers see EOF after the output; read ends nobody took go after `keepMs`. */
  shimGone(keepMs: number = EARLY_OUTPUT_KEEP_MS): void {
    for (const fd of this.writers.splice(0)) closeSync(fd);
    if (this.readers !== undefined) this.timer = setTimeout(() => this.release(), keepMs).unref();
  }

  /** Closes every fd still held. */
  release(): void {
    clearTimeout(this.timer);
    const readers = this.take();
    if (readers !== undefined) {
      closeSync(readers.stdout);
      closeSync(readers.stderr);
    }
    for (const fd of this.writers.splice(0)) closeSync(fd);
  }
}
