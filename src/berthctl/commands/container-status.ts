// A container's status in words, as ps and status show it.

import type { Properties } from "../api/client.js";
import { formatAgo } from "../format/time.js";

/** "running since 5s ago" style: "running 5s", "stopped (exit 3) 2min ago", "created", "paused". */
export function describeStatus(props: Properties, nowMs: number): string {
  const status = String(props.Status);
  if (status === "stopped") {
    const oom = props.OOMKilled === true ? ", OOM-killed" : "";
    const exited = (props.ExitedAt as bigint | undefined) ?? 0n;
    return `stopped (exit ${props.ExitCode}${oom})${exited ? ` ${formatAgo(exited, nowMs)}` : ""}`;
  }
  if (status === "running") {
    const started = (props.StartedAt as bigint | undefined) ?? 0n;
    return started ? `running, started ${formatAgo(started, nowMs)}` : "running";
  }
  return status;
}
