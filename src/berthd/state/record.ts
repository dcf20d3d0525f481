// berthd.json: berthd's own per-container (and per-process) record of what only it knows, so a
// restart rebuilds the status of hundreds of containers without asking the runtime about each one.
// Rewritten (tmp + rename) on every change; the shim never reads it.

import { join } from "node:path";
import type { Micros } from "../../common/types.js";
import { readJsonIfExists, writeJsonAtomicSync } from "./atomic.js";
import { FILES } from "./layout.js";

export interface StateRecord {
  /** The runtime's start succeeded (the user process runs or ran). */
  started: boolean;
  startedAt: Micros;
  paused: boolean;
  /** container-exited (process-exited) was emitted for the exit in exit.json: never report it twice. */
  exitReported: boolean;
  /** The shim's transient scope (berth-shim-<id>.scope), "" when it has none (no systemd). */
  unit: string;
}

export const INITIAL_RECORD: StateRecord = {
  started: false,
  startedAt: 0n,
  paused: false,
  exitReported: false,
  unit: "",
};

export function writeRecordSync(dir: string, record: StateRecord): void {
  writeJsonAtomicSync(join(dir, FILES.record), record);
}

/** The record, or the initial one when berthd never wrote one (it crashed before the first change). */
export function readRecord(dir: string): StateRecord {
  const raw = readJsonIfExists(join(dir, FILES.record)) as Record<string, unknown> | undefined;
  if (raw === undefined) return { ...INITIAL_RECORD };
  return {
    started: raw.started === true,
    startedAt: typeof raw.startedAt === "string" && /^\d+$/.test(raw.startedAt) ? BigInt(raw.startedAt) : 0n,
    paused: raw.paused === true,
    exitReported: raw.exitReported === true,
    unit: typeof raw.unit === "string" ? raw.unit : "",
  };
}
