// Start throughput (issue 3, "Measure and report"): N containers started with RunContainer at a
// given concurrency through a real berthd on a private bus, next to raw `runc run -d` on the same
// bundles in the same run; berthd's RSS (and the shims' memory) with N containers running, and the
// time a SIGKILLed berthd takes to recover them all and serve again. Prints a
// markdown table; removes every container, shim, bus and temp dir it made.
//
//   node dist/bench/start.js [containers=100] [concurrency=10]

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { callBusDaemon, type MessageBus } from "../src/common/bus.js";
import {
  BUS_NAME,
  CONTAINER_INTERFACE,
  containerPath,
  MANAGER_INTERFACE,
  MANAGER_PATH,
} from "../src/common/bus-path.js";
import { type Bundle, makeBundle, makeTempDir, uniqueId } from "../test/fixtures/bundle.js";
import { startBerthd, testConfig } from "../test/helpers/berthd.js";
import { callMethod } from "../test/helpers/dbus.js";
import { runc, runtimeCommand } from "../test/helpers/runtime.js";

const count = Number(process.argv[2] ?? 100);
const concurrency = Number(process.argv[3] ?? 10);

/** Runs `work` for every item with at most `limit` in flight; resolves with the wall time in seconds. */
async function timed<T>(
  items: T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<number> {
  const started = process.hrtime.bigint();
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  });
  await Promise.all(lanes);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function statusKiB(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
}

function privateDirtyKiB(pid: number): number {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    return Number(/Private_Dirty:\s+(\d+)/.exec(rollup)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The bus drops a SIGKILLed owner's name a moment after it died. */
async function nameReleased(client: MessageBus): Promise<void> {
  for (;;) {
    const [owned] = await callBusDaemon(client, "NameHasOwner", "s", [BUS_NAME]);
    if (owned === false) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `runc run -d`, its stdio on /dev/null (a detached container would otherwise hold our pipes). */
function runcRunDetached(root: string, bundle: string, id: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(runc().path, ["--root", root, "run", "-d", "--bundle", bundle, id], {
      stdio: "ignore",
    });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`runc run ${id}: exit ${code}`))));
  });
}

async function rawRunc(bundles: Bundle[]): Promise<number> {
  const root = makeTempDir("bench-runc");
  const ids = Array.from({ length: count }, () => uniqueId("raw"));
  const started: string[] = [];
  try {
    return await timed(ids, concurrency, async (id, i) => {
      await runcRunDetached(root.path, bundles[i % bundles.length]!.path, id);
      started.push(id);
    });
  } finally {
    await timed(started, concurrency, async (id) => {
      await runtimeCommand(runc(), root.path, ["delete", "-f", id]);
    });
    await root.remove();
  }
}

interface BerthdResult {
  seconds: number;
  recoverySeconds: number;
  rssIdleKiB: number;
  rssKiB: number;
  shimRssKiB: number;
  shimPrivateDirtyKiB: number;
}

async function viaBerthd(bundles: Bundle[]): Promise<BerthdResult> {
  const berthd = await startBerthd({ config: testConfig({ maxConcurrentStarts: concurrency }) });
  try {
    const client = await berthd.connect();
    const rssIdleKiB = statusKiB(berthd.pid, "VmRSS");
    const ids = Array.from({ length: count }, () => uniqueId("bench"));
    const seconds = await timed(ids, concurrency, async (id, i) => {
      await callMethod(client, MANAGER_PATH, MANAGER_INTERFACE, "RunContainer", "ssa{sv}", [
        id,
        bundles[i % bundles.length]!.path,
        {},
      ]);
    });
    const rssKiB = statusKiB(berthd.pid, "VmRSS");
    const shims = ids.map((id) =>
      Number(readFileSync(join(berthd.stateDir, "containers", id, "shim.pid"), "utf8")),
    );
    const shimRssKiB = shims.reduce((sum, pid) => sum + statusKiB(pid, "VmRSS"), 0) / shims.length;
    const shimPrivateDirtyKiB = shims.reduce((sum, pid) => sum + privateDirtyKiB(pid), 0) / shims.length;
    // A crash and restart with every container running: time until the new berthd serves again.
    await berthd.kill();
    await nameReleased(client);
    const restartedAt = process.hrtime.bigint();
    await berthd.restart();
    const recoverySeconds = Number(process.hrtime.bigint() - restartedAt) / 1e9;
    await timed(ids, concurrency, async (id) => {
      await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Kill", "si", ["all", 9]);
      await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Wait");
      await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Delete");
    });
    return { seconds, recoverySeconds, rssIdleKiB, rssKiB, shimRssKiB, shimPrivateDirtyKiB };
  } finally {
    await berthd.cleanup();
  }
}

async function main(): Promise<void> {
  const bundles = await Promise.all(
    Array.from({ length: concurrency }, () => makeBundle({ args: ["sleep", "600"] })),
  );
  try {
    process.stderr.write(
      `bench/start: ${count} containers, concurrency ${concurrency}: raw runc run -d ...\n`,
    );
    const raw = await rawRunc(bundles);
    process.stderr.write("bench/start: berthd RunContainer ...\n");
    const berth = await viaBerthd(bundles);
    const rate = (seconds: number) => (count / seconds).toFixed(1);
    const mib = (kib: number) => (kib / 1024).toFixed(1);
    console.log(
      `### Start throughput: ${count} containers, concurrency ${concurrency} (busybox \`sleep\`)\n`,
    );
    console.log("| path | wall time (s) | containers/s |");
    console.log("|---|---:|---:|");
    console.log(`| raw \`runc run -d\` | ${raw.toFixed(2)} | ${rate(raw)} |`);
    console.log(
      `| berthd RunContainer over D-Bus (shim + runc create, runc start) | ${berth.seconds.toFixed(2)} | ${rate(berth.seconds)} |`,
    );
    console.log("");
    console.log("| other | value |");
    console.log("|---|---:|");
    console.log(
      `| berthd restart after SIGKILL, ${count} running containers, until serving | ${(berth.recoverySeconds * 1000).toFixed(0)} ms |`,
    );
    console.log(`| berthd RSS, idle | ${mib(berth.rssIdleKiB)} MiB |`);
    console.log(`| berthd RSS with ${count} containers | ${mib(berth.rssKiB)} MiB |`);
    console.log(`| berth-shim RSS, mean | ${berth.shimRssKiB.toFixed(0)} KiB |`);
    console.log(`| berth-shim private dirty, mean | ${berth.shimPrivateDirtyKiB.toFixed(0)} KiB |`);
  } finally {
    await Promise.all(bundles.map((b) => b.remove()));
  }
}

main().catch((error: unknown) => {
  console.error(`bench/start: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
});
