// Facts about processes from /proc: parent, liveness, memory, and which ones a test started.

import { readdirSync, readFileSync } from "node:fs";

/** /proc/<pid>/smaps_rollup as numbers in kB, e.g. { Rss: 812, Private_Dirty: 164, ... }. */
export function readSmapsRollup(pid: number): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const line of readFileSync(`/proc/${pid}/smaps_rollup`, "utf8").split("\n")) {
    const match = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (match) fields[match[1]] = Number(match[2]);
  }
  return fields;
}

/** The PPid line of /proc/<pid>/status. */
export function parentPid(pid: number): number {
  const match = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no PPid in /proc/${pid}/status`);
  return Number(match[1]);
}

/** True while `pid` exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Pids of every process whose command line mentions `text` (our unique temp dir: only our processes). */
export function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text)) pids.push(Number(entry));
    } catch {
      // the process left while we looked
    }
  }
  return pids;
}
