// Profiles berthd's start path in a systemd sandbox (issue 5, "Profile the start path"): berth
// installed from the checkout, then N RunContainer calls at concurrency 10, three times over:
//   1. berthd under `node --cpu-prof`: self time by function and by module (top entries);
//   2. `strace -f -c` on berthd, its launcher and everything they fork (shims, runc): syscalls per start;
//   3. `strace -f -e trace=execve,clone,clone3,vfork`: processes and execs per start, by program;
// plus the same process count for `ctr run -d` through containerd for reference. Prints markdown;
// raw files stay in bench/results/profile-<time>/. The sandbox goes at the end (and on Ctrl-C).
// With --restart, instead: N containers started, then one `systemctl restart berthd` with the new
// berthd under `node --cpu-prof`: when each step of its start began (module loading until
// Daemon.start, the scopes' connection, recovery, the name, READY=1) and self time by function.
//
//   npm run build && node dist/bench/profile.js [N=50]
//   npm run build && node dist/bench/profile.js --restart [N=500]

import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { connectBus, type MessageBus } from "../src/common/bus.js";
import { MANAGER_INTERFACE, MANAGER_PATH } from "../src/common/bus-path.js";
import { bundleSpec } from "../test/fixtures/oci-spec.js";
import { populateRootfs } from "../test/fixtures/rootfs.js";
import { callMethod } from "../test/helpers/dbus.js";
import { CHECKOUT, Sandbox } from "../test/sandbox/sandbox.js";
import { dropIn, installBerth } from "../test/systemd/install.js";
import { fmt, pool, table } from "./lib.js";

const RESTART = process.argv.includes("--restart");
const N = Number(process.argv.slice(2).find((arg) => /^\d+$/.test(arg)) ?? (RESTART ? 500 : 50));
const sandbox = new Sandbox();
let counter = 0;

function say(text: string): void {
  process.stderr.write(`profile: ${text}\n`);
}

async function mainPid(): Promise<number> {
  return Number((await sandbox.execOk("systemctl", ["show", "-p", "MainPID", "--value", "berthd"])).trim());
}

async function startMany(bus: MessageBus, dir: string, n: number): Promise<number> {
  const ids = Array.from({ length: n }, () => `p-${++counter}`);
  for (const id of ids) {
    const b = join(dir, id);
    await mkdir(b, { recursive: true });
    const spec = bundleSpec({ args: ["/bin/sleep", "100000"], readonlyRootfs: true });
    spec.root.path = join(dir, "rootfs");
    await writeFile(join(b, "config.json"), JSON.stringify(spec));
  }
  return pool(ids, 10, async (id) => {
    await callMethod(
      bus,
      MANAGER_PATH,
      MANAGER_INTERFACE,
      "RunContainer",
      "ssa{sv}",
      [id, join(dir, id), {}],
      {
        timeoutMs: 120_000,
      },
    );
  });
}

/**
 * Runs strace inside in the background, attached to every thread of berthd and of its launcher (which
 * forks the shims and runc for it); returns a stopper.
 */
async function strace(args: string[], output: string): Promise<() => Promise<void>> {
  const pid = await mainPid();
  const launcher = `$(pgrep -P ${pid} -f -- --launcher | sed 's/^/-p /')`;
  const script = `strace ${args.join(" ")} -o ${output} -p ${pid} ${launcher} >/dev/null 2>&1 & echo $!`;
  const tracer = (await sandbox.execOk("sh", ["-c", script])).trim();
  await new Promise((done) => setTimeout(done, 1000)); // attached
  return async () => {
    await sandbox.exec("kill", ["-INT", tracer]);
    for (let i = 0; i < 100; i++) {
      if ((await sandbox.exec("kill", ["-0", tracer])).code !== 0) return;
      await new Promise((done) => setTimeout(done, 100));
    }
  };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Steps of berthd's start, by the function whose first sample marks it (daemon.ts, supervisor.ts). */
const START_STEPS = [
  ["Daemon.start (modules loaded)", "start"],
  ["connectScopes", "connectScopes"],
  ["recoverContainers", "recoverContainers"],
  ["claimBusName", "claimBusName"],
  ["ServiceStatus.ready (READY=1)", "ready"],
] as const;

/**
 * ms from the profile's start to the first sample with each step's function on the stack, and to the
 * last one of recovery ("start" also names other functions, so only recovery's end is unambiguous).
 */
function startSteps(profile: Profile): string[][] {
  const parent = new Map<number, ProfileNode>();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node);
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    for (let node = byId.get(id); node !== undefined; node = parent.get(node.id)) {
      const name = node.callFrame.functionName;
      if (!first.has(name)) first.set(name, at);
      last.set(name, at);
    }
  });
  const ms = (t: number | undefined) => (t === undefined ? "" : fmt((t - profile.startTime) / 1000, 0));
  return [
    ...START_STEPS.map(([what, fn]) => [what, ms(first.get(fn))]),
    ["recoverContainers, last sample", ms(last.get("recoverContainers"))],
  ].sort((a, b) => Number(a[1]) - Number(b[1]));
}

function summarizeProfile(profile: Profile) {
  const total = profile.samples.length;
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.replace(/^file:\/\//, "").replace(`${CHECKOUT}/`, "");
    const module = file.startsWith("node_modules/")
      ? file.split("/").slice(0, 2).join("/")
      : file.startsWith("dist/")
        ? file
        : file === ""
          ? `(${functionName || "native"})`
          : file.startsWith("node:")
            ? file
            : "(other)";
    const fn = `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + node.hitCount);
    byModule.set(module, (byModule.get(module) ?? 0) + node.hitCount);
  }
  const top = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, hits]) => [name.replace(/\|/g, "\\|"), fmt((100 * hits) / total, 1)]);
  return {
    total,
    durationMs: (profile.endTime - profile.startTime) / 1000,
    fn: top(byFunction, 25),
    mod: top(byModule, 20),
  };
}

/** From the next start on, berthd (the bundle, as installed) runs under --cpu-prof. */
function profileBerthd(profDir: string): Promise<void> {
  return dropIn(
    sandbox,
    "berthd.service",
    "cpu-prof",
    `[Service]\nExecStart=\nExecStart=/usr/bin/node --cpu-prof --cpu-prof-dir=${profDir} ${CHECKOUT}/dist/berthd.mjs\n`,
  );
}

/** `systemctl restart berthd` with N containers running, the new berthd under --cpu-prof. */
async function profileRestart(bus: MessageBus, dir: string, profDir: string, results: string): Promise<void> {
  say(`starting ${N} containers`);
  await startMany(bus, dir, N);
  await profileBerthd(profDir);
  say("restarting berthd under --cpu-prof");
  const took = await sandbox.execOk("sh", [
    "-c",
    "a=$(date +%s%N); systemctl restart berthd.service; b=$(date +%s%N); echo $(( (b - a) / 1000000 ))",
  ]);
  await sandbox.execOk("systemctl", ["stop", "berthd.service"]); // writes the profile
  const [profFile] = (await readdir(profDir)).filter((f) => f.endsWith(".cpuprofile"));
  const profile = JSON.parse(await readFile(join(profDir, profFile!), "utf8")) as Profile;
  await writeFile(join(results, "berthd-restart.cpuprofile"), JSON.stringify(profile));
  const summary = summarizeProfile(profile);
  const out = [
    `### berthd restart with ${N} running containers under --cpu-prof (systemctl restart: ${took.trim()} ms)\n`,
    table(["step (first sample of)", ">ms"], startSteps(profile)),
    "",
    table(["function", ">% self"], summary.fn),
    "",
  ].join("\n");
  process.stdout.write(out);
  await writeFile(join(results, "profile.md"), out);
  say(`raw files in ${results}`);
}

async function main(): Promise<void> {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const results = join(CHECKOUT, "bench/results", `profile-${stamp}`);
  await mkdir(results, { recursive: true });
  await sandbox.up();
  try {
    await installBerth(sandbox, "checkout");
    const profDir = join(sandbox.sharedDir, "cpuprof");
    await mkdir(profDir, { recursive: true });
    if (!RESTART) await profileBerthd(profDir);
    await sandbox.execOk("systemctl", ["start", "berthd.service"]);
    const dir = join(sandbox.sharedDir, "bundles");
    await populateRootfs(join(dir, "rootfs"));
    const bus = await connectBus(sandbox.busAddress);
    if (RESTART) {
      await profileRestart(bus, dir, profDir, results);
      bus.disconnect();
      return;
    }
    const out: string[] = [];
    const print = (text = "") => {
      out.push(text);
      process.stdout.write(`${text}\n`);
    };

    // 1. CPU profile of berthd over N starts (the profile covers berthd's whole life: start-up too).
    say(`cpu profile: ${N} RunContainer at concurrency 10`);
    const cpuWall = await startMany(bus, dir, N);
    await sandbox.execOk("systemctl", ["stop", "berthd.service"]);
    const [profFile] = (await readdir(profDir)).filter((f) => f.endsWith(".cpuprofile"));
    const profile = JSON.parse(await readFile(join(profDir, profFile!), "utf8"));
    await writeFile(join(results, "berthd.cpuprofile"), JSON.stringify(profile));
    const summary = summarizeProfile(profile);
    await sandbox.execOk("rm", ["-f", "/etc/systemd/system/berthd.service.d/cpu-prof.conf"]);
    await sandbox.execOk("systemctl", ["daemon-reload"]);
    await sandbox.execOk("systemctl", ["start", "berthd.service"]);
    print(
      `### berthd CPU profile: ${N} RunContainer calls at concurrency 10 (${fmt(cpuWall / 1000, 2)} s wall)\n`,
    );
    print(
      `${summary.total} samples over ${fmt(summary.durationMs / 1000, 1)} s of berthd's life (start-up, recovery of nothing, the starts, the stop).\n`,
    );
    print(table(["module", ">% of samples"], summary.mod));
    print();
    print(table(["function", ">% self"], summary.fn));
    print();

    // 2. syscalls of berthd and everything it forks
    say(`strace -c: ${N} more`);
    const stopCount = await strace(
      ["-f", "-c", "-U", "name,calls,errors,time-percent,total-time"],
      join(sandbox.sharedDir, "strace-c.txt"),
    );
    const straceWall = await startMany(bus, dir, N);
    await stopCount();
    const counts = await readFile(join(sandbox.sharedDir, "strace-c.txt"), "utf8");
    await writeFile(join(results, "strace-c.txt"), counts);
    print(
      `### strace -f -c on berthd and its children: ${N} starts (${fmt(straceWall / 1000, 2)} s wall under strace)\n`,
    );
    print("```");
    print(counts.split("\n").slice(0, 32).join("\n"));
    print("```\n");

    // 3. processes per start
    say(`strace -e trace=process: ${N} more`);
    const stopProc = await strace(
      ["-f", "-e", "trace=execve,clone,clone3,vfork,fork"],
      join(sandbox.sharedDir, "strace-proc.txt"),
    );
    await startMany(bus, dir, N);
    await stopProc();
    const procs = await readFile(join(sandbox.sharedDir, "strace-proc.txt"), "utf8");
    await writeFile(join(results, "strace-proc.txt"), procs);
    const execs = new Map<string, number>();
    let forks = 0;
    let threads = 0;
    for (const line of procs.split("\n")) {
      const exec = /execve\("([^"]+)"/.exec(line);
      if (exec && !line.includes("= -1")) execs.set(exec[1]!, (execs.get(exec[1]!) ?? 0) + 1);
      if (/(clone3?|vfork|fork)\(/.test(line) && /= \d+$/.test(line.trim())) {
        if (line.includes("CLONE_THREAD")) threads++;
        else forks++;
      }
    }
    print(`### Processes per start (strace -f -e trace=process over ${N} RunContainer calls)\n`);
    print(
      table(
        ["what", ">total", ">per start"],
        [
          ["new processes (fork/vfork/clone without CLONE_THREAD)", String(forks), fmt(forks / N, 1)],
          ["new threads", String(threads), fmt(threads / N, 1)],
          ...[...execs.entries()]
            .sort((a, b) => b[1] - a[1])
            .map(([prog, n]) => [`execve ${prog}`, String(n), fmt(n / N, 1)]),
        ],
      ),
    );
    print();
    await writeFile(join(results, "profile.md"), out.join("\n"));
    say(`raw files in ${results}`);
    bus.disconnect();
  } finally {
    await sandbox.down();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    say((error as Error).stack ?? String(error));
    process.exit(1);
  },
);
