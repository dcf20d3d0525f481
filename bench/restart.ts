// How long `systemctl restart berthd` takes with N running containers, in a real systemd (the
// sandbox of test/sandbox/, berth installed from its .deb as test/systemd/install.ts does), and the
// slowest D-Bus call made while it restarts. Prints a markdown table.
//
//   npm run build && node dist/bench/restart.js [--counts 50,200] [--runs 5]
//
// Per count: the containers (`sleep`, one read-only busybox rootfs) are started, then `runs` times:
// callers keep calling ListContainers (two through one system-bus connection, two through a new
// connection to /run/berth/private each) while `systemctl restart berthd` runs inside the sandbox.
// Columns:
// - restart: `systemctl restart berthd` wall time inside the sandbox. berthd.service is Type=notify,
//   so it returns when the new berthd has re-attached every container and sent READY=1.
// - exec→READY: systemd's own clock, from the new berthd's exec (ExecMainStartTimestampMonotonic) to
//   READY=1 (ActiveEnterTimestampMonotonic): Node's start-up plus recovery.
// - CPU to READY: the new berthd's user + system time (/proc/<pid>/stat, 10 ms ticks) when systemctl
//   returns: what its start-up and recovery cost, which moves far less than wall time on a busy machine.
// - slowest call: the slowest ListContainers answered during any of the runs (bus / private), and
//   how many calls failed (should be 0; a call with no answer in 10 s counts as failed, and each
//   failure is printed on stderr).

import { parseArgs } from "node:util";
import type { MessageBus } from "../src/common/bus.js";
import { Sandbox } from "../test/sandbox/sandbox.js";
import {
  BundleFarm,
  listContainers,
  Prober,
  privateAddress,
  runMany,
  show,
  sleep,
  systemBus,
} from "../test/systemd/helpers.js";
import { installBerth } from "../test/systemd/install.js";

const { values } = parseArgs({
  options: { counts: { type: "string", default: "50,200" }, runs: { type: "string", default: "5" } },
});
const counts = String(values.counts).split(",").map(Number);
const runs = Number(values.runs);

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}

interface Row {
  count: number;
  restartMs: number[];
  readyMs: number[];
  cpuMs: number[];
  slowestBusMs: number;
  slowestPrivateMs: number;
  calls: number;
  failed: number;
}

async function measure(sandbox: Sandbox, bus: MessageBus, count: number): Promise<Row> {
  const row: Row = {
    count,
    restartMs: [],
    readyMs: [],
    cpuMs: [],
    slowestBusMs: 0,
    slowestPrivateMs: 0,
    calls: 0,
    failed: 0,
  };
  for (let run = 0; run < runs; run++) {
    const prober = new Prober(bus, privateAddress(sandbox), count, 10_000).start();
    await sleep(200);
    const out = await sandbox.execOk(
      "sh",
      [
        "-c",
        "a=$(date +%s%N); systemctl restart berthd.service; b=$(date +%s%N); " +
          "p=$(systemctl show -p MainPID --value berthd.service); " +
          "echo $(( (b - a) / 1000000 )) $(cut -d' ' -f14,15 /proc/$p/stat) $(getconf CLK_TCK)",
      ],
      { timeoutMs: 300_000 },
    );
    await sleep(300);
    const results = await prober.stop();
    const [ms, user, system, hz] = out.trim().split(/\s+/).map(Number);
    row.restartMs.push(ms);
    row.cpuMs.push(Math.round(((user + system) * 1000) / hz));
    const s = await show(
      sandbox,
      "berthd.service",
      "ExecMainStartTimestampMonotonic",
      "ActiveEnterTimestampMonotonic",
    );
    row.readyMs.push(
      Math.round(
        (Number(s.ActiveEnterTimestampMonotonic) - Number(s.ExecMainStartTimestampMonotonic)) / 1000,
      ),
    );
    row.slowestBusMs = Math.max(row.slowestBusMs, results.bus.slowestMs);
    row.slowestPrivateMs = Math.max(row.slowestPrivateMs, results.private.slowestMs);
    row.calls += results.bus.ok + results.private.ok;
    row.failed += results.bus.failures.length + results.private.failures.length;
    for (const f of [...results.bus.failures, ...results.private.failures])
      process.stderr.write(`failed: ${f.text}\n`);
    const list = await listContainers(bus);
    const running = [...list.values()].filter((c) => c.status === "running").length;
    if (running !== count)
      throw new Error(`after restart ${run + 1}: ${running} of ${count} containers running`);
    process.stderr.write(`${count} containers, restart ${run + 1}: ${ms} ms, CPU ${row.cpuMs.at(-1)} ms\n`);
  }
  return row;
}

const sandbox = new Sandbox();
let bus: MessageBus | undefined;
try {
  await sandbox.up();
  const installed = await installBerth(sandbox);
  await sandbox.execOk("systemctl", ["start", "berthd.service"], { timeoutMs: 60_000 });
  bus = await systemBus(sandbox);
  const farm = await BundleFarm.create(sandbox);
  const rows: Row[] = [];
  let running = 0;
  for (const count of counts) {
    const ids = Array.from({ length: count - running }, (_, i) => `bench-${running + i}`);
    const started = Date.now();
    await runMany(bus, farm, ids, ["sleep", "1000000"]);
    process.stderr.write(`started ${ids.length} containers in ${Date.now() - started} ms\n`);
    running = count;
    rows.push(await measure(sandbox, bus, count));
  }
  const cpus = (await sandbox.execOk("nproc")).trim();
  console.log(
    `\nberth ${installed.version} (${installed.source}), systemd sandbox, ${cpus} CPUs, median of ${runs} restarts\n`,
  );
  console.log(
    "| containers | systemctl restart (READY=1) | exec→READY=1 | CPU to READY=1 | slowest call, bus | slowest call, private socket | calls during restarts | failed |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.count} | ${median(r.restartMs)} ms (${Math.min(...r.restartMs)}–${Math.max(...r.restartMs)}) | ${median(r.readyMs)} ms | ${median(r.cpuMs)} ms | ${r.slowestBusMs} ms | ${r.slowestPrivateMs} ms | ${r.calls} | ${r.failed} |`,
    );
  }
} finally {
  bus?.disconnect();
  await sandbox.down();
}
