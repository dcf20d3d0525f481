// GetStats(): read straight from the container's cgroup files (no runtime call), found through
// /proc/<init pid>/cgroup. cgroup v1 when a memory controller line is there, else v2.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { InvalidStateError } from "../../common/errors.js";
import type { ContainerStats } from "../../common/types.js";
import type { Container } from "./container.js";

const CGROUP_ROOT = "/sys/fs/cgroup";

async function readNumber(path: string): Promise<bigint | undefined> {
  try {
    const text = (await readFile(path, "utf8")).trim();
    // v2 writes "max" for no limit: reported as no value, like a file that is not there.
    return /^\d+$/.test(text) ? BigInt(text) : undefined;
  } catch {
    return undefined;
  }
}

async function readKey(path: string, key: string): Promise<bigint | undefined> {
  try {
    const line = (await readFile(path, "utf8")).split("\n").find((l) => l.startsWith(`${key} `));
    return line === undefined ? undefined : BigInt(line.slice(key.length + 1).trim());
  } catch {
    return undefined;
  }
}

/** controller name → the cgroup's directory, from /proc/<pid>/cgroup; "" is the v2 unified one. */
function cgroupDirs(procCgroup: string): Map<string, string> {
  const dirs = new Map<string, string>();
  const unifiedRoot = existsSync(join(CGROUP_ROOT, "cgroup.controllers"))
    ? CGROUP_ROOT
    : join(CGROUP_ROOT, "unified");
  for (const line of procCgroup.split("\n")) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (match === null) continue;
    const [, field, path] = match as unknown as [string, string, string];
    if (field === "") {
      dirs.set("", join(unifiedRoot, path));
      continue;
    }
    for (const controller of field.split(",")) dirs.set(controller, join(CGROUP_ROOT, field, path));
  }
  return dirs;
}

export async function containerStats(container: Container): Promise<ContainerStats> {
  const { status, pid } = container.info;
  if ((status !== "running" && status !== "paused") || pid <= 0) {
    throw new InvalidStateError(`container ${container.id} is ${status}: stats need a running one`);
  }
  let procCgroup: string;
  try {
    procCgroup = await readFile(`/proc/${pid}/cgroup`, "utf8");
  } catch {
    throw new InvalidStateError(`container ${container.id}: its process ${pid} is gone`);
  }
  const dirs = cgroupDirs(procCgroup);
  // A runtime running without cgroups (crun --cgroup-manager=disabled) leaves the container in the
  // shim's cgroup: those numbers would be someone else's, so there are none to give.
  const own = [...dirs.values()].some(
    (dir) => dir.endsWith(`/berth/${container.id}`) || dir.endsWith(`/berth-${container.id}.scope`),
  );
  if (!own) {
    throw new InvalidStateError(
      `container ${container.id} has no cgroup of its own (its runtime runs without cgroups)`,
    );
  }
  const memory = dirs.get("memory");
  if (memory !== undefined) {
    const cpuacct = dirs.get("cpuacct");
    const pids = dirs.get("pids");
    return {
      memoryCurrent: (await readNumber(join(memory, "memory.usage_in_bytes"))) ?? 0n,
      memoryLimit: await readNumber(join(memory, "memory.limit_in_bytes")),
      memoryMaxUsage: await readNumber(join(memory, "memory.max_usage_in_bytes")),
      cpuUsageNSec: cpuacct === undefined ? 0n : ((await readNumber(join(cpuacct, "cpuacct.usage"))) ?? 0n),
      pids: pids === undefined ? 0n : ((await readNumber(join(pids, "pids.current"))) ?? 0n),
    };
  }
  const unified = dirs.get("");
  if (unified === undefined)
    throw new InvalidStateError(`container ${container.id}: no cgroup found for pid ${pid}`);
  const usageUsec = await readKey(join(unified, "cpu.stat"), "usage_usec");
  return {
    memoryCurrent: (await readNumber(join(unified, "memory.current"))) ?? 0n,
    memoryLimit: await readNumber(join(unified, "memory.max")),
    memoryMaxUsage: await readNumber(join(unified, "memory.peak")),
    cpuUsageNSec: usageUsec === undefined ? 0n : usageUsec * 1000n,
    pids: (await readNumber(join(unified, "pids.current"))) ?? 0n,
  };
}
