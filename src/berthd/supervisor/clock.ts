/** Now, in µs since the epoch (CLOCK_REALTIME), the design's timestamp unit. */
export function nowMicros(): bigint {
  return BigInt(Date.now()) * 1000n;
}
