// JSON output: D-Bus `t` values arrive as bigint, which JSON.stringify refuses; µs timestamps and
// byte counts fit a JSON number exactly (below 2^53) for the next few centuries.

export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? Number(v) : v), indent);
}
