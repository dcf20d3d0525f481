// Running berth-shim in tests: one ShimEnv per container, with its own temp state dir and runtime
// --root, the shim's command line built from options as docs/shim.md defines it, waits for the
// files the shim writes, the runtime commands berthd would make (start, kill, delete -f, state),
// and a cleanup that leaves no container, shim or temp dir behind even when the test fails.
//
//   const env = await ShimEnv.create(t, { runtime: runc() });    // cleanup registered with t.after
//   const bundle = await makeBundle({ args: ["sh", "-c", "exit 3"] });
//   t.after(() => bundle.remove());
//   await env.createWithShim({ bundle: bundle.path });   // the first process reported "created"
//   await env.start();
//   assert.equal((await env.waitExit()).exit_code, 3);
//
// ShimEnv.started(t, { args: ["sleep", "1000"] }) takes those five steps for a test that needs nothing
// between them.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { LogDriver } from "../../src/common/types.js";
import { makeBundle } from "../fixtures/bundle.js";
import { atExit } from "../fixtures/exit-cleanup.js";
import type { OciProcess, SpecOptions } from "../fixtures/oci-spec.js";
import { makeTempDir, uniqueId } from "../fixtures/temp.js";
import { waitShimGone } from "./fifo.js";
import { processAlive, processesMentioning } from "./proc.js";
import { type CommandResult, type Runtime, runc, runtimeCommand } from "./runtime.js";
import { waitForFile } from "./wait.js";

/** The shim `make -C shim` builds in this checkout (dist/test/helpers → repo root); BERTH_SHIM overrides. */
export const SHIM_PATH =
  process.env.BERTH_SHIM ?? resolve(dirname(fileURLToPath(import.meta.url)), "../../../shim/berth-shim");

/** exit.json as docs/shim.md defines it. */
export interface ExitRecord {
  pid: number;
  exit_code: number;
  signal: number;
  exited_at: number;
  oom_killed: boolean;
}

export interface ShimOptions {
  /** Create mode: the bundle directory. */
  bundle?: string;
  /** Create mode: --start, the shim runs the runtime's start too. */
  start?: boolean;
  /** Exec mode: the exec id; the state dir is <state>/processes/<execId>. */
  execId?: string;
  /** Exec mode: written to process.json before the shim starts. */
  process?: OciProcess;
  terminal?: boolean;
  stdin?: boolean;
  logDriver?: LogDriver;
  logPath?: string;
  name?: string;
  /** Extra environment for the shim (e.g. BERTH_JOURNAL_SOCKET). */
  env?: Record<string, string>;
  /** A command the shim runs under, e.g. valgrind and its options. */
  wrapper?: string[];
  /** The shim binary; default SHIM_PATH. */
  shim?: string;
  /** How long the first process may take before it is killed and the run fails; default 30 s. */
  timeoutMs?: number;
}

/** How the shim's first process ended. */
export interface ShimRun {
  /** Its pid. */
  pid: number;
  /** Exit status, or null when it died of a signal (see `signal`). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Whether its stdout and stderr reached EOF when it exited (false: they leaked into a process that lives on). */
  stdioClosed: boolean;
  /** The state dir this run used. */
  stateDir: string;
}

/** Something that runs cleanups after a test, pass or fail: node:test's TestContext. */
export interface AfterHook {
  after(fn: () => unknown): void;
}

export interface ShimEnvOptions {
  /** Default: runc. */
  runtime?: Runtime;
  /** Container id; default uniqueId("shim"). */
  id?: string;
}

async function readPidFile(path: string): Promise<number> {
  const pid = Number((await readFile(path, "utf8")).trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`${path} holds no pid`);
  return pid;
}

/** One container's world for a shim test: temp dir, state dir, runtime root, and their cleanup. */
export class ShimEnv {
  readonly id: string;
  readonly runtime: Runtime;
  /** The temp dir holding everything below; every process mentioning it is ours. */
  readonly dir: string;
  /** The container's state dir (what berthd makes as /run/berth/containers/<id>). */
  readonly stateDir: string;
  /** The runtime's --root. */
  readonly runtimeRoot: string;
  private readonly firstProcesses = new Set<ChildProcess>();

  private constructor(id: string, runtime: Runtime, dir: string) {
    this.id = id;
    this.runtime = runtime;
    this.dir = dir;
    this.stateDir = join(dir, "state");
    this.runtimeRoot = join(dir, "runtime-root");
  }

  /**
   * Makes the temp dirs and registers the cleanup with `t.after`, and a last-resort one for a test
   * process that ends without running its hooks.
   */
  static async create(t: AfterHook, options: ShimEnvOptions = {}): Promise<ShimEnv> {
    const temp = makeTempDir("shim");
    const env = new ShimEnv(options.id ?? uniqueId("shim"), options.runtime ?? runc(), temp.path);
    const unregister = atExit(() => env.killEverythingNow());
    t.after(async () => {
      await env.cleanup();
      unregister();
      await temp.remove();
    });
    await mkdir(env.stateDir);
    await mkdir(env.runtimeRoot);
    return env;
  }

  /** create(), then a container from a new bundle of `spec` (removed after the test) under its shim, started. */
  static async started(t: AfterHook, spec: SpecOptions, options: ShimEnvOptions = {}): Promise<ShimEnv> {
    const env = await ShimEnv.create(t, options);
    const bundle = await makeBundle(spec);
    t.after(() => bundle.remove());
    await env.createWithShim({ bundle: bundle.path });
    await env.start();
    return env;
  }

  /** The state dir of the container (no execId) or of one exec'd process. */
  stateDirOf(execId?: string): string {
    return execId === undefined ? this.stateDir : join(this.stateDir, "processes", execId);
  }

  /** The shim's command line (without the program) for `options`. */
  shimArgs(options: ShimOptions): string[] {
    const args = ["--id", this.id, "--state-dir", this.stateDirOf(options.execId)];
    args.push("--runtime", this.runtime.path, "--runtime-root", this.runtimeRoot);
    for (const arg of this.runtime.globalArgs) args.push("--runtime-arg", arg);
    if (options.bundle !== undefined) args.push("--bundle", options.bundle);
    if (options.start) args.push("--start");
    if (options.execId !== undefined) args.push("--exec-id", options.execId);
    if (options.name !== undefined) args.push("--name", options.name);
    if (options.terminal) args.push("--terminal");
    if (options.stdin) args.push("--stdin");
    if (options.logDriver !== undefined) args.push("--log-driver", options.logDriver);
    if (options.logPath !== undefined) args.push("--log-path", options.logPath);
    return args;
  }

  /** Makes the state dir `options` needs (and writes process.json for an exec). */
  async prepareStateDir(options: ShimOptions): Promise<string> {
    const stateDir = this.stateDirOf(options.execId);
    await mkdir(stateDir, { recursive: true });
    if (options.process !== undefined) {
      await writeFile(join(stateDir, "process.json"), JSON.stringify(options.process));
    }
    return stateDir;
  }

  /** Runs the shim's first process to its exit (created, or failed) and returns how it ended. */
  async runShim(options: ShimOptions): Promise<ShimRun> {
    const stateDir = await this.prepareStateDir(options);
    const [program, ...programArgs] = [
      ...(options.wrapper ?? []),
      options.shim ?? SHIM_PATH,
      ...this.shimArgs(options),
    ];
    const child = spawn(program, programArgs, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
    });
    this.firstProcesses.add(child);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    const closed = new Promise((r) => child.on("close", r));
    const timeoutMs = options.timeoutMs ?? 30_000;
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done, fail) => {
      child.on("error", fail);
      child.on("exit", (c, s) => done([c, s]));
    });
    clearTimeout(timer);
    // The first process's stdio must not leak into the long-lived shim or the container; if it did,
    // the pipes would stay open: give them a moment to end, then stop listening.
    let grace: NodeJS.Timeout | undefined;
    const stdioClosed = await Promise.race([
      closed.then(() => true),
      new Promise<boolean>((r) => {
        grace = setTimeout(() => r(false), 1000);
      }),
    ]);
    clearTimeout(grace);
    child.stdout.destroy();
    child.stderr.destroy();
    this.firstProcesses.delete(child);
    const run = {
      pid: child.pid!,
      code,
      signal,
      stdout: Buffer.concat(stdout).toString("utf8"),
      stderr: Buffer.concat(stderr).toString("utf8"),
      stdioClosed,
      stateDir,
    };
    if (signal === "SIGKILL" && code === null) {
      throw new Error(`berth-shim did not exit within ${timeoutMs} ms; stderr: ${run.stderr}`);
    }
    return run;
  }

  /** Runs the shim and fails unless the first process reports "created" (exit 0). */
  async createWithShim(options: ShimOptions): Promise<ShimRun> {
    const run = await this.runShim(options);
    if (run.code !== 0) {
      throw new Error(`berth-shim exited ${run.code ?? run.signal}: ${run.stderr.trim()}`);
    }
    return run;
  }

  /** `<runtime> --root <ours> <args…>`. */
  runtimeCommand(args: string[]): Promise<CommandResult> {
    return runtimeCommand(this.runtime, this.runtimeRoot, args);
  }

  private async mustRun(args: string[]): Promise<CommandResult> {
    const result = await this.runtimeCommand(args);
    if (result.code !== 0) {
      throw new Error(
        `${this.runtime.name} ${args.join(" ")} failed (${result.code}): ${result.stderr.trim()}`,
      );
    }
    return result;
  }

  /** `runtime start <id>`: the created container's process runs. */
  async start(): Promise<void> {
    await this.mustRun(["start", this.id]);
  }

  /** `runtime kill <id> <signal>` (e.g. "KILL", "TERM", "9"). */
  async kill(signal: string): Promise<void> {
    await this.mustRun(["kill", this.id, signal]);
  }

  /** `runtime delete -f <id>`; the result, since the container may already be gone. */
  deleteForce(): Promise<CommandResult> {
    return this.runtimeCommand(["delete", "-f", this.id]);
  }

  /** `runtime state <id>` parsed, or undefined when the runtime does not know the container. */
  async state(): Promise<{ status: string; pid: number } | undefined> {
    const result = await this.runtimeCommand(["state", this.id]);
    return result.code === 0 ? JSON.parse(result.stdout) : undefined;
  }

  /** The long-lived shim's pid from shim.pid. */
  shimPid(execId?: string): Promise<number> {
    return readPidFile(join(this.stateDirOf(execId), "shim.pid"));
  }

  /** The process's pid from init.pid (written by the runtime). */
  initPid(execId?: string): Promise<number> {
    return readPidFile(join(this.stateDirOf(execId), "init.pid"));
  }

  /** Waits for exit.json and parses it. */
  async waitExit(execId?: string, timeoutMs = 15_000): Promise<ExitRecord> {
    const path = join(this.stateDirOf(execId), "exit.json");
    await waitForFile(path, timeoutMs);
    return JSON.parse(await readFile(path, "utf8"));
  }

  /** Waits until the shim has exited (its exit.fifo reports EOF). */
  waitShimGone(execId?: string, timeoutMs = 10_000): Promise<void> {
    return waitShimGone(this.stateDirOf(execId), timeoutMs);
  }

  /**
   * Leaves nothing behind: first processes still running, the container (delete -f), then shims and
   * any other process whose command line mentions our temp dir (given a moment to exit on their own
   * once the container is gone, then SIGKILL). Never throws: it runs after failed tests too.
   */
  async cleanup(): Promise<void> {
    for (const child of this.firstProcesses) child.kill("SIGKILL");
    await this.deleteForce().catch(() => undefined);
    const deadline = Date.now() + 3000;
    let pids = processesMentioning(this.dir);
    while (pids.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      pids = pids.filter(processAlive);
    }
    this.killProcessesMentioningDir();
  }

  /** The synchronous last resort, as the process ends: delete -f the container, SIGKILL the rest. */
  private killEverythingNow(): void {
    try {
      execFileSync(
        this.runtime.path,
        [...this.runtime.globalArgs, "--root", this.runtimeRoot, "delete", "-f", this.id],
        {
          stdio: "ignore",
          timeout: 10_000,
        },
      );
    } catch {
      // no such container
    }
    this.killProcessesMentioningDir();
  }

  private killProcessesMentioningDir(): void {
    for (const pid of processesMentioning(this.dir)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}
