// The global arguments a runtime gets for the configured cgroup driver. runc and crun spell the
// systemd driver differently; anything else is assumed to take runc's spelling.

import { basename } from "node:path";
import type { CgroupDriver, RuntimeConfig } from "../../common/types.js";

export function isCrun(runtime: RuntimeConfig): boolean {
  return basename(runtime.path).startsWith("crun");
}

/** The runtime's global args: the configured ones, plus the systemd cgroup driver's flag when chosen. */
export function runtimeGlobalArgs(runtime: RuntimeConfig, driver: CgroupDriver): string[] {
  if (driver !== "systemd") return [...runtime.args];
  return [...runtime.args, isCrun(runtime) ? "--cgroup-manager=systemd" : "--systemd-cgroup"];
}

/** linux.cgroupsPath for a container: the supervisor chooses it (docs/supervisor.md). */
export function cgroupsPath(id: string, driver: CgroupDriver): string {
  return driver === "systemd" ? `berth.slice:berth:${id}` : `/berth/${id}`;
}
