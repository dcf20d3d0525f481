// Small helpers shared by the benchmarks: timing, statistics, running commands, /proc memory figures
// and markdown tables. No benchmark logic here.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

/** Milliseconds since an arbitrary origin, with sub-ms resolution. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** The value at percentile p (0–100) of `values` (nearest rank); NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `work` for every item with at most `limit` in flight; resolves with the wall time in ms. */
export async function pool<T>(
  items: T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<number> {
  const started = nowMs();
  let next = 0;
  let failure: unknown;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length && failure === undefined) {
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (error) {
        failure ??= error;
      }
    }
  });
  await Promise.all(lanes);
  if (failure !== undefined) throw failure;
  return nowMs() - started;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to its end (stdin closed), capturing its output and wall time. Never throws for a non-zero exit. */
export function run(
  cmd: string,
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number;
    /**
     * No stdio at all, and done when the process exits: for commands that leave a process holding
     * their stdio (`runc run -d` hands its own to the container).
     */
    detach?: boolean;
  } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = nowMs();
    const child = spawn(cmd, args, {
      stdio: options.detach ? "ignore" : ["ignore", "pipe", "pipe"],
      env: options.env ?? process.env,
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on(options.detach ? "exit" : "close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 0), stdout, stderr, ms: nowMs() - started });
    });
  });
}

/** run() that throws unless the command exits 0. */
export async function runOk(
  cmd: string,
  args: string[],
  options: Parameters<typeof run>[2] = {},
): Promise<RunResult> {
  const result = await run(cmd, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return result;
}

export interface Memory {
  rssKiB: number;
  pssKiB: number;
  privateDirtyKiB: number;
}

/** RSS, PSS and private dirty of a process from /proc/<pid>/smaps_rollup (KiB). */
export function memoryOf(pid: number): Memory {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(rollup)?.[1] ?? Number.NaN);
  return { rssKiB: field("Rss"), pssKiB: field("Pss"), privateDirtyKiB: field("Private_Dirty") };
}

/** VmRSS of a process (KiB). */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
}

/** The parent pid of a process. */
export function parentPid(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

export function comm(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
}

// ---- formatting

export function fmt(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "–";
}

/** berth / reference, as "0.42×". */
export function ratio(berth: number, reference: number): string {
  if (!Number.isFinite(berth) || !Number.isFinite(reference) || reference === 0) return "–";
  return `${(berth / reference).toFixed(2)}×`;
}

/** A markdown table. Columns whose header starts with ">" are right-aligned (the ">" is dropped). */
export function table(headers: string[], rows: string[][]): string {
  const head = headers.map((h) => (h.startsWith(">") ? h.slice(1) : h));
  const align = headers.map((h) => (h.startsWith(">") ? "---:" : "---"));
  return [head, align, ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}
