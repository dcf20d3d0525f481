// Signal arguments: a name with or without "SIG" (TERM, SIGTERM, sigkill) or a number (9).

import { constants } from "node:os";
import { UsageError } from "./errors.js";

const SIGNALS = constants.signals as Record<string, number>;

export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < 1 || n > 64) throw new UsageError(`signal number ${text} is out of range (1-64)`);
    return n;
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  const n = SIGNALS[name];
  if (n === undefined)
    throw new UsageError(`unknown signal "${text}" (try TERM, KILL, HUP, INT or a number)`);
  return n;
}
