// Runs the built berthctl (dist/src/berthctl/main.js) as a user would: a real process, real argv,
// stdin/stdout/stderr pipes, its exit code.

import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { CHECKOUT, type SharedBerthd } from "../helpers/berthd.js";

export const BERTHCTL = join(CHECKOUT, "dist/src/berthctl/main.js");

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  address?: string;
  input?: string;
  env?: Record<string, string>;
  /** Leave berthctl's stdin open for the test to write to (collect() ends it otherwise). */
  keepStdinOpen?: boolean;
  /** Run as this user (and group): an unprivileged caller. */
  uid?: number;
  /** Kill it (SIGKILL) after this long; default 60 s. */
  timeoutMs?: number;
}

export function spawnBerthctl(args: string[], options: RunOptions = {}): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.BERTH_ADDRESS;
  if (options.address !== undefined) env.BERTH_ADDRESS = options.address;
  const user = options.uid === undefined ? {} : { uid: options.uid, gid: options.uid };
  return spawn(process.execPath, [BERTHCTL, ...args], { env, stdio: ["pipe", "pipe", "pipe"], ...user });
}

export function berthctl(args: string[], options: RunOptions = {}): Promise<Result> {
  const child = spawnBerthctl(args, options);
  return collect(child, options);
}

/** berthctl run against `daemon`'s bus, with `input` (when given) on its stdin. */
export function berthctlOn(daemon: SharedBerthd): (args: string[], input?: string) => Promise<Result> {
  return (args, input) =>
    berthctl(args, { address: daemon.address, ...(input === undefined ? {} : { input }) });
}

export function collect(child: ChildProcess, options: RunOptions = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr!.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
    else if (!options.keepStdinOpen) child.stdin!.end();
  });
}

/** A failure message is exactly one line "berthctl: ..." and carries no stack trace. */
export function assertOneLineError(stderr: string): void {
  const lines = stderr.split("\n").filter((l) => l !== "");
  if (lines.length !== 1)
    throw new Error(`expected one line on stderr, got ${lines.length}: ${JSON.stringify(stderr)}`);
  if (!lines[0]!.startsWith("berthctl: "))
    throw new Error(`stderr does not start with "berthctl: ": ${stderr}`);
  if (/\n\s+at |\bat .*\.js:\d+/.test(stderr)) throw new Error(`stderr has a stack trace: ${stderr}`);
}
