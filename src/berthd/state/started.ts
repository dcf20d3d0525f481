// started.json: written by the shim run with --start once the runtime's start succeeded
// (docs/shim.md); it holds when the shim issued that start, berthd's StartedAt.

import { join } from "node:path";
import type { Micros } from "../../common/types.js";
import { readJsonIfExists } from "./atomic.js";
import { FILES } from "./layout.js";

/** When the shim issued the start, or 0n when it has not started the process (no started.json). */
export function readStartedAt(dir: string): Micros {
  const raw = readJsonIfExists(join(dir, FILES.started)) as Record<string, unknown> | undefined;
  const at = raw?.started_at;
  return typeof at === "number" && Number.isSafeInteger(at) && at > 0 ? BigInt(at) : 0n;
}
