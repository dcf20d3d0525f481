// A real systemd for tests on a machine whose PID 1 is not systemd: systemd 252 booted as PID 1 of
// private pid + mount + uts + ipc + cgroup namespaces over an overlay of the host root (boot.sh has
// the recipe, docs/systemd.md the why). Used by tests, the demo and benchmarks:
//
//   const sandbox = new Sandbox();
//   await sandbox.up();                       // booted, "running", dbus up
//   const r = await sandbox.exec("systemctl", ["is-active", "dbus.service"]);
//   const bus = await connectBus(sandbox.busAddress);
//   await sandbox.down();                     // no process, mount, cgroup or file left behind
//
// Each sandbox has its own temp dir and its own cgroups (named after the temp dir), so any number can
// run at once. Files handed to the sandbox go in `sharedDir`, which has the same path inside and out.

import { spawn } from "node:child_process";
import {
  closeSync,
  type Dirent,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { constants, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The project checkout this module belongs to (dist/test/sandbox/ → three levels up). */
export const CHECKOUT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const BOOT_SCRIPT = join(CHECKOUT, "test/sandbox/boot.sh");

/** A clean environment for commands inside: nothing of the caller's (NOTIFY_SOCKET, bus addresses) leaks in. */
const INSIDE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** What exec()'s wrapper says when it cannot join the sandbox's cgroups (125 alone is also env's). */
const JOIN_FAILED = "berth-sandbox: cannot join the cgroups";

export class SandboxError extends Error {}

export interface ExecResult {
  /** Exit status; 128+N for a command killed by signal N. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Extra environment variables (PATH and LANG=C.UTF-8 are set already). */
  env?: Record<string, string>;
  /** Working directory inside; default "/". */
  cwd?: string;
  /** Run as this user of the sandbox (e.g. one made with useradd there), with its groups; default root. */
  user?: string;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Killed (and a SandboxError thrown) after this long; default 60 s. */
  timeoutMs?: number;
}

export interface SandboxOptions {
  /** How long up() waits for "running"; default 60 s. */
  bootTimeoutMs?: number;
}

/** What a sandbox needs to be found again by another process (the CLI). */
interface SandboxState {
  dir: string;
  pid: number;
  /** processIdentity() of the process whose exit tears it down; absent once released. */
  owner?: string;
}

const liveSandboxes = new Set<Sandbox>();
let exitHookInstalled = false;

function killAllAtExit(): void {
  for (const sandbox of liveSandboxes) sandbox.killNow();
}

export class Sandbox {
  private state: SandboxState | undefined;
  private readonly bootTimeoutMs: number;

  constructor(options: SandboxOptions = {}) {
    this.bootTimeoutMs = options.bootTimeoutMs ?? 60_000;
  }

  /** Takes over a sandbox booted by another process, e.g. `cli.js up`, from its dir. */
  static attach(dir: string): Sandbox {
    const sandbox = new Sandbox();
    sandbox.state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as SandboxState;
    return sandbox;
  }

  /** Stops watching a sandbox so that it outlives this process (the exit hook leaves it alone). */
  static release(sandbox: Sandbox): void {
    liveSandboxes.delete(sandbox);
    const state = sandbox.booted();
    delete state.owner;
    writeFileSync(join(state.dir, "state.json"), JSON.stringify(state));
  }

  /**
   * Tears down sandboxes whose owner died without doing it (SIGKILL skips every hook); up() calls
   * this first. Released sandboxes (cli.js up) are never touched.
   */
  static async collectOrphans(): Promise<void> {
    for (const name of await readdir(tmpdir())) {
      if (!name.startsWith("berth-sandbox-")) continue;
      let state: SandboxState;
      try {
        state = JSON.parse(await readFile(join(tmpdir(), name, "state.json"), "utf8")) as SandboxState;
      } catch {
        continue; // still booting, or not a sandbox dir
      }
      const ownerPid = Number(state.owner?.split(":")[0]);
      if (state.owner === undefined || processIdentity(ownerPid) === state.owner) continue;
      const orphan = new Sandbox();
      orphan.state = state;
      await orphan.down();
    }
  }

  /** Host pid of the sandbox's PID 1 (systemd). */
  get pid(): number {
    return this.booted().pid;
  }

  /** The sandbox's temp dir on the host. */
  get dir(): string {
    return this.booted().dir;
  }

  /** A dir with the same path on the host and inside, for bundles and other files handed in. */
  get sharedDir(): string {
    return join(this.booted().dir, "shared");
  }

  /** The sandbox's system bus, reachable from the host. */
  get busAddress(): string {
    return `unix:path=/proc/${this.booted().pid}/root/run/dbus/system_bus_socket`;
  }

  /** Boots the sandbox and waits until systemd says running (or degraded: the failed units are printed). */
  async up(): Promise<void> {
    if (this.state !== undefined) throw new SandboxError("sandbox: already up");
    await Sandbox.collectOrphans();
    if (existsSync("/sys/fs/cgroup/cgroup.controllers")) {
      // boot.sh lays out cgroups the way a v1 or hybrid host has them; a pure v2 host needs its own layout.
      throw new SandboxError("sandbox: pure cgroup v2 hosts are not supported yet (this one has v2 only)");
    }
    const dir = mkdtempSync(join(tmpdir(), "berth-sandbox-"));
    mkdirSync(join(dir, "t"));
    mkdirSync(join(dir, "shared"));
    const consoleFd = openSync(join(dir, "console.log"), "a");
    // Its own session and no pipe to us: the sandbox may outlive this process (cli.js up), and a
    // full pipe must never stall systemd's console output.
    const outer = spawn("/bin/sh", [BOOT_SCRIPT, "outer", dir, CHECKOUT], {
      detached: true,
      stdio: ["ignore", consoleFd, consoleFd],
      env: { PATH: INSIDE_PATH },
    });
    closeSync(consoleFd);
    outer.unref();
    const outerPid = outer.pid;
    if (outerPid === undefined) throw new SandboxError("sandbox: cannot run /bin/sh");
    // PID 1 gets a state even before it is known so a failed boot is still torn down.
    this.state = { dir, pid: 0, owner: processIdentity(process.pid) };
    this.track();
    const deadline = Date.now() + this.bootTimeoutMs;
    try {
      this.state.pid = await findInit(outerPid, deadline, dir);
      await writeFile(join(dir, "state.json"), JSON.stringify(this.state));
      await this.waitRunning(deadline);
      // The bus is socket-activated; starting it now makes the first client's call fast and certain.
      await this.execOk("systemctl", ["start", "dbus.service"]);
    } catch (error) {
      await this.down();
      throw error;
    }
  }

  /**
   * Runs `cmd args` inside (all of the sandbox's namespaces and its cgroups). Never throws for a
   * non-zero exit; throws SandboxError when the command cannot run or times out. It returns once the
   * command's stdout and stderr close: a command that leaves a process holding them (`runc run -d`,
   * a daemon) must redirect them.
   */
  exec(cmd: string, args: string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    const { dir, pid } = this.booted();
    // Join the sandbox's cgroups first: systemd inside can only move (into scopes) processes that are
    // in its own cgroup namespace, and every process inside dies with the sandbox.
    const cgroups = readFileSync(join(dir, "cgroups"), "utf8").trim().split("\n");
    const joinCgroups = cgroups
      .map((cg) => `echo $$ >'${cg}/cgroup.procs' || { echo '${JOIN_FAILED}' >&2; exit 125; }`)
      .join("; ");
    // -r and -w take PID 1's root and cwd: a path given to --wd would be looked up on the host.
    const script = `${joinCgroups}; exec nsenter -t ${pid} -m -p -u -i -C -r -w -- "$@"`;
    let command = [cmd, ...args];
    if (options.user !== undefined) {
      const drop = 'exec setpriv --reuid="$0" --regid="$(id -g "$0")" --init-groups -- "$@"';
      command = ["sh", "-c", drop, options.user, ...command];
    }
    if (options.cwd !== undefined) command = ["env", "-C", options.cwd, ...command];
    const timeoutMs = options.timeoutMs ?? 60_000;
    return new Promise((resolvePromise, reject) => {
      const child = spawn("/bin/sh", ["-c", script, "sh", ...command], {
        stdio: ["pipe", "pipe", "pipe"],
        env: { PATH: INSIDE_PATH, LANG: "C.UTF-8", ...options.env },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
      });
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
      });
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(
          new SandboxError(`sandbox: ${cmd} ${args.join(" ")} timed out after ${timeoutMs} ms: ${stderr}`),
        );
      }, timeoutMs);
      child.on("error", (error) => {
        clearTimeout(timer);
        reject(new SandboxError(`sandbox: cannot run ${cmd}: ${error.message}`));
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (code === 125 && stderr.includes(JOIN_FAILED)) {
          reject(new SandboxError(`sandbox: cannot join the sandbox's cgroups: ${stderr}`));
        } else resolvePromise({ code: code ?? 128 + signalNumber(signal), stdout, stderr });
      });
      // A command that exits without reading its input is not an error.
      child.stdin.on("error", () => {});
      child.stdin.end(options.input ?? "");
    });
  }

  /** exec() that throws SandboxError (with stderr) unless the command exits 0; returns stdout. */
  async execOk(cmd: string, args: string[] = [], options: ExecOptions = {}): Promise<string> {
    const result = await this.exec(cmd, args, options);
    if (result.code !== 0) {
      throw new SandboxError(
        `sandbox: ${cmd} ${args.join(" ")} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`,
      );
    }
    return result.stdout;
  }

  /**
   * Tears the sandbox down: SIGKILL to its PID 1 (the kernel then kills every process in the pid
   * namespace, and the mounts go with the mount namespace), then its cgroups and temp dir are removed.
   * Safe to call twice.
   */
  async down(): Promise<void> {
    const state = this.state;
    if (state === undefined) return;
    const deadline = Date.now() + 10_000;
    if (state.pid !== 0) {
      signal(state.pid, "SIGKILL");
      // Gone means reaped, which the kernel does only once every process of the namespace is dead.
      while (existsSync(`/proc/${state.pid}`) && Date.now() < deadline) {
        thaw(state.dir);
        await sleep(20);
      }
    } else {
      await killOrphanBoot(state.dir);
    }
    await removeCgroups(state.dir, deadline);
    await rm(state.dir, { recursive: true, force: true, maxRetries: 3 });
    this.state = undefined;
    liveSandboxes.delete(this);
  }

  /** Synchronous last resort at process exit: kill PID 1, try to remove the cgroups and the dir. */
  killNow(): void {
    const state = this.state;
    if (state === undefined) return;
    if (state.pid !== 0) signal(state.pid, "SIGKILL");
    const deadline = Date.now() + 3_000;
    for (const cg of readCgroupList(state.dir)) {
      while (!removeTreeSync(cg) && Date.now() < deadline) {
        // The kernel is still killing the namespace's processes: spin briefly.
        thaw(state.dir);
      }
    }
    rmSync(state.dir, { recursive: true, force: true });
    this.state = undefined;
  }

  private track(): void {
    liveSandboxes.add(this);
    if (!exitHookInstalled) {
      process.on("exit", killAllAtExit);
      // A test runner stops a file that overran its time with a signal, and the default action skips
      // "exit" hooks: tear down first, then die of the same signal as before.
      for (const name of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(name, () => {
          killAllAtExit();
          process.kill(process.pid, name);
        });
      }
      exitHookInstalled = true;
    }
  }

  private booted(): SandboxState {
    if (this.state === undefined || this.state.pid === 0) throw new SandboxError("sandbox: not up");
    return this.state;
  }

  private async waitRunning(deadline: number): Promise<void> {
    let last = "";
    while (Date.now() < deadline) {
      const result = await this.exec("systemctl", ["is-system-running"], { timeoutMs: 10_000 });
      last = result.stdout.trim() || result.stderr.trim();
      if (last === "running") return;
      if (last === "degraded") {
        const failed = await this.exec("systemctl", ["--failed", "--plain", "--no-legend", "--no-pager"]);
        process.stderr.write(`sandbox: booted degraded; failed units:\n${failed.stdout}`);
        return;
      }
      await sleep(100);
    }
    throw new SandboxError(
      `sandbox: systemd did not reach "running" in ${this.bootTimeoutMs} ms (last state: "${last}"); ` +
        `console:\n${tail(join(this.booted().dir, "console.log"))}`,
    );
  }
}

/** "pid:start time": a pid alone could have been reused by another process since. */
function processIdentity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces); the start time is field 22.
    const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    return `${pid}:${start}`;
  } catch {
    return undefined;
  }
}

/** The sandbox's PID 1 is the only child of the unshare that boot.sh's outer stage execs into. */
async function findInit(outerPid: number, deadline: number, dir: string): Promise<number> {
  while (Date.now() < deadline) {
    let comm: string;
    try {
      comm = (await readFile(`/proc/${outerPid}/comm`, "utf8")).trim();
    } catch {
      break;
    }
    if (comm === "unshare") {
      const children = (await readFile(`/proc/${outerPid}/task/${outerPid}/children`, "utf8")).trim();
      if (children !== "") return Number(children.split(" ")[0]);
    }
    await sleep(20);
  }
  throw new SandboxError(`sandbox: boot failed; console:\n${tail(join(dir, "console.log"))}`);
}

/** A boot that failed before PID 1 was known: its processes are in the sandbox's cgroups. */
async function killOrphanBoot(dir: string): Promise<void> {
  for (const cg of readCgroupList(dir)) {
    for (const pid of await cgroupPids(cg)) signal(pid, "SIGKILL");
  }
}

function readCgroupList(dir: string): string[] {
  try {
    return readFileSync(join(dir, "cgroups"), "utf8")
      .split("\n")
      .filter((line) => line !== "");
  } catch {
    return [];
  }
}

async function cgroupPids(cg: string): Promise<number[]> {
  const pids: number[] = [];
  const walk = async (path: string): Promise<void> => {
    const text = await readFile(join(path, "cgroup.procs"), "utf8").catch(() => "");
    for (const line of text.split("\n")) if (line !== "") pids.push(Number(line));
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) if (entry.isDirectory()) await walk(join(path, entry.name));
  };
  await walk(cg);
  return pids;
}

/** Removes each cgroup tree, deepest first, retrying while the kernel finishes killing processes. */
async function removeCgroups(dir: string, deadline: number): Promise<void> {
  for (const cg of readCgroupList(dir)) {
    for (;;) {
      try {
        await removeTree(cg);
        break;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new SandboxError(`sandbox: cannot remove cgroup ${cg}: ${(error as Error).message}`);
        }
        thaw(dir);
        await sleep(50);
      }
    }
  }
}

async function removeTree(path: string): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  for (const entry of entries) if (entry.isDirectory()) await removeTree(join(path, entry.name));
  try {
    await rmdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

function removeTreeSync(path: string): boolean {
  if (!existsSync(path)) return true;
  try {
    for (const entry of readdirSync(path)) removeTreeSync(join(path, entry));
    rmdirSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Thaws every frozen cgroup of the sandbox: a frozen process cannot die, and runc's systemd driver
 * freezes a container's cgroup while it applies limits (a runc killed then leaves it frozen).
 */
function thaw(dir: string): void {
  const walk = (path: string, file: string, value: string): void => {
    try {
      writeFileSync(join(path, file), value);
      for (const entry of readdirSync(path, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(join(path, entry.name), file, value);
      }
    } catch {
      // Removed meanwhile: nothing to thaw.
    }
  };
  for (const cg of readCgroupList(dir)) {
    if (cg.startsWith("/sys/fs/cgroup/freezer/")) walk(cg, "freezer.state", "THAWED");
    else if (cg.startsWith("/sys/fs/cgroup/unified/")) walk(cg, "cgroup.freeze", "0");
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

function signalNumber(name: NodeJS.Signals | null): number {
  if (name === null) return 0;
  return constants.signals[name] ?? 0;
}

function tail(path: string): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-30).join("\n");
  } catch {
    return "(no console log)";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
