// Recovery at start(): berthd rebuilds its whole view from the state dir, with no runtime call for a
// container whose record says where it is. Live shims are re-attached through exit.fifo; exits that
// happened while berthd was down are reported after deliverPendingEvents(); a container whose shim
// died without exit.json is killed and recorded as exit 255; a dir without request.json (a create
// that crashed before writing it, so before any shim ran) is removed. Each case is logged.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { isNotFound } from "../runtime/client.js";
import { readPidFile } from "../state/atomic.js";
import { LOST_EXIT_CODE, readExit } from "../state/exit.js";
import { FILES } from "../state/layout.js";
import { readRecord, writeRecordSync } from "../state/record.js";
import { readContainerRequest, readProcessRequest } from "../state/request.js";
import { readStartedAt } from "../state/started.js";
import { processScopeName, shimScopeName } from "../systemd/scope.js";
import { nowMicros } from "./clock.js";
import { Container, ExecProcess } from "./container.js";
import type { SupervisorCore } from "./core.js";
import { containerInfo } from "./create.js";
import { processInfo } from "./exec.js";
import { settleLostShim, watchContainer, watchProcess } from "./exit.js";
import { recoverScope } from "./shim-scope.js";

/**
 * Containers recovered in parallel. The files are read synchronously (state/atomic.ts), so this bounds
 * only the rare waits: a runtime call, a scope to make, debris to remove.
 */
const RECOVERY_PARALLELISM = 16;

function listDir(dir: string): string[] {
  if (!existsSync(dir)) return []; // the usual processes/ dir: cheaper than a thrown ENOENT
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/** True when `pid` is alive and is the berth-shim for `id` (not a recycled pid). */
export function isLiveShim(pid: number, id: string): boolean {
  if (pid <= 0) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const idAt = argv.indexOf("--id");
    return basename(argv[0] ?? "") === "berth-shim" && idAt > 0 && argv[idAt + 1] === id;
  } catch {
    return false;
  }
}

export async function recoverContainers(core: SupervisorCore): Promise<void> {
  const ids = listDir(core.layout.containersDir);
  for (let i = 0; i < ids.length; i += RECOVERY_PARALLELISM) {
    await Promise.all(
      ids
        .slice(i, i + RECOVERY_PARALLELISM)
        .map((id) =>
          recoverContainer(core, id).catch((error: Error) =>
            core.log.error(`container ${id}: cannot recover it, left as it is on disk: ${error.message}`),
          ),
        ),
    );
  }
}

/** A create that crashed before request.json: no shim ever ran; the runtime may still know the id. */
async function removeDebris(core: SupervisorCore, id: string, dir: string): Promise<void> {
  core.log.warn(
    `container ${id}: its dir has no ${FILES.request} (a create that did not finish); removing it`,
  );
  for (const runtime of core.config.runtimes) {
    try {
      await core.runtime(runtime.name).delete(id, true);
    } catch (error) {
      if (!isNotFound(error)) core.log.warn(`container ${id}: ${(error as Error).message}`);
    }
  }
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

async function recoverContainer(core: SupervisorCore, id: string): Promise<void> {
  const dir = core.layout.containerDir(id);
  const request = readContainerRequest(dir);
  if (request === undefined) return removeDebris(core, id, dir);
  if (!core.config.runtimes.some((r) => r.name === request.runtime)) {
    throw new Error(`its runtime "${request.runtime}" is no longer configured`);
  }
  const record = readRecord(dir);
  const exit = readExit(dir);
  const shimPid = readPidFile(join(dir, FILES.shimPid));
  const pid = readPidFile(join(dir, FILES.initPid));
  const runtime = core.runtime(request.runtime);
  const container = new Container(containerInfo(request, pid, shimPid), request, dir, runtime, record);
  const { info } = container;
  if (record.exitReported) {
    // Reported already; an exit.json removed since then by hand is replaced by a recorded 255.
    const final = exit ?? (await settleLostShim(core, container));
    Object.assign(info, {
      status: "stopped",
      pid: 0,
      startedAt: record.startedAt,
      exitCode: final.exitCode,
      exitedAt: final.exitedAt,
      oomKilled: final.oomKilled,
    });
  } else {
    const shimAlive = isLiveShim(shimPid, id);
    if (!record.started) await learnStarted(core, container, shimAlive);
    if (shimAlive && record.unit === "" && core.scopes !== undefined) {
      record.unit = await recoverScope(core, shimScopeName(id), shimPid, `berth shim for container ${id}`);
      if (record.unit !== "") writeRecordSync(dir, record);
    }
    info.status = record.started ? (record.paused ? "paused" : "running") : "created";
    info.startedAt = record.startedAt;
    if (!shimAlive && exit === undefined) await settleLostShim(core, container);
    if (!shimAlive) core.log.info(`container ${id}: exited while berthd was down; reporting it`);
    // The usual case at verbose, and only formatted when shown: a line per container is a synchronous
    // write to journald, ≈ 10 % of a restart with 500; supervisor.start() logs the count.
    else if (core.log.isLevelEnabled("verbose"))
      core.log.verbose(`container ${id}: re-attached (${info.status}, pid ${pid}, shim ${shimPid})`);
  }
  // After recoverScope, which may just have made the scope.
  info.unit = record.unit;
  core.apply({ kind: "container-added", container, silent: true });
  if (info.status !== "stopped") watchContainer(core, container);
  await recoverProcesses(core, container);
}

/**
 * The record says "created": berthd may have died between the runtime's start and writing the record.
 * A shim run with --start (RunContainer) left started.json once its start succeeded; otherwise, while
 * the shim lives, only here is the runtime asked.
 */
async function learnStarted(core: SupervisorCore, container: Container, shimAlive: boolean): Promise<void> {
  const startedAt = readStartedAt(container.dir);
  if (startedAt > 0n) {
    Object.assign(container.record, { started: true, startedAt });
    writeRecordSync(container.dir, container.record);
    return;
  }
  if (!shimAlive) return;
  try {
    const state = await container.runtime.state(container.id);
    if (state.status !== "running" && state.status !== "paused") return;
    Object.assign(container.record, {
      started: true,
      startedAt: nowMicros(),
      paused: state.status === "paused",
    });
    writeRecordSync(container.dir, container.record);
  } catch (error) {
    core.log.warn(`container ${container.id}: ${(error as Error).message}`);
  }
}

async function recoverProcesses(core: SupervisorCore, container: Container): Promise<void> {
  for (const execId of listDir(core.layout.processesDir(container.id))) {
    const dir = core.layout.processDir(container.id, execId);
    const request = readProcessRequest(dir);
    if (request === undefined) {
      core.log.warn(`container ${container.id} process ${execId}: no ${FILES.request}; removing its dir`);
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
      continue;
    }
    const record = readRecord(dir);
    const exit = readExit(dir);
    const process = new ExecProcess(
      processInfo(request, readPidFile(join(dir, FILES.initPid))),
      request,
      dir,
      record,
    );
    const shimPid = readPidFile(join(dir, FILES.shimPid));
    if (
      !record.exitReported &&
      record.unit === "" &&
      core.scopes !== undefined &&
      isLiveShim(shimPid, container.id)
    ) {
      const unit = processScopeName(container.id, execId);
      record.unit = await recoverScope(
        core,
        unit,
        shimPid,
        `berth shim for process ${execId} of container ${container.id}`,
      );
      if (record.unit !== "") writeRecordSync(dir, record);
    }
    if (record.exitReported) {
      Object.assign(process.info, {
        status: "stopped",
        pid: 0,
        exitCode: exit?.exitCode ?? LOST_EXIT_CODE,
        exitedAt: exit?.exitedAt ?? 0n,
      });
    }
    core.apply({ kind: "process-added", container, process, silent: true });
    if (process.info.status !== "stopped") watchProcess(core, container, process);
  }
}
