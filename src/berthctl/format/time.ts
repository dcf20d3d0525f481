// Timestamps as the API gives them (µs since the epoch, 0 = not yet) made readable.

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** systemctl's style, in UTC: "Fri 2026-11-27 09:30:59 UTC"; "-" for 0. */
export function formatMicros(micros: bigint): string {
  if (micros === 0n) return "-";
  const d = new Date(Number(micros / 1000n));
  return (
    `${WEEKDAYS[d.getUTCDay()]} ${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`
  );
}

/** "3s ago", "5min ago", "2h ago", "4 days ago" relative to nowMs. */
export function formatAgo(micros: bigint, nowMs: number): string {
  const seconds = Math.max(0, Math.floor((nowMs - Number(micros / 1000n)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  const days = Math.floor(seconds / 86400);
  return `${days} day${days === 1 ? "" : "s"} ago`;
}

/** RFC 3339 with microseconds, for JSON output. */
export function isoMicros(micros: bigint): string {
  if (micros === 0n) return "";
  return new Date(Number(micros / 1000n))
    .toISOString()
    .replace(/\.\d{3}Z$/, `.${pad(Number(micros % 1000000n), 6)}Z`);
}
