// What the tests in test/systemd/ (and bench/restart.ts) share: unit properties, polling (these two also
// for test/sandbox/, test/packaging/ and test/systemd-wiring/), many
// bundles over one read-only busybox rootfs, containers run through the sandbox's system bus, and a
// prober that keeps calling berthd (through the bus and through /run/berth/private) while it restarts.

import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { connectBus, DBusError, type MessageBus, onDisconnect } from "../../src/common/bus.js";
import { BUS_NAME, CONTAINER_INTERFACE, MANAGER_INTERFACE, MANAGER_PATH } from "../../src/common/bus-path.js";
import { bundleSpec } from "../fixtures/oci-spec.js";
import { populateRootfs } from "../fixtures/rootfs.js";
import { callMethod } from "../helpers/dbus.js";
import type { Sandbox } from "../sandbox/sandbox.js";

export { BUS_NAME, CONTAINER_INTERFACE, MANAGER_INTERFACE, MANAGER_PATH };

/** `systemctl show -p …` as a record. */
export async function show(
  sandbox: Sandbox,
  unit: string,
  ...properties: string[]
): Promise<Record<string, string>> {
  const out = await sandbox.execOk("systemctl", ["show", "-p", properties.join(","), unit]);
  return Object.fromEntries(
    out
      .trim()
      .split("\n")
      .filter((line) => line.includes("="))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Calls fn every 100 ms until it returns something other than undefined; fails the test on timeout. */
export async function poll<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * Bundles for many containers: one busybox rootfs in the sandbox's shared dir, mounted read-only by
 * every container, and one small dir with a config.json per container.
 */
export class BundleFarm {
  private constructor(
    private readonly dir: string,
    private readonly rootfs: string,
  ) {}

  static async create(sandbox: Sandbox): Promise<BundleFarm> {
    const dir = join(sandbox.sharedDir, "bundles");
    const rootfs = join(dir, "rootfs");
    await mkdir(dir, { recursive: true });
    await populateRootfs(rootfs);
    return new BundleFarm(dir, rootfs);
  }

  /** A bundle dir for `id` running `args`; its path is the same inside the sandbox. */
  async bundle(id: string, args: string[]): Promise<string> {
    const path = join(this.dir, id);
    await mkdir(path, { recursive: true });
    const spec = bundleSpec({ args, readonlyRootfs: true });
    spec.root.path = this.rootfs;
    await writeFile(join(path, "config.json"), JSON.stringify(spec));
    return path;
  }
}

/** A connection to the sandbox's system bus, from the host (as root). */
export function systemBus(sandbox: Sandbox): Promise<MessageBus> {
  return connectBus(sandbox.busAddress);
}

/** The address of berthd's peer-to-peer socket, from the host. */
export function privateAddress(sandbox: Sandbox): string {
  return `unix:path=/proc/${sandbox.pid}/root/run/berth/private`;
}

export function call(
  bus: MessageBus,
  path: string,
  iface: string,
  member: string,
  signature = "",
  body: unknown[] = [],
  timeoutMs = 30_000,
): Promise<unknown[]> {
  return callMethod(bus, path, iface, member, signature, body, { timeoutMs });
}

export async function property(bus: MessageBus, path: string, iface: string, name: string): Promise<unknown> {
  const [variant] = await call(bus, path, "org.freedesktop.DBus.Properties", "Get", "ss", [iface, name]);
  return (variant as { value: unknown }).value;
}

export interface Listed {
  id: string;
  status: string;
  pid: number;
  path: string;
}

export async function listContainers(bus: MessageBus, timeoutMs = 30_000): Promise<Map<string, Listed>> {
  const [list] = (await call(bus, MANAGER_PATH, MANAGER_INTERFACE, "ListContainers", "", [], timeoutMs)) as [
    [string, string, number, string][],
  ];
  return new Map(list.map(([id, status, pid, path]) => [id, { id, status, pid, path }]));
}

/** Object paths ObjectManager.GetManagedObjects knows. */
export async function managedPaths(bus: MessageBus): Promise<Set<string>> {
  const [objects] = (await call(
    bus,
    MANAGER_PATH,
    "org.freedesktop.DBus.ObjectManager",
    "GetManagedObjects",
  )) as [Record<string, unknown>];
  return new Set(Object.keys(objects));
}

/** RunContainer for each id, at most `parallel` at a time; resolves when all run. */
export async function runMany(
  bus: MessageBus,
  farm: BundleFarm,
  ids: string[],
  args: string[],
  parallel = 8,
  options: Record<string, unknown> = {},
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++];
      const bundle = await farm.bundle(id, args);
      await call(
        bus,
        MANAGER_PATH,
        MANAGER_INTERFACE,
        "RunContainer",
        "ssa{sv}",
        [id, bundle, options],
        120_000,
      );
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

export interface ProbeFailure {
  /** When the call (or its connection) was started, Date.now(). */
  startedAt: number;
  /** The D-Bus error name, or "" for another failure (no connection). */
  error: string;
  text: string;
}

export interface ProbeResult {
  via: "bus" | "private";
  ok: number;
  failures: ProbeFailure[];
  /** Slowest successful call, ms. */
  slowestMs: number;
}

/**
 * Keeps calling berthd until stop(): ListContainers through one long-lived connection to the system
 * bus (the bus queues calls while the name has no owner, and activates berthd), and through a new
 * connection to /run/berth/private per call (connections wait in the socket's backlog while berthd
 * restarts), as busctl and berthctl make them. Each call may take up to `callTimeoutMs`.
 */
export class Prober {
  private running = true;
  private readonly loops: Promise<void>[] = [];
  readonly results: Record<"bus" | "private", ProbeResult> = {
    bus: { via: "bus", ok: 0, failures: [], slowestMs: 0 },
    private: { via: "private", ok: 0, failures: [], slowestMs: 0 },
  };

  constructor(
    private readonly bus: MessageBus,
    private readonly privateAddr: string,
    private readonly expectAtLeast: number,
    private readonly callTimeoutMs = 30_000,
  ) {}

  start(concurrency = 2): this {
    for (let i = 0; i < concurrency; i++) {
      this.loops.push(this.loop("bus", async () => this.bus));
      this.loops.push(this.loop("private", () => connectBus(this.privateAddr, this.callTimeoutMs)));
    }
    return this;
  }

  async stop(): Promise<Record<"bus" | "private", ProbeResult>> {
    this.running = false;
    await Promise.all(this.loops);
    return this.results;
  }

  private async loop(via: "bus" | "private", connect: () => Promise<MessageBus>): Promise<void> {
    const result = this.results[via];
    while (this.running) {
      const started = Date.now();
      let connection: MessageBus | undefined;
      try {
        connection = await connect();
        // A private connection that berthd closes fails its call at once (dbus-next leaves the call
        // pending and would emit an unhandled 'error').
        const conn = connection;
        const broken =
          via === "private"
            ? new Promise<never>((_, reject) =>
                onDisconnect(conn, (reason) => reject(new Error(`the connection broke: ${reason}`))),
              )
            : undefined;
        broken?.catch(() => {});
        const listing = listContainers(connection, this.callTimeoutMs);
        listing.catch(() => {}); // the race below reports it; a late rejection must not go unhandled
        const list = await (broken === undefined ? listing : Promise.race([listing, broken]));
        if (list.size < this.expectAtLeast) throw new Error(`ListContainers had ${list.size} containers`);
        result.ok++;
        result.slowestMs = Math.max(result.slowestMs, Date.now() - started);
      } catch (error) {
        const name = error instanceof DBusError ? error.type : "";
        result.failures.push({
          startedAt: started,
          error: name,
          text: `${via}: ${new Date(started).toISOString()} +${Date.now() - started} ms: ${name} ${(error as Error).message}`,
        });
      } finally {
        if (via === "private") connection?.disconnect();
      }
      await sleep(25);
    }
  }
}
