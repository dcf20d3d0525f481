// Exec(): a new process in a running container, run by its own shim in processes/<exec-id>/. Its
// process.json is the container's process (from berthd's copy of the bundle) with the caller's
// Args/Env/Cwd/Terminal/Uid/Gid laid over it.

import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { InvalidStateError, ProcessExistsError } from "../../common/errors.js";
import type { ExecSpec, ProcessInfo } from "../../common/types.js";
import { EarlyOutput } from "../shim/early-output.js";
import { launchShim } from "../shim/launch.js";
import { writeJsonAtomic } from "../state/atomic.js";
import { FILES } from "../state/layout.js";
import { INITIAL_RECORD } from "../state/record.js";
import { type ProcessRequest, writeRequest } from "../state/request.js";
import { processScopeName } from "../systemd/scope.js";
import { nowMicros } from "./clock.js";
import { type Container, ExecProcess } from "./container.js";
import type { SupervisorCore } from "./core.js";
import { watchProcess } from "./exit.js";
import { placeInScope, removeScope } from "./shim-scope.js";

/** Env entries by key: the caller's replace the container's with the same key, others are added. */
function mergeEnv(base: unknown, extra: string[] | undefined): string[] {
  const merged = new Map<string, string>();
  for (const entry of [...(Array.isArray(base) ? base : []), ...(extra ?? [])]) {
    if (typeof entry === "string") merged.set(entry.split("=", 1)[0]!, entry);
  }
  return [...merged.values()];
}

async function processSpec(core: SupervisorCore, container: Container, spec: ExecSpec) {
  const configPath = join(core.layout.runtimeBundle(container.id), "config.json");
  const config = JSON.parse(await readFile(configPath, "utf8")) as { process: Record<string, unknown> };
  const base = config.process;
  const user = (typeof base.user === "object" && base.user !== null ? base.user : {}) as Record<
    string,
    unknown
  >;
  return {
    ...base,
    terminal: spec.terminal ?? false,
    args: spec.args,
    env: mergeEnv(base.env, spec.env),
    cwd: spec.cwd ?? base.cwd ?? "/",
    user: { ...user, uid: spec.uid ?? user.uid ?? 0, gid: spec.gid ?? user.gid ?? 0 },
  };
}

/** Runs inside the container's queue; execId and spec are already validated. */
export async function execProcess(
  core: SupervisorCore,
  container: Container,
  execId: string,
  spec: ExecSpec,
): Promise<ProcessInfo> {
  if (container.info.status !== "running") {
    throw new InvalidStateError(
      `container ${container.id} is ${container.info.status}: exec needs a running one`,
    );
  }
  if (container.processes.has(execId)) {
    throw new ProcessExistsError(`container ${container.id} already has a process "${execId}"`);
  }
  const dir = core.layout.processDir(container.id, execId);
  await mkdir(core.layout.processesDir(container.id), { recursive: true, mode: 0o700 });
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new ProcessExistsError(`container ${container.id} already has a process dir "${execId}"`);
    }
    throw error;
  }
  let early: EarlyOutput | undefined;
  try {
    const request: ProcessRequest = {
      containerId: container.id,
      id: execId,
      terminal: spec.terminal ?? false,
      stdin: spec.stdin ?? false,
      createdAt: nowMicros(),
    };
    await writeJsonAtomic(join(dir, FILES.process), await processSpec(core, container, spec));
    await writeRequest(dir, request);
    // Before the shim: the process may write (and exit) before the caller's OpenStdio.
    early = EarlyOutput.open(dir);
    const started = await launchShim({
      shimPath: core.config.shimPath,
      id: container.id,
      stateDir: dir,
      runtime: container.runtime,
      execId,
      terminal: request.terminal,
      stdin: request.stdin,
      logDriver: container.request.logDriver,
    });
    // Its own scope, like the container's shim: never in berthd.service's cgroup for long.
    const unit = await placeInScope(
      core,
      processScopeName(container.id, execId),
      started.shimPid,
      `berth shim for process ${execId} of container ${container.id}`,
    );
    const record = { ...INITIAL_RECORD, unit };
    const process = new ExecProcess(processInfo(request, started.pid), request, dir, record, early);
    core.apply({ kind: "process-added", container, process, silent: false });
    watchProcess(core, container, process);
    const held = early;
    void process.shimGone.then(() => held.shimGone());
    core.log.info(`container ${container.id} process ${execId}: started, pid ${started.pid}`);
    return { ...process.info };
  } catch (error) {
    early?.release();
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    throw error;
  }
}

export function processInfo(request: ProcessRequest, pid: number): ProcessInfo {
  return {
    containerId: request.containerId,
    id: request.id,
    pid,
    status: "running",
    exitCode: -1,
    exitedAt: 0n,
    terminal: request.terminal,
    stdin: request.stdin,
  };
}

/** DeleteProcess(): only a stopped process; its dir goes and process-removed is its last event. */
export async function deleteProcess(
  core: SupervisorCore,
  container: Container,
  process: ExecProcess,
): Promise<void> {
  if (process.info.status !== "stopped") {
    throw new InvalidStateError(
      `process ${process.info.id} is running: kill it and let it exit before deleting it`,
    );
  }
  process.exitWatch?.close();
  process.early?.release();
  await removeScope(core, process.record.unit);
  await rm(process.dir, { recursive: true, force: true, maxRetries: 3 });
  core.apply({ kind: "process-removed", container, process });
}
