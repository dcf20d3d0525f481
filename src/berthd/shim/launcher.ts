// berthd's fork server: `berth-shim --launcher` (docs/shim.md "Launcher mode"), spawned once when the
// supervisor starts, runs every process berthd needs (the shim, the runtime's start/kill/...). Node's
// spawn forks berthd on its event loop thread and copies its page tables: 5 ms at 44 MB, 15 ms at
// 350 MB, once or twice per container start. The launcher's posix_spawn costs the same at any size.

import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:os";
import { RuntimeFailedError } from "../../common/errors.js";
import { childEnvironment } from "../systemd/notify.js";

export interface RunOptions {
  /** Capture the child's stdout; without it, its stdout is /dev/null. stderr is always captured. */
  stdout: boolean;
  /** The launcher SIGKILLs the child after this long; the result then says timedOut. */
  timeoutMs: number;
  /** Bytes kept of stdout and of stderr each; the rest is read and dropped. */
  maxOutput: number;
}

export interface RunResult {
  /** The exit code, or null when a signal ended the child. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** How long stop() lets the launcher wait for its running children before it is killed. */
const STOP_GRACE_MS = 5_000;
/** After the length: id, flags, timeout, output cap, argc. */
const REQUEST_FIXED = 20;
/** After the length: id, result, value, flags, stdout length, stderr length. */
const REPLY_FIXED = 24;
const CAPTURE_STDOUT = 1;
const TIMED_OUT = 1;
const RESULT_EXITED = 0;
const RESULT_SIGNALED = 1;
const RESULT_NOT_RUN = 2;

const SIGNAL_NAMES = new Map(
  Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
);

export function encodeRequest(id: number, argv: string[], options: RunOptions): Buffer {
  const strings = Buffer.from(argv.map((arg) => `${arg}\0`).join(""));
  const frame = Buffer.alloc(4 + REQUEST_FIXED + strings.length);
  const fields = [
    REQUEST_FIXED + strings.length,
    id,
    options.stdout ? CAPTURE_STDOUT : 0,
    options.timeoutMs,
    options.maxOutput,
    argv.length,
  ];
  for (const [i, value] of fields.entries()) frame.writeUInt32LE(value, 4 * i);
  strings.copy(frame, 4 + REQUEST_FIXED);
  return frame;
}

interface Waiter {
  resolve(result: RunResult): void;
  reject(error: Error): void;
}

export class Launcher {
  private child: ChildProcess | undefined;
  private readonly waiting = new Map<number, Waiter>();
  private lastId = 0;
  /** Reply bytes not yet parsed. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Why the current launcher is ending, when it said or we know (a spawn error, a refused frame). */
  private ending: string | undefined;
  private stopped = false;

  constructor(private readonly path: string) {}

  /** The running launcher's pid (tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Forks berthd once, now, while it is small; a launcher that dies later is respawned by run(). */
  start(): void {
    this.stopped = false;
    if (this.child === undefined) this.spawnLauncher();
  }

  run(argv: string[], options: RunOptions): Promise<RunResult> {
    if (this.stopped) {
      return Promise.reject(new RuntimeFailedError(`cannot run ${argv[0]}: berthd is stopping`));
    }
    const child = this.child ?? this.spawnLauncher();
    // Never 0: the launcher answers a frame it cannot parse with id 0.
    this.lastId = (this.lastId % 0xffffffff) + 1;
    const id = this.lastId;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      child.stdin?.write(encodeRequest(id, argv, options));
    });
  }

  /** Ends the launcher: it exits once its running children are reaped (killed after a grace). */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (child === undefined) return;
    const closed = new Promise((resolve) => child.once("close", resolve));
    child.stdin?.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await closed;
    clearTimeout(timer);
  }

  private spawnLauncher(): ChildProcess {
    // berthd's stderr is the launcher's: its diagnostics reach berthd's log.
    const child = spawn(this.path, ["--launcher"], {
      stdio: ["pipe", "pipe", "inherit"],
      // Without the service manager's variables, which every process it runs inherits (docs/systemd.md).
      env: childEnvironment(),
    });
    this.child = child;
    this.chunks = [];
    this.buffered = 0;
    this.ending = undefined;
    // A write to a launcher that died fails with EPIPE; its 'close' rejects the runs.
    child.stdin?.on("error", () => undefined);
    child.stdout?.on("data", (chunk: Buffer) => {
      if (this.child === child) this.receive(chunk);
    });
    child.on("error", (error) => {
      this.ending ??= `cannot run ${this.path} --launcher: ${error.message}`;
    });
    child.on("close", (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      const how = signal === null ? `exited with status ${code}` : `was killed by ${signal}`;
      const why = this.ending ?? `the launcher (${this.path} --launcher, pid ${child.pid}) ${how}`;
      for (const waiter of this.waiting.values()) waiter.reject(new RuntimeFailedError(why));
      this.waiting.clear();
    });
    return child;
  }

  private receive(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < 4) return;
      if (this.chunks[0].length < 4) this.chunks = [Buffer.concat(this.chunks)];
      const size = 4 + this.chunks[0].readUInt32LE(0);
      if (this.buffered < size) return;
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      this.chunks = all.length > size ? [all.subarray(size)] : [];
      this.buffered -= size;
      this.deliver(all.subarray(4, size));
    }
  }

  private deliver(frame: Buffer): void {
    const field = (i: number) => frame.readUInt32LE(4 * i);
    if (frame.length < REPLY_FIXED || frame.length !== REPLY_FIXED + field(4) + field(5)) {
      // Out of sync, nothing after this can be trusted: its death rejects the runs still waiting.
      this.ending = `the launcher (pid ${this.child?.pid}) sent a malformed reply; it was killed`;
      this.child?.stdout?.destroy();
      this.chunks = [];
      this.buffered = 0;
      this.child?.kill("SIGKILL");
      return;
    }
    const [id, result, value, flags, stdoutLength] = [0, 1, 2, 3, 4].map(field);
    const stdout = frame.toString("utf8", REPLY_FIXED, REPLY_FIXED + stdoutLength);
    const stderr = frame.toString("utf8", REPLY_FIXED + stdoutLength);
    if (id === 0) {
      // Our stream was out of sync: the launcher reads no more and exits once its children are reaped.
      this.ending = `the launcher refused a request: ${stderr}`;
      return;
    }
    const waiter = this.waiting.get(id);
    if (waiter === undefined) return;
    this.waiting.delete(id);
    if (result === RESULT_NOT_RUN) {
      waiter.reject(new RuntimeFailedError(stderr));
      return;
    }
    waiter.resolve({
      code: result === RESULT_EXITED ? value : null,
      signal: result === RESULT_SIGNALED ? (SIGNAL_NAMES.get(value) ?? null) : null,
      stdout,
      stderr,
      timedOut: (flags & TIMED_OUT) !== 0,
    });
  }
}
