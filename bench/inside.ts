// The measurements of `npm run bench` (issue 5), run INSIDE the systemd sandbox by bench/run.ts, which
// has installed berth from the checkout (berthd.service, socket, bus policy) and handed over a shared
// dir. Side by side in one run, on the same busybox rootfs and the same runc (systemd cgroup driver
// for all): raw `runc run -d`, containerd 1.6 (its own root, state and socket; driven with
// `ctr run -d --rootfs`), berth through D-Bus (RunContainer) and through `berthctl run -d`.
// Prints markdown tables on stdout, progress on stderr, and writes every raw figure as JSON to
// $BENCH_OUT. Everything it starts is removed at the end (and the sandbox goes anyway).
//
// Sizes come from the environment (bench/run.ts documents them; see docs/performance.md).

import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  callBusDaemon,
  connectBus,
  type Message,
  type MessageBus,
  MessageType,
  Variant,
} from "../src/common/bus.js";
import {
  BUS_NAME,
  CONTAINER_INTERFACE,
  containerPath,
  MANAGER_INTERFACE,
  MANAGER_PATH,
} from "../src/common/bus-path.js";
import { bundleSpec } from "../test/fixtures/oci-spec.js";
import { populateRootfs } from "../test/fixtures/rootfs.js";
import { callMethod } from "../test/helpers/dbus.js";
import {
  comm,
  fmt,
  type Memory,
  median,
  memoryOf,
  nowMs,
  parentPid,
  percentile,
  pool,
  ratio,
  rssKiB,
  run,
  runOk,
  sleep,
  table,
} from "./lib.js";

// ---- configuration

const env = process.env;
const intList = (text: string) =>
  text
    .split(",")
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);
export const CONFIG = {
  count: Number(env.BENCH_COUNT ?? 100),
  concurrency: intList(env.BENCH_CONCURRENCY ?? "1,10,50"),
  maxStarts: intList(env.BENCH_MAX_STARTS ?? "1,10,100"),
  reps: Number(env.BENCH_REPS ?? 3),
  big: Number(env.BENCH_BIG ?? 500),
  dbusTotal: Number(env.BENCH_DBUS_TOTAL ?? 1000),
  calls: Number(env.BENCH_CALLS ?? 200),
  restarts: Number(env.BENCH_RESTARTS ?? 3),
  cliReps: Number(env.BENCH_CLI_REPS ?? 10),
  exits: Number(env.BENCH_EXITS ?? 10),
  sections: (env.BENCH_SECTIONS ?? "start,maxstarts,fleet").split(","),
};
const SHARED = env.BENCH_DIR ?? "/tmp/bench";
const OUT = env.BENCH_OUT ?? join(SHARED, "results.json");

const SYSTEM_BUS = "unix:path=/run/dbus/system_bus_socket";
const BERTHCTL = "/usr/bin/berthctl";
/**
 * berthctl's tsc output (dist/src/berthctl/main.js), compared in the CLI table when given: the
 * installed berthctl runs the esbuild bundle (scripts/bundle.mjs).
 */
const UNBUNDLED = env.BENCH_BERTHCTL_UNBUNDLED;
const RUNC = "runc";
const RUNC_ROOT = "/run/bench-runc";
const CTRD_SOCK = "/run/bench-containerd/containerd.sock";
const CTR = ["-a", CTRD_SOCK, "-n", "bench"];
const CTRD_UNIT = "bench-containerd.service";
const SLEEP = ["/bin/sleep", "100000"];

const results: Record<string, unknown> = { config: CONFIG, startedAt: new Date().toISOString() };
const out: string[] = [];

function say(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

function print(text = ""): void {
  out.push(text);
  process.stdout.write(`${text}\n`);
}

// ---- bundles: one read-only busybox rootfs, one config.json per container

const ROOTFS = join(SHARED, "rootfs");
const BUNDLES = join(SHARED, "bundles");

async function bundle(id: string, args = SLEEP, cgroupsPath?: string): Promise<string> {
  const dir = join(BUNDLES, id);
  await mkdir(dir, { recursive: true });
  const spec = bundleSpec({ args, readonlyRootfs: true, ...(cgroupsPath ? { cgroupsPath } : {}) });
  spec.root.path = ROOTFS;
  await writeFile(join(dir, "config.json"), JSON.stringify(spec));
  return dir;
}

// ---- the four ways to start a container

interface Tool {
  key: "runc" | "containerd" | "berth-dbus" | "berthctl";
  label: string;
  /** Makes what start() needs (bundle files): not timed. */
  prepare(id: string, args?: string[]): Promise<void>;
  start(id: string, args?: string[]): Promise<void>;
  remove(ids: string[]): Promise<void>;
}

let bus: MessageBus;

function berthCall(path: string, iface: string, member: string, signature = "", body: unknown[] = []) {
  return callMethod(bus, path, iface, member, signature, body, { timeoutMs: 120_000 });
}

const runcTool: Tool = {
  key: "runc",
  label: "raw `runc run -d`",
  async prepare(id, args) {
    await bundle(id, args, `bench.slice:runc:${id}`);
  },
  async start(id) {
    await runOk(
      RUNC,
      ["--systemd-cgroup", "--root", RUNC_ROOT, "run", "-d", "--bundle", join(BUNDLES, id), id],
      {
        detach: true,
      },
    );
  },
  async remove(ids) {
    await pool(ids, 10, async (id) => {
      await run(RUNC, ["--systemd-cgroup", "--root", RUNC_ROOT, "delete", "-f", id]);
      await rm(join(BUNDLES, id), { recursive: true, force: true });
    });
  },
};

const containerdTool: Tool = {
  key: "containerd",
  label: "containerd 1.6 `ctr run -d --rootfs`",
  async prepare() {},
  async start(id, args = SLEEP) {
    await runOk(
      "ctr",
      [
        ...CTR,
        "run",
        "-d",
        "--null-io",
        "--read-only",
        "--runc-systemd-cgroup",
        "--cgroup",
        `bench.slice:ctrd:${id}`,
        "--rootfs",
        ROOTFS,
        id,
        ...args,
      ],
      {},
    );
  },
  async remove(ids) {
    await pool(ids, 10, async (id) => {
      await run("ctr", [...CTR, "task", "delete", "-f", id]);
      await run("ctr", [...CTR, "container", "delete", id]);
    });
  },
};

async function removeBerth(ids: string[]): Promise<void> {
  await pool(ids, 10, async (id) => {
    const path = containerPath(id);
    await berthCall(path, CONTAINER_INTERFACE, "Kill", "si", ["all", 9]).catch(() => undefined);
    await berthCall(path, CONTAINER_INTERFACE, "Wait").catch(() => undefined);
    await berthCall(path, CONTAINER_INTERFACE, "Delete").catch((error: Error) =>
      say(`delete ${id}: ${error.message}`),
    );
    await rm(join(BUNDLES, id), { recursive: true, force: true });
  });
}

const berthDbusTool: Tool = {
  key: "berth-dbus",
  label: "berth, D-Bus `RunContainer`",
  async prepare(id, args) {
    await bundle(id, args);
  },
  async start(id) {
    await berthCall(MANAGER_PATH, MANAGER_INTERFACE, "RunContainer", "ssa{sv}", [id, join(BUNDLES, id), {}]);
  },
  remove: removeBerth,
};

const berthctlTool: Tool = {
  key: "berthctl",
  label: "berth, `berthctl run -d`",
  async prepare(id, args) {
    await bundle(id, args);
  },
  async start(id) {
    await runOk(BERTHCTL, ["run", "-d", id, join(BUNDLES, id)]);
  },
  remove: removeBerth,
};

const TOOLS = [runcTool, containerdTool, berthDbusTool, berthctlTool];

let idCounter = 0;
function ids(prefix: string, n: number): string[] {
  return Array.from({ length: n }, () => `${prefix}-${++idCounter}`);
}

interface Batch {
  wallMs: number;
  /** Containers that started, per second of wall time. */
  perSecond: number;
  latenciesMs: number[];
  /** Starts that failed (the error's first line); they do not count in the rate. */
  failures: string[];
}

/** Starts n containers with `tool` at `concurrency`; removes them afterwards unless `keep`. */
async function batch(tool: Tool, n: number, concurrency: number, keep?: string[]): Promise<Batch> {
  const list = ids(tool.key, n);
  await pool(list, 16, (id) => tool.prepare(id));
  const latenciesMs: number[] = [];
  const started: string[] = [];
  const failures: string[] = [];
  try {
    const wallMs = await pool(list, concurrency, async (id) => {
      const t0 = nowMs();
      try {
        await tool.start(id);
      } catch (error) {
        const line = (error as Error).message.split("\n")[0]!;
        failures.push(line);
        say(`${tool.key}: start of ${id} failed: ${line}`);
        return;
      }
      latenciesMs.push(nowMs() - t0);
      started.push(id);
    });
    return { wallMs, perSecond: started.length / (wallMs / 1000), latenciesMs, failures };
  } finally {
    if (keep) keep.push(...started);
    else await tool.remove(list);
  }
}

// ---- containerd, started by the benchmark with its own root, state and socket

async function startContainerd(): Promise<void> {
  const config = join(SHARED, "containerd.toml");
  // CRI off: ctr does not need it, and it would only slow containerd's start (its best case here).
  await writeFile(
    config,
    [
      "version = 2",
      'root = "/var/lib/bench-containerd"',
      'state = "/run/bench-containerd"',
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${CTRD_SOCK}"`,
      "",
    ].join("\n"),
  );
  // As Debian's containerd.service has it: KillMode=process (a restart keeps the shims), Delegate.
  await mkdir("/etc/systemd/system", { recursive: true });
  await writeFile(
    `/etc/systemd/system/${CTRD_UNIT}`,
    [
      "[Service]",
      "Type=notify",
      `ExecStart=/usr/bin/containerd --config ${config}`,
      "KillMode=process",
      "Delegate=yes",
      "LimitNOFILE=1048576",
      "TasksMax=infinity",
      "OOMScoreAdjust=-999",
      "",
    ].join("\n"),
  );
  await runOk("systemctl", ["daemon-reload"]);
  await runOk("systemctl", ["start", CTRD_UNIT]);
}

async function mainPid(unit: string): Promise<number> {
  return Number((await runOk("systemctl", ["show", "-p", "MainPID", "--value", unit])).stdout.trim());
}

/** `ctr task ls`: id → { pid, status }. */
async function ctrTasks(): Promise<Map<string, { pid: number; status: string }>> {
  const r = await run("ctr", [...CTR, "task", "ls"], { timeoutMs: 10_000 });
  const tasks = new Map<string, { pid: number; status: string }>();
  if (r.code !== 0) return tasks;
  for (const line of r.stdout.trim().split("\n").slice(1)) {
    const [id, pid, status] = line.trim().split(/\s+/);
    if (id) tasks.set(id, { pid: Number(pid), status: status ?? "" });
  }
  return tasks;
}

async function berthList(): Promise<[string, string, number, string][]> {
  const [list] = (await berthCall(MANAGER_PATH, MANAGER_INTERFACE, "ListContainers")) as [
    [string, string, number, string][],
  ];
  return list;
}

// ---- 1. start throughput

interface StartRow {
  tool: string;
  concurrency: number;
  perSecond: number[];
  /** Failed starts over all runs. */
  failed: number;
  p50Ms: number;
  p95Ms: number;
}

async function startThroughput(): Promise<StartRow[]> {
  const { count, concurrency, reps } = CONFIG;
  const collected = new Map<string, { rates: number[]; lat: number[]; failed: number }>();
  for (let rep = 1; rep <= reps; rep++) {
    for (const c of concurrency) {
      for (const tool of TOOLS) {
        say(`start: ${tool.key}, ${count} containers at concurrency ${c} (run ${rep}/${reps})`);
        const b = await batch(tool, count, c);
        const key = `${tool.key}@${c}`;
        const entry = collected.get(key) ?? { rates: [], lat: [], failed: 0 };
        entry.rates.push(b.perSecond);
        entry.failed += b.failures.length;
        entry.lat.push(...b.latenciesMs);
        collected.set(key, entry);
      }
    }
  }
  const rows: StartRow[] = [];
  for (const c of concurrency) {
    for (const tool of TOOLS) {
      const e = collected.get(`${tool.key}@${c}`)!;
      rows.push({
        tool: tool.key,
        concurrency: c,
        perSecond: e.rates,
        failed: e.failed,
        p50Ms: percentile(e.lat, 50),
        p95Ms: percentile(e.lat, 95),
      });
    }
  }
  results.start = rows;
  print(`### 1. Start throughput: ${count} sleeping busybox containers (median of ${reps} runs)\n`);
  const headers = [
    "concurrency",
    "path",
    ">containers/s",
    ">p50 ms",
    ">p95 ms",
    ">failed",
    ">berth D-Bus / this (containers/s)",
  ];
  const body: string[][] = [];
  for (const c of concurrency) {
    const berth = median(rows.find((r) => r.tool === "berth-dbus" && r.concurrency === c)!.perSecond);
    for (const tool of TOOLS) {
      const r = rows.find((x) => x.tool === tool.key && x.concurrency === c)!;
      const rate = median(r.perSecond);
      body.push([
        String(c),
        tool.label,
        fmt(rate),
        fmt(r.p50Ms, 0),
        fmt(r.p95Ms, 0),
        String(r.failed),
        tool.key === "berth-dbus" ? "" : ratio(berth, rate),
      ]);
    }
  }
  print(table(headers, body));
  print();
  return rows;
}

// ---- 1b. berth with MaxConcurrentStarts 1, 10, 100

async function setMaxStarts(n: number): Promise<void> {
  await berthCall(MANAGER_PATH, "org.freedesktop.DBus.Properties", "Set", "ssv", [
    MANAGER_INTERFACE,
    "MaxConcurrentStarts",
    new Variant("u", n),
  ]);
}

async function maxStarts(): Promise<void> {
  const { count, reps, maxStarts: values } = CONFIG;
  const collected = new Map<number, { rates: number[]; lat: number[]; failed: number }>();
  try {
    for (let rep = 1; rep <= reps; rep++) {
      for (const m of values) {
        say(`MaxConcurrentStarts ${m}: ${count} RunContainer calls at once (run ${rep}/${reps})`);
        await setMaxStarts(m);
        const b = await batch(berthDbusTool, count, count);
        const entry = collected.get(m) ?? { rates: [], lat: [], failed: 0 };
        entry.rates.push(b.perSecond);
        entry.failed += b.failures.length;
        entry.lat.push(...b.latenciesMs);
        collected.set(m, entry);
      }
    }
  } finally {
    await setMaxStarts(10);
  }
  const rows = values.map((m) => {
    const e = collected.get(m)!;
    return {
      maxConcurrentStarts: m,
      perSecond: e.rates,
      failed: e.failed,
      p50Ms: percentile(e.lat, 50),
      p95Ms: percentile(e.lat, 95),
    };
  });
  results.maxStarts = rows;
  const base = median(rows.find((r) => r.maxConcurrentStarts === 10)?.perSecond ?? []);
  print(
    `### 1b. berth with MaxConcurrentStarts: ${count} RunContainer calls in flight at once (median of ${reps} runs)\n`,
  );
  print(
    table(
      [
        "MaxConcurrentStarts",
        ">containers/s",
        ">p50 ms",
        ">p95 ms",
        ">failed",
        ">this / MaxConcurrentStarts 10",
      ],
      rows.map((r) => [
        String(r.maxConcurrentStarts),
        fmt(median(r.perSecond)),
        fmt(r.p50Ms, 0),
        fmt(r.p95Ms, 0),
        String(r.failed),
        ratio(median(r.perSecond), base),
      ]),
    ),
  );
  print();
}

// ---- 2–5. a fleet of running containers: memory, restart, CLI, exit events, D-Bus at scale

interface MemoryRow {
  monitor: string;
  n: number;
  rss: number;
  pss: number;
  privateDirty: number;
}

function monitorMemory(initPids: number[], expect: string): MemoryRow {
  const mems: Memory[] = [];
  let name = "";
  for (const pid of initPids) {
    try {
      const monitor = parentPid(pid);
      name = comm(monitor);
      if (!name.startsWith(expect)) continue;
      mems.push(memoryOf(monitor));
    } catch {}
  }
  return {
    monitor: name,
    n: mems.length,
    rss: median(mems.map((m) => m.rssKiB)),
    pss: median(mems.map((m) => m.pssKiB)),
    privateDirty: median(mems.map((m) => m.privateDirtyKiB)),
  };
}

interface RestartRow {
  running: number;
  /** systemctl restart returned (Type=notify: READY=1), ms. */
  commandMs: number[];
  /** Until the daemon answered a listing with every container running, ms. */
  allMs: number[];
  lost: number;
}

async function restartBerthd(n: number): Promise<RestartRow> {
  const row: RestartRow = { running: n, commandMs: [], allMs: [], lost: 0 };
  for (let i = 0; i < CONFIG.restarts; i++) {
    say(`restart berthd with ${n} running containers (${i + 1}/${CONFIG.restarts})`);
    const t0 = nowMs();
    await runOk("systemctl", ["restart", "berthd.service"], { timeoutMs: 300_000 });
    row.commandMs.push(nowMs() - t0);
    const running = (await berthList()).filter(([, status]) => status === "running").length;
    row.allMs.push(nowMs() - t0);
    row.lost = Math.max(row.lost, n - running);
  }
  return row;
}

async function restartContainerd(n: number): Promise<RestartRow> {
  const row: RestartRow = { running: n, commandMs: [], allMs: [], lost: 0 };
  for (let i = 0; i < CONFIG.restarts; i++) {
    say(`restart containerd with ${n} running containers (${i + 1}/${CONFIG.restarts})`);
    const t0 = nowMs();
    await runOk("systemctl", ["restart", CTRD_UNIT], { timeoutMs: 300_000 });
    row.commandMs.push(nowMs() - t0);
    let running = 0;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      running = [...(await ctrTasks()).values()].filter((t) => t.status === "RUNNING").length;
      if (running >= n) break;
      await sleep(20);
    }
    row.allMs.push(nowMs() - t0);
    row.lost = Math.max(row.lost, n - running);
  }
  return row;
}

async function cliTimes(args: [string, string[]], reps = CONFIG.cliReps): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) times.push((await runOk(args[0], args[1])).ms);
  return times;
}

/** Exited (berth) / /tasks/exit (containerd): arrival time minus the recorded exit time, ms. */
async function exitLatencyBerth(): Promise<number[]> {
  const latencies: number[] = [];
  const listener = (message: Message) => {
    if (message.type !== MessageType.SIGNAL || message.member !== "Exited") return;
    if (message.interface !== CONTAINER_INTERFACE) return;
    const exitedAtUs = Number(message.body[1] as bigint);
    latencies.push(Date.now() - exitedAtUs / 1000);
  };
  bus.on("message", listener);
  await callBusDaemon(bus, "AddMatch", "s", [`type='signal',sender='${BUS_NAME}',member='Exited'`]);
  const list = ids("exit-berth", CONFIG.exits);
  try {
    for (const id of list) {
      await berthDbusTool.prepare(id, ["/bin/sh", "-c", "sleep 0.5"]);
      await berthDbusTool.start(id);
    }
    const deadline = Date.now() + 30_000;
    while (latencies.length < list.length && Date.now() < deadline) await sleep(50);
  } finally {
    bus.off("message", listener);
    await removeBerth(list);
  }
  return latencies;
}

async function exitLatencyContainerd(): Promise<number[]> {
  const { spawn } = await import("node:child_process");
  const events = spawn("ctr", [...CTR, "events"], { stdio: ["ignore", "pipe", "ignore"] });
  const latencies: number[] = [];
  let buffered = "";
  events.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    const arrived = Date.now();
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      const m = / \/tasks\/exit (\{.*\})$/.exec(line);
      if (!m) continue;
      const event = JSON.parse(m[1]!) as { exited_at: string };
      const exitedAt = Date.parse(event.exited_at); // ms (the ns part is dropped: fine at this scale)
      latencies.push(arrived - exitedAt);
    }
  });
  const list = ids("exit-ctrd", CONFIG.exits);
  try {
    await sleep(300); // the subscription is in place
    for (const id of list) await containerdTool.start(id, ["/bin/sh", "-c", "sleep 0.5"]);
    const deadline = Date.now() + 30_000;
    while (latencies.length < list.length && Date.now() < deadline) await sleep(50);
  } finally {
    events.kill("SIGTERM");
    await containerdTool.remove(list);
  }
  return latencies;
}

async function timeCalls(n: number, call: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(5, n); i++) await call();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = nowMs();
    await call();
    times.push(nowMs() - t0);
  }
  return times;
}

function systemdCall(member: string, iface: string, path: string, signature = "", body: unknown[] = []) {
  return callMethod(bus, path, iface, member, signature, body, {
    destination: "org.freedesktop.systemd1",
    timeoutMs: 60_000,
  });
}

async function fleet(): Promise<void> {
  const { count, big, dbusTotal } = CONFIG;
  const berthIds: string[] = [];
  const ctrdIds: string[] = [];
  const memory: Record<string, unknown> = {};
  const restart: Record<string, RestartRow> = {};
  results.memory = memory;
  results.restart = restart;
  try {
    // ---- N running of each
    say(`fleet: ${count} berth containers and ${count} containerd containers`);
    await batch(berthDbusTool, count, 10, berthIds);
    await batch(containerdTool, count, 10, ctrdIds);
    const berthPids = (await berthList()).map(([, , pid]) => pid).filter((p) => p > 0);
    const ctrdPids = [...(await ctrTasks()).values()].map((t) => t.pid);
    const shims = {
      berth: monitorMemory(berthPids, "berth-shim"),
      containerd: monitorMemory(ctrdPids, "containerd-shim"),
    };
    memory.shims = shims;
    memory[`daemons@${count}`] = {
      berthd: rssKiB(await mainPid("berthd.service")),
      containerd: rssKiB(await mainPid(CTRD_UNIT)),
    };

    // ---- CLI
    say("CLI: berthctl vs ctr");
    const variants: Record<string, [string, string[]]> = {
      nodeBare: ["node", ["-e", "0"]],
      berthctlHelp: [BERTHCTL, ["--help"]],
      ctrHelp: ["ctr", ["--help"]],
      berthctlVersion: [BERTHCTL, ["version"]],
      ctrVersion: ["ctr", [...CTR, "version"]],
      berthctlPs: [BERTHCTL, ["ps"]],
      ctrTaskLs: ["ctr", [...CTR, "task", "ls"]],
    };
    if (UNBUNDLED) {
      variants.unbundledHelp = ["node", [UNBUNDLED, "--help"]];
      variants.unbundledVersion = ["node", [UNBUNDLED, "version"]];
      variants.unbundledPs = ["node", [UNBUNDLED, "ps"]];
    }
    // Round robin, so that a change of load hits every variant alike.
    const cli: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    for (let i = 0; i < CONFIG.cliReps; i++) {
      for (const [key, [cmd, args]] of Object.entries(variants)) cli[key]!.push((await runOk(cmd, args)).ms);
    }
    results.cli = cli;

    // ---- exit events
    say("exit event latency");
    const exits = { berth: await exitLatencyBerth(), containerd: await exitLatencyContainerd() };
    results.exits = exits;

    // ---- restart at N
    restart[`berthd@${count}`] = await restartBerthd(count);
    restart[`containerd@${count}`] = await restartContainerd(count);

    // ---- grow to BIG
    if (big > count) {
      say(`fleet: growing to ${big} berth and ${big} containerd containers`);
      await batch(berthDbusTool, big - count, 10, berthIds);
      await batch(containerdTool, big - count, 10, ctrdIds);
      memory[`daemons@${big}`] = {
        berthd: rssKiB(await mainPid("berthd.service")),
        containerd: rssKiB(await mainPid(CTRD_UNIT)),
      };
      restart[`berthd@${big}`] = await restartBerthd(big);
      restart[`containerd@${big}`] = await restartContainerd(big);
    }

    // ---- D-Bus at dbusTotal berth containers (the ones above big: created, not started)
    const running = Math.max(big, count);
    const extra = Math.max(0, dbusTotal - running);
    say(`D-Bus: creating ${extra} more berth containers (${dbusTotal} in all, ${running} running)`);
    const created = ids("created", extra);
    await pool(created, 16, async (id) => {
      await bundle(id);
    });
    await pool(created, 10, async (id) => {
      await berthCall(MANAGER_PATH, MANAGER_INTERFACE, "CreateContainer", "ssa{sv}", [
        id,
        join(BUNDLES, id),
        {},
      ]);
      berthIds.push(id);
    });
    const total = (await berthList()).length;
    memory[`berthd@${total}`] = rssKiB(await mainPid("berthd.service"));
    say(`D-Bus: calls at ${total} containers`);
    const calls = CONFIG.calls;
    const someId = berthIds[0]!;
    const units = (await systemdCall(
      "ListUnits",
      "org.freedesktop.systemd1.Manager",
      "/org/freedesktop/systemd1",
    )) as [unknown[]];
    const dbus = {
      containers: total,
      units: units[0].length,
      listContainers: await timeCalls(Math.ceil(calls / 4), () => berthList()),
      getManagedObjects: await timeCalls(Math.ceil(calls / 10), () =>
        berthCall(MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"),
      ),
      getStatus: await timeCalls(calls, () =>
        berthCall(containerPath(someId), "org.freedesktop.DBus.Properties", "Get", "ss", [
          CONTAINER_INTERFACE,
          "Status",
        ]),
      ),
      listUnits: await timeCalls(Math.ceil(calls / 4), () =>
        systemdCall("ListUnits", "org.freedesktop.systemd1.Manager", "/org/freedesktop/systemd1"),
      ),
      systemdGet: await timeCalls(calls, () =>
        systemdCall(
          "Get",
          "org.freedesktop.DBus.Properties",
          "/org/freedesktop/systemd1/unit/berthd_2eservice",
          "ss",
          ["org.freedesktop.systemd1.Unit", "ActiveState"],
        ),
      ),
      ctrTaskLs: await cliTimes(["ctr", [...CTR, "task", "ls"]], 5),
      berthctlPs: await cliTimes([BERTHCTL, ["ps"]], 5),
    };
    results.dbus = dbus;
    report(shims, memory, restart, cli, exits, dbus);
  } finally {
    say(`cleanup: ${berthIds.length} berth and ${ctrdIds.length} containerd containers`);
    await removeBerth(berthIds).catch((error: Error) => say(`cleanup berth: ${error.message}`));
    await containerdTool.remove(ctrdIds).catch((error: Error) => say(`cleanup containerd: ${error.message}`));
  }
}

function report(
  shims: { berth: MemoryRow; containerd: MemoryRow },
  memory: Record<string, unknown>,
  restart: Record<string, RestartRow>,
  cli: Record<string, number[]>,
  exits: { berth: number[]; containerd: number[] },
  dbus: Record<string, number[] | number>,
): void {
  const { count, big } = CONFIG;
  const kib = (v: number) => fmt(v, 0);
  print(
    `### 2. Memory per container: the monitor process (median over ${shims.berth.n} / ${shims.containerd.n})\n`,
  );
  print(
    table(
      ["monitor", ">RSS KiB", ">PSS KiB", ">private dirty KiB"],
      [
        ["berth-shim", kib(shims.berth.rss), kib(shims.berth.pss), kib(shims.berth.privateDirty)],
        [
          "containerd-shim-runc-v2",
          kib(shims.containerd.rss),
          kib(shims.containerd.pss),
          kib(shims.containerd.privateDirty),
        ],
        [
          "berth / containerd",
          ratio(shims.berth.rss, shims.containerd.rss),
          ratio(shims.berth.pss, shims.containerd.pss),
          ratio(shims.berth.privateDirty, shims.containerd.privateDirty),
        ],
      ],
    ),
  );
  print();
  const daemonRows: string[][] = [];
  for (const n of [count, big]) {
    const d = memory[`daemons@${n}`] as { berthd: number; containerd: number } | undefined;
    if (!d) continue;
    daemonRows.push([
      String(n),
      fmt(d.berthd / 1024),
      fmt(d.containerd / 1024),
      ratio(d.berthd, d.containerd),
    ]);
  }
  print("Daemon RSS with N running containers of its own:\n");
  print(table([">N running", ">berthd MiB", ">containerd MiB", ">berthd / containerd"], daemonRows));
  const atTotal = Object.entries(memory).find(([k]) => k.startsWith("berthd@"));
  if (atTotal)
    print(`\nberthd RSS with ${atTotal[0].slice(7)} containers: ${fmt((atTotal[1] as number) / 1024)} MiB`);
  print();

  print(`### 3. Restart: command to ready (median of ${CONFIG.restarts})\n`);
  const restartRows: string[][] = [];
  for (const n of [count, big]) {
    const b = restart[`berthd@${n}`];
    const c = restart[`containerd@${n}`];
    if (!b || !c) continue;
    restartRows.push([
      String(n),
      fmt(median(b.commandMs), 0),
      fmt(median(b.allMs), 0),
      fmt(median(c.commandMs), 0),
      fmt(median(c.allMs), 0),
      ratio(median(b.allMs), median(c.allMs)),
      `${b.lost} / ${c.lost}`,
    ]);
  }
  print(
    table(
      [
        ">N running",
        ">berthd: restart → READY=1 ms",
        ">berthd: → ListContainers all running ms",
        ">containerd: restart → READY=1 ms",
        ">containerd: → `ctr task ls` all RUNNING ms",
        ">berth / containerd (all listed)",
        ">lost berth / containerd",
      ],
      restartRows,
    ),
  );
  print();

  const d = (k: string) => dbus[k] as number[];
  /** berth's p50 and p99, and the reference's p50 with the ratio when there is one. */
  const latencyRow = (label: string, berth: number[], reference = "", ref?: number[]): string[] => [
    label,
    fmt(percentile(berth, 50), 2),
    fmt(percentile(berth, 99), 2),
    reference,
    ref === undefined ? "" : fmt(percentile(ref, 50), 2),
    ref === undefined ? "" : ratio(percentile(berth, 50), percentile(ref, 50)),
  ];
  print(
    `### 4. D-Bus at ${dbus.containers} berth containers (${Math.max(count, big)} running, the rest created); reference: systemd on the same bus with ${dbus.units} units\n`,
  );
  print(
    table(
      ["call", ">p50 ms", ">p99 ms", "reference", ">ref p50 ms", ">berth / ref (p50)"],
      [
        latencyRow("ListContainers", d("listContainers"), "systemd ListUnits", d("listUnits")),
        latencyRow("GetManagedObjects", d("getManagedObjects")),
        latencyRow("Get Container.Status", d("getStatus"), "systemd Get Unit.ActiveState", d("systemdGet")),
        [
          "`berthctl ps` (wall)",
          fmt(median(d("berthctlPs")), 1),
          "",
          `\`ctr task ls\` with ${big} tasks`,
          fmt(median(d("ctrTaskLs")), 1),
          ratio(median(d("berthctlPs")), median(d("ctrTaskLs"))),
        ],
      ],
    ),
  );
  print();
  print(`Exit event delivery: signal arrival − recorded exit time (median of ${CONFIG.exits} containers)\n`);
  print(
    table(
      ["event", ">p50 ms", ">max ms", "reference", ">ref p50 ms", ">berth / ref"],
      [
        [
          "berth `Exited` (D-Bus signal)",
          fmt(median(exits.berth), 1),
          fmt(Math.max(...exits.berth), 1),
          "containerd `/tasks/exit` (`ctr events`)",
          fmt(median(exits.containerd), 1),
          ratio(median(exits.berth), median(exits.containerd)),
        ],
      ],
    ),
  );
  print();

  print(`### 5. CLI wall time with ${count} running containers (median of ${CONFIG.cliReps})\n`);
  const m = (k: string) => median(cli[k]!);
  const start = (results.start as StartRow[] | undefined)?.filter((r) => r.concurrency === 1) ?? [];
  /** A row of berth's figure, the reference's, and their ratio. */
  const versus = (label: string, berth: number, reference: string, ref: number): string[] => [
    label,
    fmt(berth),
    reference,
    fmt(ref),
    ratio(berth, ref),
  ];
  const rows = [
    ["`node -e 0` (the floor for any Node CLI)", fmt(m("nodeBare")), "", "", ""],
    versus("`berthctl --help` (start-up, no D-Bus)", m("berthctlHelp"), "`ctr --help`", m("ctrHelp")),
    versus("`berthctl version` (one D-Bus call)", m("berthctlVersion"), "`ctr version`", m("ctrVersion")),
    versus(`\`berthctl ps\` (${count} containers)`, m("berthctlPs"), "`ctr task ls`", m("ctrTaskLs")),
  ];
  if (cli.unbundledHelp) {
    rows.push(
      versus("unbundled `berthctl --help`", m("unbundledHelp"), "`ctr --help`", m("ctrHelp")),
      versus("unbundled `berthctl version`", m("unbundledVersion"), "`ctr version`", m("ctrVersion")),
      versus("unbundled `berthctl ps`", m("unbundledPs"), "`ctr task ls`", m("ctrTaskLs")),
    );
  }
  const b1 = start.find((r) => r.tool === "berthctl");
  const c1 = start.find((r) => r.tool === "containerd");
  if (b1 && c1)
    rows.push(versus("`berthctl run -d` (p50, concurrency 1)", b1.p50Ms, "`ctr run -d`", c1.p50Ms));
  print(table(["berth", ">ms", "reference", ">ms", ">berth / ref"], rows));
  print();
}

// ---- main

async function main(): Promise<void> {
  say(`config ${JSON.stringify(CONFIG)}`);
  await mkdir(BUNDLES, { recursive: true });
  await populateRootfs(ROOTFS);
  await startContainerd();
  bus = await connectBus(SYSTEM_BUS);
  const load = (await run("cat", ["/proc/loadavg"])).stdout.trim();
  results.loadBefore = load;
  print(`Load average at start: ${load}\n`);
  try {
    if (CONFIG.sections.includes("start")) await startThroughput();
    if (CONFIG.sections.includes("maxstarts")) await maxStarts();
    if (CONFIG.sections.includes("fleet")) await fleet();
  } finally {
    results.loadAfter = (await run("cat", ["/proc/loadavg"])).stdout.trim();
    results.finishedAt = new Date().toISOString();
    results.markdown = out.join("\n");
    await writeFile(OUT, JSON.stringify(results, null, 2));
    bus.disconnect();
    await run("systemctl", ["stop", CTRD_UNIT]);
  }
  print(`Load average at end: ${results.loadAfter as string}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
