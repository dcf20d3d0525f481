// Moving a shim out of berthd.service into its own transient scope in berth.slice, so that restarting
// berthd (KillMode=process anyway) never touches it and `systemctl status` names what it is for. Done
// right after the shim's first process reports success: by then the long-lived shim is the only
// berth process left in berthd.service's cgroup for this container (runc has exited; the container's
// init is in its own berth-<id>.scope, or in /berth/<id> with cgroupfs), and moving a process does not
// take along children it forked earlier, so nothing else needs to move.
//
// A scope that cannot be made is not worth failing a running container for: the shim stays in
// berthd.service's cgroup (KillMode=process spares it) and the failure is logged; Unit stays "".

import { readFileSync } from "node:fs";
import type { SupervisorCore } from "./core.js";

/** Puts `shimPid` into the scope `unit`; returns the unit, or "" without systemd or on failure. */
export async function placeInScope(
  core: SupervisorCore,
  unit: string,
  shimPid: number,
  description: string,
): Promise<string> {
  const { scopes } = core;
  // PIDs=[0] would mean "the caller": berthd itself would move into the scope.
  if (scopes === undefined || shimPid <= 0) return "";
  try {
    return await scopes.createUnit(unit, [shimPid], description);
  } catch (error) {
    core.log.warn(
      `${unit}: cannot move shim ${shimPid} into its scope, it stays in berthd's: ${(error as Error).message}`,
    );
    return "";
  }
}

/**
 * Stops the scope if it is still there (normally systemd has collected it when the shim exited:
 * CollectMode=inactive-or-failed); systemd kills whatever is left in it. Never fails a Delete.
 */
export async function removeScope(core: SupervisorCore, unit: string): Promise<void> {
  const { scopes } = core;
  if (scopes === undefined || unit === "") return;
  try {
    await scopes.stopUnit(unit);
  } catch (error) {
    core.log.warn(`${unit}: cannot stop it: ${(error as Error).message}`);
  }
}

/** True when /proc/<pid>/cgroup places the process in `unit` (any hierarchy). */
function inUnit(pid: number, unit: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, "utf8")
      .split("\n")
      .some((line) => line.endsWith(`/${unit}`));
  } catch {
    return false;
  }
}

/**
 * Recovery of a live shim whose record names no scope: berthd stopped between the shim's launch and
 * the scope's creation (or before recording it). Its scope is adopted when the shim is in it already,
 * else made now, so no shim stays in berthd.service's cgroup across a restart.
 */
export async function recoverScope(
  core: SupervisorCore,
  unit: string,
  shimPid: number,
  description: string,
): Promise<string> {
  if (core.scopes === undefined) return "";
  if (inUnit(shimPid, unit)) return unit;
  const placed = await placeInScope(core, unit, shimPid, description);
  if (placed !== "") core.log.info(`${unit}: shim ${shimPid} was still in berthd's cgroup; moved`);
  return placed;
}
