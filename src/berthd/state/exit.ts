// exit.json: written by the shim when the process it watches exits (docs/shim.md), or by berthd when
// the shim died without writing it (then `recorded_by` is "berthd" and the code is 255).

import { join } from "node:path";
import type { Micros } from "../../common/types.js";
import { readJsonIfExists, writeJsonAtomic } from "./atomic.js";
import { FILES } from "./layout.js";

export interface ExitStatus {
  pid: number;
  exitCode: number;
  signal: number;
  exitedAt: Micros;
  oomKilled: boolean;
  /** True when berthd wrote it because the shim was gone without an exit.json. */
  recordedByBerthd: boolean;
}

/** Exit code berthd records when a shim vanished and the process's real status is unknowable. */
export const LOST_EXIT_CODE = 255;

function int(value: unknown): number {
  return typeof value === "number" && Number.isInteger(value) ? value : 0;
}

export function readExit(dir: string): ExitStatus | undefined {
  const raw = readJsonIfExists(join(dir, FILES.exitJson)) as Record<string, unknown> | undefined;
  if (raw === undefined) return undefined;
  const at = raw.exited_at;
  return {
    pid: int(raw.pid),
    exitCode: typeof raw.exit_code === "number" ? raw.exit_code : LOST_EXIT_CODE,
    signal: int(raw.signal),
    exitedAt: typeof at === "number" || (typeof at === "string" && /^\d+$/.test(at)) ? BigInt(at) : 0n,
    oomKilled: raw.oom_killed === true,
    recordedByBerthd: raw.recorded_by === "berthd",
  };
}

export function writeLostExit(dir: string, pid: number, exitedAt: Micros): Promise<void> {
  return writeJsonAtomic(join(dir, FILES.exitJson), {
    pid,
    exit_code: LOST_EXIT_CODE,
    signal: 0,
    exited_at: Number(exitedAt),
    oom_killed: false,
    recorded_by: "berthd",
  });
}
