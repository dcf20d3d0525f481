// The OCI runtime's command line (runc's, which crun shares) for everything berthd does directly:
// start, kill, pause, resume, delete, state. Create and exec run inside the shim instead.
// Always an argv run by berthd's launcher (never a shell), always a timeout, and a failure carries the runtime's own words.

import { RuntimeFailedError } from "../../common/errors.js";
import type { CgroupDriver, RuntimeConfig } from "../../common/types.js";
import type { Launcher } from "../shim/launcher.js";
import { runtimeGlobalArgs } from "./flavour.js";

export const RUNTIME_TIMEOUT_MS = 30_000;

/** The runtime's stderr without runc's logrus decoration, so the message reads as the runtime's words. */
export function runtimeErrorText(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) => /\bmsg="((?:[^"\\]|\\.)*)"/.exec(line)?.[1]?.replace(/\\"/g, '"') ?? line);
  return lines.join("; ");
}

export interface RuntimeState {
  status: string;
  pid: number;
}

export class RuntimeClient {
  readonly globalArgs: string[];

  constructor(
    readonly runtime: RuntimeConfig,
    readonly root: string,
    cgroupDriver: CgroupDriver,
    /** Runs the runtime here, and the shim (launch.ts): berthd never forks itself. */
    readonly launcher: Launcher,
  ) {
    this.globalArgs = runtimeGlobalArgs(runtime, cgroupDriver);
  }

  get name(): string {
    return this.runtime.name;
  }

  private async run(args: string[]): Promise<string> {
    const argv = [this.runtime.path, "--root", this.root, ...this.globalArgs, ...args];
    const failed = (why: string) => new RuntimeFailedError(`${this.runtime.name} ${args[0]} failed: ${why}`);
    // The launcher's environment has none of the service manager's variables: `runc start` with
    // NOTIFY_SOCKET would wait for the container's READY=1, which never comes.
    const result = await this.launcher
      .run(argv, { stdout: true, timeoutMs: RUNTIME_TIMEOUT_MS, maxOutput: 8 << 20 })
      .catch((error: Error) => {
        throw failed(error.message);
      });
    if (result.code === 0) return result.stdout;
    throw failed(
      result.timedOut
        ? `timed out after ${RUNTIME_TIMEOUT_MS / 1000} s`
        : runtimeErrorText(result.stderr) || `exited ${result.code ?? result.signal}`,
    );
  }

  async start(id: string): Promise<void> {
    await this.run(["start", id]);
  }

  async kill(id: string, signal: number, all: boolean): Promise<void> {
    await this.run(["kill", ...(all ? ["--all"] : []), id, String(signal)]);
  }

  async pause(id: string): Promise<void> {
    await this.run(["pause", id]);
  }

  async resume(id: string): Promise<void> {
    await this.run(["resume", id]);
  }

  async delete(id: string, force: boolean): Promise<void> {
    await this.run(["delete", ...(force ? ["-f"] : []), id]);
  }

  async state(id: string): Promise<RuntimeState> {
    const parsed = JSON.parse(await this.run(["state", id])) as { status?: unknown; pid?: unknown };
    return {
      status: typeof parsed.status === "string" ? parsed.status : "unknown",
      pid: typeof parsed.pid === "number" ? parsed.pid : 0,
    };
  }
}

/** True when a RuntimeFailedError says the container is not (or no longer) known to the runtime. */
export function isNotFound(error: unknown): boolean {
  return error instanceof RuntimeFailedError && /does not exist|not found|no such/i.test(error.message);
}
