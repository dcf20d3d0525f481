// CreateContainer / RunContainer. Everything is validated before anything touches disk; then the
// container dir, berthd's copy of the bundle and request.json are written, and the shim runs the
// runtime's create (RunContainer: and start) inside a start slot. A refused or failed create (or
// start: the shim undoes it as a failed create) leaves nothing behind.

import { mkdir, rm } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { ContainerExistsError } from "../../common/errors.js";
import type { ContainerInfo, CreateOptions } from "../../common/types.js";
import { cgroupsPath } from "../runtime/flavour.js";
import { launchShim } from "../shim/launch.js";
import { writeJsonAtomic } from "../state/atomic.js";
import { FILES } from "../state/layout.js";
import { INITIAL_RECORD } from "../state/record.js";
import { type ContainerRequest, writeRequest } from "../state/request.js";
import { shimScopeName } from "../systemd/scope.js";
import { type ResolvedOptions, validateBundle, validateCreateOptions, validateId } from "../validate.js";
import { nowMicros } from "./clock.js";
import { Container } from "./container.js";
import type { SupervisorCore } from "./core.js";
import { watchContainer } from "./exit.js";
import { placeInScope } from "./shim-scope.js";

/**
 * The runtime's bundle: the user's config.json with root.path made absolute (the rootfs stays where
 * the user put it) and linux.cgroupsPath chosen by berthd, so every container's cgroup is known.
 */
function runtimeSpec(core: SupervisorCore, id: string, bundle: string, spec: Record<string, unknown>) {
  const root = spec.root as Record<string, unknown>;
  const rootPath = root.path as string;
  const linux = typeof spec.linux === "object" && spec.linux !== null ? (spec.linux as object) : {};
  return {
    ...spec,
    root: { ...root, path: isAbsolute(rootPath) ? rootPath : join(bundle, rootPath) },
    linux: { ...linux, cgroupsPath: cgroupsPath(id, core.config.cgroupDriver) },
  };
}

export async function createContainer(
  core: SupervisorCore,
  id: string,
  bundle: string,
  options: CreateOptions,
  startToo: boolean,
): Promise<ContainerInfo> {
  validateId(id);
  if (core.idTaken(id)) throw new ContainerExistsError(id);
  const resolved = validateCreateOptions(options, core.config);
  const spec = await validateBundle(bundle);
  if (core.idTaken(id)) throw new ContainerExistsError(id);
  core.reserveId(id);
  const dir = core.layout.containerDir(id);
  try {
    await makeContainerDir(core, dir, id);
  } catch (error) {
    core.releaseId(id);
    throw error;
  }
  return core.limiter.run(async () => {
    let container: Container;
    try {
      // request.json is written in the slot, right before the shim runs: a berthd that dies while
      // this create waits for a slot leaves a dir without it, which recovery removes as debris.
      const request = await prepare(core, dir, id, bundle, spec, resolved);
      container = await launch(core, dir, request, startToo);
    } catch (error) {
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
      throw error;
    } finally {
      core.releaseId(id);
    }
    return { ...container.info, labels: { ...container.info.labels } };
  });
}

async function makeContainerDir(core: SupervisorCore, dir: string, id: string): Promise<void> {
  await mkdir(core.layout.containersDir, { recursive: true, mode: 0o700 });
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (error) {
    // A dir berthd does not know: debris from before, not ours to remove.
    if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new ContainerExistsError(id);
    throw error;
  }
}

/** Writes berthd's copy of the bundle and request.json: everything on disk before the shim runs. */
async function prepare(
  core: SupervisorCore,
  dir: string,
  id: string,
  bundle: string,
  spec: Record<string, unknown>,
  resolved: ResolvedOptions,
): Promise<ContainerRequest> {
  const runtime = core.runtime(resolved.runtime.name);
  const runtimeBundle = core.layout.runtimeBundle(id);
  await mkdir(runtimeBundle, { mode: 0o700 });
  await writeJsonAtomic(join(runtimeBundle, "config.json"), runtimeSpec(core, id, bundle, spec));
  const request: ContainerRequest = {
    id,
    bundle,
    runtime: runtime.name,
    terminal: (spec.process as Record<string, unknown>).terminal === true,
    stdin: resolved.stdin,
    labels: resolved.labels,
    logDriver: resolved.logDriver,
    logPath: resolved.logDriver === "file" ? join(dir, FILES.log) : "",
    autoRemove: resolved.autoRemove,
    createdAt: nowMicros(),
  };
  await writeRequest(dir, request);
  await mkdir(runtime.root, { recursive: true, mode: 0o700 });
  return request;
}

/**
 * Runs the shim (the runtime's create, and with `start` its start too) and adds the container:
 * container-new, then with `start` container-started, as CreateContainer + Start() would.
 */
async function launch(
  core: SupervisorCore,
  dir: string,
  request: ContainerRequest,
  start: boolean,
): Promise<Container> {
  const { id } = request;
  const runtime = core.runtime(request.runtime);
  const started = await launchShim({
    shimPath: core.config.shimPath,
    id,
    stateDir: dir,
    runtime,
    bundle: core.layout.runtimeBundle(id),
    start,
    terminal: request.terminal,
    stdin: request.stdin,
    logDriver: request.logDriver,
    logPath: request.logPath,
  });
  const unit = await placeInScope(core, shimScopeName(id), started.shimPid, `berth shim for container ${id}`);
  const container = new Container(
    { ...containerInfo(request, started.pid, started.shimPid), unit },
    request,
    dir,
    runtime,
    { ...INITIAL_RECORD, unit },
  );
  core.apply({ kind: "container-added", container, silent: false });
  core.log.info(`container ${id}: created (pid ${started.pid}, shim ${started.shimPid}, ${runtime.name})`);
  if (start) {
    core.apply({ kind: "container-started", container, startedAt: started.startedAt });
    core.log.info(`container ${id}: started by its shim, pid ${started.pid}`);
  }
  watchContainer(core, container);
  return container;
}

/** A created container's info; recovery starts from the same and applies its record. */
export function containerInfo(request: ContainerRequest, pid: number, shimPid: number): ContainerInfo {
  return {
    id: request.id,
    bundle: request.bundle,
    runtime: request.runtime,
    labels: { ...request.labels },
    terminal: request.terminal,
    stdin: request.stdin,
    status: "created",
    pid,
    shimPid,
    unit: "",
    createdAt: request.createdAt,
    startedAt: 0n,
    exitedAt: 0n,
    exitCode: -1,
    oomKilled: false,
    logDriver: request.logDriver,
    logPath: request.logPath,
    autoRemove: request.autoRemove,
  };
}
