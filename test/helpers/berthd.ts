// berthd for tests: the real daemon (node dist/src/berthd/main.js) on a private system-like bus
// (./dbus.ts), with its own temp state dir and config, so tests run in parallel without touching
// /run/berth. Everything it made is cleaned up by cleanup(), even after a failed test: the daemon,
// client connections, every container left in the state dir's runtime roots (runtime delete -f), their
// shims, the temp dirs, and the bus when the helper started it. If the test process exits or gets
// SIGINT/SIGTERM/SIGHUP without cleanup(), an atExit() hook does the same; if it is SIGKILLed, berthd
// gets SIGTERM (pdeathsig) and stops.
//
//   import { startBerthd } from "../helpers/berthd.js";
//   const berthd = await startBerthd();
//   t.after(() => berthd.cleanup());
//   const client = await berthd.connect();                 // a dbus-next MessageBus, closed by cleanup()
//   // berthd.address for busctl --address=… / gdbus --address …; berthd.stateDir; berthd.output()
//   await berthd.kill(); await berthd.restart();            // SIGKILL, then a new berthd on the same state
//
// Options: `config` replaces the generated TOML (see testConfig()), `bus` shares a bus you started,
// `env` adds variables, `args` adds command-line arguments. berthd.exited() waits for it to exit by
// itself; berthd.stop() sends SIGTERM; berthd.reload() sends SIGHUP.
//
// A describe() block whose tests share one berthd calls sharedBerthd() in its body instead (see there).

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { callBusDaemon, connectBus, type MessageBus } from "../../src/common/bus.js";
import {
  BUS_NAME,
  CONTAINER_INTERFACE,
  containerPath,
  MANAGER_INTERFACE,
  MANAGER_PATH,
} from "../../src/common/bus-path.js";
import { type Bundle, makeBundle, type SpecOptions } from "../fixtures/bundle.js";
import { atExit } from "../fixtures/exit-cleanup.js";
import { makeTempDir, type TempDir } from "../fixtures/temp.js";
import { callMethod, SignalRecorder, startBus, type TestBus } from "./dbus.js";
import { crun, runc } from "./runtime.js";

/** The checkout root (from dist/test/helpers/). */
export const CHECKOUT = resolve(fileURLToPath(import.meta.url), "../../../..");
export const BERTHD_MAIN = join(CHECKOUT, "dist/src/berthd/main.js");
export const SHIM_PATH = join(CHECKOUT, "shim/berth-shim");

/**
 * The runtimes tests use: the shim tests' runc and crun (test/helpers/runtime.ts; on a hybrid host whose
 * v2 hierarchy holds a controller, crun is a wrapper that hides it, since crun 1.8 refuses such hosts).
 */
export const TEST_RUNTIMES: Record<string, { path: string; args: string[] }> = Object.fromEntries(
  [runc(), crun()].map((runtime) => [runtime.name, { path: runtime.path, args: [...runtime.globalArgs] }]),
);

/** The TOML berthd gets unless a test passes its own. */
export function testConfig(
  overrides: { maxConcurrentStarts?: number; defaultRuntime?: string } = {},
): string {
  const lines = [
    `default_runtime = "${overrides.defaultRuntime ?? "runc"}"`,
    `default_log_driver = "file"`,
    `max_concurrent_starts = ${overrides.maxConcurrentStarts ?? 10}`,
    `cgroup_driver = "cgroupfs"`,
    `shim_path = "${SHIM_PATH}"`,
  ];
  for (const [name, runtime] of Object.entries(TEST_RUNTIMES)) {
    lines.push(`[runtimes.${name}]`, `path = "${runtime.path}"`, `args = ${JSON.stringify(runtime.args)}`);
  }
  return `${lines.join("\n")}\n`;
}

export interface BerthdOptions {
  /** TOML text for the config file; default testConfig(). */
  config?: string;
  /** A bus to share; default: a new one, stopped by cleanup(). */
  bus?: TestBus;
  /** Extra environment for berthd (e.g. BERTHD_LOG_LEVEL=debug). */
  env?: Record<string, string>;
  /** Extra command-line arguments. */
  args?: string[];
}

export interface TestBerthd {
  readonly bus: TestBus;
  /** The bus address (busctl --address=…, gdbus --address …). */
  readonly address: string;
  /** berthd's --state-dir. */
  readonly stateDir: string;
  /** berthd's --config file; rewrite it and reload() to test SIGHUP. */
  readonly configPath: string;
  /** The running berthd's pid (changes on restart). */
  readonly pid: number;
  /** Everything berthd wrote to stdout and stderr so far, over all its runs. */
  output(): string;
  /** A new dbus-next client connection (fd passing negotiated), disconnected by cleanup(). */
  connect(): Promise<MessageBus>;
  /** SIGTERM; resolves with the exit code once berthd has exited. */
  stop(): Promise<number | null>;
  /** Waits (without signalling) for berthd to exit by itself; resolves with its exit code (null if killed). */
  exited(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL; resolves once it has exited. */
  kill(): Promise<void>;
  /** SIGHUP (config reload). */
  reload(): void;
  /** Starts a new berthd on the same bus, state dir and config, and waits until it owns the name. */
  restart(): Promise<void>;
  /**
   * Waits until the running berthd logged "ready: serving", which it does once its private socket
   * listens too (startBerthd() and restart() wait only for the bus name).
   */
  serving(timeoutMs?: number): Promise<void>;
  /** Stops everything this helper made; safe to call twice. */
  cleanup(): Promise<void>;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => resolvePromise(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolvePromise(true);
    });
  });
}

/** Waits until `name` has an owner on the bus (`child` itself, when given), failing early when `child` exits. */
export async function waitForName(
  client: MessageBus,
  child: ChildProcess | undefined,
  describe: () => string,
  timeoutMs = 20_000,
  name = BUS_NAME,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [owned] = await callBusDaemon(client, "NameHasOwner", "s", [name]);
    // With a child, the owner must be that process (not a predecessor whose connection is closing).
    if (owned === true && child === undefined) return;
    if (owned === true) {
      const [pid] = await callBusDaemon(client, "GetConnectionUnixProcessID", "s", [name]).catch(() => [0]);
      if (pid === child!.pid) return;
    }
    if (child !== undefined && exited(child)) {
      throw new Error(
        `berthd exited (${child.exitCode ?? child.signalCode}) before owning ${name}:\n${describe()}`,
      );
    }
    if (Date.now() > deadline) throw new Error(`${name} not owned after ${timeoutMs} ms:\n${describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Deletes every container in `<stateDir>/runtime/<name>` and kills the shims recorded in the state dir.
 * Synchronous, so the exit hook below can run it too.
 */
export function removeLeftovers(stateDir: string): void {
  const runtimeDir = join(stateDir, "runtime");
  for (const name of existsSync(runtimeDir) ? readdirSync(runtimeDir) : []) {
    const runtime = TEST_RUNTIMES[name];
    if (runtime === undefined) continue;
    const root = join(runtimeDir, name);
    for (const entry of readdirSync(root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      try {
        execFileSync(runtime.path, [...runtime.args, "--root", root, "delete", "-f", entry.name], {
          stdio: "ignore",
          timeout: 10_000,
        });
      } catch {}
    }
  }
  const containersDir = join(stateDir, "containers");
  for (const id of existsSync(containersDir) ? readdirSync(containersDir) : []) {
    const dirs = [join(containersDir, id)];
    const processes = join(containersDir, id, "processes");
    if (existsSync(processes)) dirs.push(...readdirSync(processes).map((execId) => join(processes, execId)));
    for (const dir of dirs) killShim(join(dir, "shim.pid"));
  }
}

/** SIGKILLs the shim whose pid is in `pidFile`, if that pid still is a berth-shim. */
function killShim(pidFile: string): void {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, "utf8"), 10);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (cmdline.includes("berth-shim")) process.kill(pid, "SIGKILL");
  } catch {}
}

/** Starts berthd and waits until it owns org.berth.Supervisor1. */
export async function startBerthd(options: BerthdOptions = {}): Promise<TestBerthd> {
  const ownBus = options.bus === undefined;
  const bus = options.bus ?? (await startBus());
  const dir: TempDir = makeTempDir("berthd");
  const stateDir = join(dir.path, "state");
  // If the test process ends without cleanup() (a crash, a runner's SIGTERM): kill berthd and its
  // containers. Registered after the temp dir, so it runs before that dir (holding the state) goes.
  const unregisterLastResort = atExit(() => {
    if (child !== undefined && !exited(child)) child.kill("SIGKILL");
    removeLeftovers(stateDir);
  });
  const configPath = join(dir.path, "berthd.toml");
  writeFileSync(configPath, options.config ?? testConfig());
  let output = "";
  let child: ChildProcess | undefined;
  const clients: MessageBus[] = [];
  let watcher: MessageBus | undefined;
  let cleaned = false;

  /** Where the running berthd's output starts in `output`. */
  let runStart = 0;

  const spawnBerthd = (): ChildProcess => {
    runStart = output.length;
    // setpriv --pdeathsig: berthd gets SIGTERM if the test process dies without cleaning up.
    const next = spawn(
      "setpriv",
      [
        "--pdeathsig",
        "SIGTERM",
        process.execPath,
        BERTHD_MAIN,
        "--bus-address",
        bus.address,
        "--state-dir",
        stateDir,
        "--config",
        configPath,
        ...(options.args ?? []),
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, JOURNAL_STREAM: "", ...options.env } },
    );
    next.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    next.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    return next;
  };

  const waitUntilServing = async (current: ChildProcess): Promise<void> => {
    watcher ??= await connectBus(bus.address);
    await waitForName(watcher, current, () => output);
  };

  const kill = async (): Promise<void> => {
    if (child !== undefined && !exited(child)) {
      child.kill("SIGKILL");
      await waitForExit(child, 5000);
    }
  };

  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    for (const client of clients.splice(0)) client.disconnect();
    watcher?.disconnect();
    if (child !== undefined && !exited(child)) {
      child.kill("SIGTERM");
      if (!(await waitForExit(child, 5000))) await kill();
    }
    removeLeftovers(stateDir);
    unregisterLastResort();
    await dir.remove();
    if (ownBus) await bus.stop();
  };

  const handle: TestBerthd = {
    bus,
    address: bus.address,
    stateDir,
    configPath,
    get pid() {
      return child?.pid ?? 0;
    },
    output: () => output,
    async connect() {
      const client = await connectBus(bus.address);
      clients.push(client);
      return client;
    },
    async stop() {
      if (child === undefined) return null;
      if (!exited(child)) {
        child.kill("SIGTERM");
        if (!(await waitForExit(child, 10_000)))
          throw new Error(`berthd ignored SIGTERM for 10 s:\n${output}`);
      }
      return child.exitCode;
    },
    kill,
    async exited(timeoutMs = 10_000) {
      if (child === undefined) return null;
      if (!(await waitForExit(child, timeoutMs)))
        throw new Error(`berthd still runs after ${timeoutMs} ms:\n${output}`);
      return child.exitCode;
    },
    reload() {
      child?.kill("SIGHUP");
    },
    async serving(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!output.slice(runStart).includes("ready: serving")) {
        if (Date.now() > deadline) throw new Error(`berthd not serving after ${timeoutMs} ms:\n${output}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async restart() {
      if (child !== undefined && !exited(child)) throw new Error("restart(): berthd is still running");
      child = spawnBerthd();
      await waitUntilServing(child);
    },
    cleanup,
  };

  try {
    child = spawnBerthd();
    await waitUntilServing(child);
  } catch (error) {
    await cleanup();
    throw error;
  }
  return handle;
}

/** The berthd, client, signal record and bundles a describe() block's tests share (see sharedBerthd()). */
export interface SharedBerthd {
  readonly berthd: TestBerthd;
  /** berthd.address: the bus address, for berthctl, busctl and gdbus. */
  readonly address: string;
  /** A client connected in before(). */
  readonly client: MessageBus;
  /** Every signal berthd emitted since before(). */
  readonly signals: SignalRecorder;
  /** A new bundle, removed in after(). */
  bundle(options: SpecOptions): Promise<Bundle>;
  /** A Manager method's reply body. */
  manager(member: string, signature?: string, body?: unknown[]): Promise<unknown[]>;
  /** A container's method's reply body. */
  container(id: string, member: string, signature?: string, body?: unknown[]): Promise<unknown[]>;
}

/**
 * Registers before() and after() hooks on the describe() block it is called in: before() starts berthd
 * (with `options()`, read then, so it may name a bus an earlier hook started) and a client recording
 * signals; after() runs even when a test or before() failed, and stops berthd, its clients, every
 * container and shim, and the bus unless `options()` named one (berthd.cleanup()), then removes the
 * bundles made through bundle(). test/helpers/shared-berthd.test.ts checks that.
 *
 *   describe("…", () => {
 *     const daemon = sharedBerthd();
 *     test("…", async () => {
 *       const bundle = await daemon.bundle({ args: ["sleep", "60"] });
 *       await daemon.manager("RunContainer", "ssa{sv}", [uniqueId("x"), bundle.path, {}]);
 *       await daemon.signals.waitFor((s) => s.member === "ContainerNew");
 *     });
 *   });
 */
export function sharedBerthd(options: () => BerthdOptions = () => ({})): SharedBerthd {
  let berthd: TestBerthd | undefined;
  let client: MessageBus | undefined;
  let signals: SignalRecorder | undefined;
  const bundles: Bundle[] = [];
  before(async () => {
    berthd = await startBerthd(options());
    client = await berthd.connect();
    signals = await SignalRecorder.start(client);
  });
  after(async () => {
    await berthd?.cleanup();
    for (const made of bundles.splice(0)) await made.remove();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("sharedBerthd: used outside a test (before() has not run)");
    return value;
  };
  return {
    get berthd() {
      return started(berthd);
    },
    get address() {
      return started(berthd).address;
    },
    get client() {
      return started(client);
    },
    get signals() {
      return started(signals);
    },
    async bundle(spec) {
      const made = await makeBundle(spec);
      bundles.push(made);
      return made;
    },
    manager: (member, signature = "", body = []) =>
      callMethod(started(client), MANAGER_PATH, MANAGER_INTERFACE, member, signature, body),
    container: (id, member, signature = "", body = []) =>
      callMethod(started(client), containerPath(id), CONTAINER_INTERFACE, member, signature, body),
  };
}
