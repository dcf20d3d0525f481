// Every file berthd writes under the state dir is written to a temp name and renamed into place, so a
// crash leaves either the old file or the new one, never half of one.

import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(4).toString("hex")}.tmp`);
}

/** JSON with bigints written as decimal strings (timestamps are µs and do not fit a double safely). */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`;
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = tempName(path);
  try {
    await writeFile(tmp, toJson(value), { mode: 0o600 });
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** The synchronous twin, for the supervisor's state-applying step, which must not yield mid-change. */
export function writeJsonAtomicSync(path: string, value: unknown): void {
  const tmp = tempName(path);
  try {
    writeFileSync(tmp, toJson(value), { mode: 0o600 });
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

// The readers are synchronous: the state files are a few hundred bytes on tmpfs (/run), read in µs,
// where fs/promises' readFile makes four thread-pool round trips (open, fstat, read, close) per file;
// a restart reads five files per container before READY=1. A missing file (exit.json of a running
// container) is looked for with existsSync first: a thrown ENOENT (an Error with its stack) costs
// several times the check.

/** The parsed JSON file, or undefined when it does not exist. Other errors (bad JSON, EACCES) throw. */
export function readJsonIfExists(path: string): unknown {
  if (!existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return JSON.parse(text);
}

/** A decimal pid file (shim.pid, init.pid), or 0 when missing or unreadable. */
export function readPidFile(path: string): number {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}
