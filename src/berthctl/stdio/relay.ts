// Relays a container process's stdio between berthctl's own stdio and the fds OpenStdio handed over:
// output fds → our stdout/stderr, our stdin → the stdin fd (then CloseStdin at our EOF), and for a
// terminal: raw mode on our tty (restored however berthctl exits) and window size changes → Resize.

import { closeSync } from "node:fs";
import { Socket } from "node:net";
import type { StdioFds } from "../api/client.js";
import { DetachKeys } from "./detach-keys.js";

export interface RelayOptions {
  fds: StdioFds;
  /** Copy our stdin to the process. Otherwise its stdin fd is closed at once. */
  forwardStdin: boolean;
  /** At our stdin's EOF, close the process's stdin (run -i, exec -i); attach leaves it open. */
  closeStdinAtEof: boolean;
  /** The process has a terminal: raw mode and window size when ours are ttys. */
  terminal: boolean;
  resize(columns: number, rows: number): Promise<void>;
  closeStdin(): Promise<void>;
  /** A failed Resize or CloseStdin is reported here; the relay goes on. */
  onError(what: string, error: unknown): void;
  /** The user typed the detach keys (terminal sessions on a tty only). */
  onDetach(): void;
}

/** Terminal modes to restore at exit, whatever path the exit takes. */
let rawModeSet = false;
function restoreTerminal(): void {
  if (rawModeSet && process.stdin.isTTY) process.stdin.setRawMode(false);
  rawModeSet = false;
}

export class StdioRelay {
  private readonly sockets: Socket[] = [];
  private onResize: (() => void) | undefined;
  private outputEnded: Promise<void> = Promise.resolve();

  constructor(private readonly options: RelayOptions) {}

  /** Starts relaying; resolves once the process knows our window size (terminal), so it can start. */
  async start(): Promise<void> {
    const { fds } = this.options;
    this.outputEnded = Promise.all([
      this.pipeOutput(fds.stdout, process.stdout),
      this.pipeOutput(fds.stderr, process.stderr),
    ]).then(() => {});
    if (this.options.forwardStdin) this.pipeInput(fds.stdin);
    else closeSync(fds.stdin);
    if (this.options.terminal) await this.setUpTerminal();
  }

  /** Resolves when both output fds have reached EOF (the shim is gone), or after `limitMs`. */
  async drained(limitMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.outputEnded,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, limitMs);
      }),
    ]);
    clearTimeout(timer);
  }

  stop(): void {
    restoreTerminal();
    if (this.onResize) process.stdout.off("resize", this.onResize);
    if (this.options.forwardStdin) {
      process.stdin.unpipe();
      process.stdin.removeAllListeners("data");
      process.stdin.pause();
    }
    for (const socket of this.sockets) socket.destroy();
  }

  private pipeOutput(fd: number, to: NodeJS.WriteStream): Promise<void> {
    const socket = new Socket({ fd, readable: true, writable: false });
    this.sockets.push(socket);
    socket.pipe(to, { end: false });
    return new Promise((resolve) => {
      socket.once("end", resolve);
      socket.once("close", resolve);
      socket.once("error", () => resolve());
    });
  }

  private pipeInput(fd: number): void {
    const socket = new Socket({ fd, readable: false, writable: true });
    this.sockets.push(socket);
    // The process may exit (the FIFO's reader gone) while we still write: not our failure.
    socket.on("error", () => {});
    if (this.options.terminal && process.stdin.isTTY) {
      const keys = new DetachKeys();
      process.stdin.on("data", (chunk: Buffer) => {
        const { pass, detach } = keys.scan(chunk);
        if (pass.length > 0) socket.write(pass);
        if (detach) this.options.onDetach();
      });
    } else {
      process.stdin.pipe(socket, { end: false });
    }
    process.stdin.once("end", () => {
      socket.end();
      if (this.options.closeStdinAtEof)
        this.options.closeStdin().catch((error) => this.options.onError("close stdin", error));
    });
  }

  private async setUpTerminal(): Promise<void> {
    if (process.stdin.isTTY && this.options.forwardStdin) {
      process.stdin.setRawMode(true);
      if (!rawModeSet) process.once("exit", restoreTerminal);
      rawModeSet = true;
    }
    if (!process.stdout.isTTY) return;
    const sendSize = async () => {
      const { columns, rows } = process.stdout;
      if (columns > 0 && rows > 0)
        await this.options.resize(columns, rows).catch((error) => this.options.onError("resize", error));
    };
    this.onResize = () => void sendSize();
    process.stdout.on("resize", this.onResize);
    await sendSize();
  }
}
