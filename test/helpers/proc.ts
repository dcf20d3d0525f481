// Facts about processes from /proc: parent, liveness, memory, which ones a test started; and an fd
// a child could inherit.

import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import type { TestContext } from "node:test";
import koffi from "koffi";

const F_SETFD = 2;

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

/** True once `pid` no longer exists (or is a zombie), polling for up to `timeoutMs`. */
export async function processGone(pid: number, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"))) return true;
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

/** Pids of `pid`'s children whose command line mentions `text`. */
export function childrenOf(pid: number, text: string): number[] {
  return processesMentioning(text).filter((child) => {
    try {
      return parentPid(child) === pid;
    } catch {
      return false; // it left while we looked
    }
  });
}

/**
 * Opens `path` for writing without close-on-exec, as native modules do (Node's own fds have it), so a
 * test can see whether a child inherits it; closed when the test ends.
 */
export function openInheritable(t: TestContext, path: string): number {
  const fd = openSync(path, "w");
  t.after(() => closeSync(fd));
  const fcntl = koffi.load("libc.so.6").func("int fcntl(int fd, int cmd, int arg)") as (
    fd: number,
    cmd: number,
    arg: number,
  ) => number;
  if (fcntl(fd, F_SETFD, 0) !== 0) throw new Error(`fcntl(${fd}, F_SETFD, 0) failed`);
  return fd;
}
