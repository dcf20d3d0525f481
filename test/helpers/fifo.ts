// Talking to a shim through the FIFOs in its state dir, the way docs/shim.md says a client does.

import { closeSync, constants, openSync, readSync, writeSync } from "node:fs";
import { Socket } from "node:net";
import { join } from "node:path";

/** Output read from a `stdout` or `stderr` FIFO while attached. */
export interface OutputReader {
  /** Everything read so far, as UTF-8. */
  text(): string;
  /** Resolves with text() once it matches `pattern`; rejects after `timeoutMs` with what was read. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Detaches: closes the read end and the placeholder writer. */
  close(): void;
}

/**
 * Attaches to an output FIFO as a reader: read end O_RDONLY|O_NONBLOCK, then a placeholder write end
 * O_WRONLY|O_NONBLOCK held until close(), so the reader never sees a spurious EOF before the shim's
 * first write. The placeholder only writes, so when we detach the shim still gets EPIPE.
 */
export function attachOutput(fifoPath: string): OutputReader {
  const readFd = openSync(fifoPath, constants.O_RDONLY | constants.O_NONBLOCK);
  const placeholderFd = openSync(fifoPath, constants.O_WRONLY | constants.O_NONBLOCK);
  const socket = new Socket({ fd: readFd, readable: true, writable: false });
  const chunks: Buffer[] = [];
  let closed = false;
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => {}); // a read error just ends what we collect; text() shows what came
  const text = () => Buffer.concat(chunks).toString("utf8");
  return {
    text,
    async waitFor(pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(text())) {
        if (Date.now() > deadline) {
          throw new Error(
            `${fifoPath}: no output matching ${pattern} within ${timeoutMs} ms; got ${JSON.stringify(text())}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return text();
    },
    close() {
      if (closed) return;
      closed = true;
      socket.destroy();
      closeSync(placeholderFd);
    },
  };
}

/**
 * Writes `data` to a FIFO that has a reader (the shim holds `stdin` and `control.fifo` open for
 * reading), without blocking: fails with ENXIO when nobody reads it.
 */
export function writeFifo(fifoPath: string, data: string | Buffer): void {
  const fd = openSync(fifoPath, constants.O_WRONLY | constants.O_NONBLOCK);
  try {
    const buffer = typeof data === "string" ? Buffer.from(data) : data;
    let offset = 0;
    while (offset < buffer.length) offset += writeSync(fd, buffer, offset);
  } finally {
    closeSync(fd);
  }
}

/** Sends one control command (`resize 80 24`, `closestdin`) to the shim of `stateDir`. */
export function sendControl(stateDir: string, command: string): void {
  writeFifo(join(stateDir, "control.fifo"), `${command}\n`);
}

/**
 * Resolves when the shim of `stateDir` is gone, rejects after `timeoutMs`: the shim holds `exit.fifo`
 * open for writing while it lives, so its reader gets EOF when it exits.
 */
export function waitShimGone(stateDir: string, timeoutMs = 10_000): Promise<void> {
  const fd = openSync(join(stateDir, "exit.fifo"), constants.O_RDONLY | constants.O_NONBLOCK);
  // With no writer at open time the kernel reports no hangup until a writer has come and gone, but a
  // read says EOF at once: check that first, or we would wait for a shim that already left.
  try {
    if (readSync(fd, Buffer.alloc(1)) === 0) {
      closeSync(fd);
      return Promise.resolve();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EAGAIN") {
      closeSync(fd);
      throw error;
    }
  }
  const socket = new Socket({ fd, readable: true, writable: false });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${stateDir}: the shim still holds exit.fifo after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("data", () => {}); // nobody writes to exit.fifo; reading is how EOF arrives
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
