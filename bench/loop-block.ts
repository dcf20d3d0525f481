// How long starting one process blocks the event loop, at several sizes of the starting process
// (issue 5): Node's spawn() forks the caller on its loop thread, copying its page tables, while the
// launcher's run() (src/berthd/shim/launcher.ts) writes one request to a pipe. Timed is the synchronous
// call only (the loop can do nothing else meanwhile), median of N starts of `true` at each size; the
// size grows with touched buffers, as berthd's does with its heap. Prints markdown.
//
//   npm run build && node dist/bench/loop-block.js [N=20]

import { spawn } from "node:child_process";
import { Launcher } from "../src/berthd/shim/launcher.js";
import { childEnvironment } from "../src/berthd/systemd/notify.js";
import { SHIM_PATH } from "../test/helpers/shim.js";
import { fmt, median, nowMs, table } from "./lib.js";

const N = Number(process.argv[2] ?? 20);
const GROW_TO_MB = [0, 150, 350];

function rssMb(): number {
  return process.memoryUsage().rss / (1 << 20);
}

async function spawnBlocks(env: NodeJS.ProcessEnv): Promise<number> {
  const started = nowMs();
  const child = spawn("true", [], { stdio: ["ignore", "ignore", "pipe"], env });
  const blocked = nowMs() - started;
  await new Promise((resolve) => child.on("close", resolve));
  return blocked;
}

async function launcherBlocks(launcher: Launcher): Promise<number> {
  const started = nowMs();
  const running = launcher.run(["true"], { stdout: false, timeoutMs: 10_000, maxOutput: 1 << 16 });
  const blocked = nowMs() - started;
  await running;
  return blocked;
}

async function main(): Promise<void> {
  const launcher = new Launcher(SHIM_PATH);
  launcher.start();
  const env = childEnvironment();
  const ballast: Buffer[] = [];
  const rows: string[][] = [];
  for (const target of GROW_TO_MB) {
    // Filled, so every page is mapped and a fork has its page table entries to copy.
    while (rssMb() < target) ballast.push(Buffer.alloc(16 << 20, 1));
    const spawned: number[] = [];
    const launched: number[] = [];
    for (let i = 0; i < N; i++) {
      spawned.push(await spawnBlocks(env));
      launched.push(await launcherBlocks(launcher));
    }
    const spawnMs = median(spawned);
    const launcherMs = median(launched);
    rows.push([fmt(rssMb(), 0), fmt(spawnMs, 2), fmt(launcherMs, 3), `${fmt(spawnMs / launcherMs, 0)}×`]);
  }
  await launcher.stop();
  process.stdout.write(
    `### The event loop blocked per process started (median of ${N})\n\n` +
      `${table([">RSS MB", ">spawn() ms", ">launcher.run() ms", ">spawn / launcher"], rows)}\n`,
  );
}

await main();
