// Watches a shim's exit.fifo: the shim holds its write end open for its whole life, so a reader
// sees EOF exactly when the shim is gone (or at once, if it already is). fs.watch cannot see that;
// a non-blocking read end wrapped in a net.Socket can.

import { closeSync, constants, openSync } from "node:fs";
import { Socket } from "node:net";
import { join } from "node:path";
import { readByte } from "../fd.js";
import { FILES } from "../state/layout.js";

/**
 * With no writer when the read end is opened, the kernel reports no hangup until a writer has come
 * and gone (a shim that died while berthd was down would never be seen); a read says EOF at once.
 */
function writerPresent(fd: number): boolean {
  return readByte(fd) !== 0;
}

export class ExitWatch {
  /** Resolves once the shim is gone. Never resolves after close(). */
  readonly gone: Promise<void>;
  private socket: Socket | undefined;
  private closed = false;
  private signalGone!: () => void;

  constructor(readonly stateDir: string) {
    this.gone = new Promise((resolve) => {
      this.signalGone = resolve;
    });
  }

  start(): void {
    let fd: number;
    try {
      fd = openSync(join(this.stateDir, FILES.exitFifo), constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      // No FIFO: the shim never got that far, or its dir was cleaned. Either way it is not running.
      this.signalGone();
      return;
    }
    if (!writerPresent(fd)) {
      closeSync(fd);
      this.signalGone();
      return;
    }
    const socket = new Socket({ fd, readable: true, writable: false });
    socket.on("data", () => {}); // the shim never writes; keep the stream flowing to see EOF
    socket.on("error", () => {}); // EOF/HUP is the event that matters; 'close' follows errors
    socket.on("close", () => {
      if (!this.closed) this.signalGone();
    });
    this.socket = socket;
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.socket = undefined;
  }
}
