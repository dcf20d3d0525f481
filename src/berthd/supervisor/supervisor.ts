// berthd's supervisor: the one owner of container state. D-Bus calls become operations queued per
// container (create.ts, start.ts, ...); operations and the shim watchers hand typed tasks to apply(),
// the only code that changes state, persists berthd's record and emits events. See docs/supervisor.md.

import { readFileSync } from "node:fs";
import type winston from "winston";
import {
  BerthError,
  BusyError,
  InvalidStateError,
  NoSuchContainerError,
  NoSuchProcessError,
} from "../../common/errors.js";
import type {
  BerthdConfig,
  ContainerInfo,
  ContainerStats,
  CreateOptions,
  ExecSpec,
  KillWhom,
  ProcessInfo,
  StdioFds,
  SupervisorApi,
  SupervisorEvent,
} from "../../common/types.js";
import { RuntimeClient } from "../runtime/client.js";
import { sendControl } from "../shim/control.js";
import { Launcher } from "../shim/launcher.js";
import { openStdio } from "../shim/stdio.js";
import { StateLayout } from "../state/layout.js";
import { writeRecordSync } from "../state/record.js";
import type { Scopes } from "../systemd/scope.js";
import {
  validateExecSpec,
  validateId,
  validateMaxConcurrentStarts,
  validateSignal,
  validateSize,
  validateWhom,
} from "../validate.js";
import type { Container, ExecProcess } from "./container.js";
import type { SupervisorCore } from "./core.js";
import { createContainer } from "./create.js";
import { deleteContainer } from "./delete.js";
import { deleteProcess, execProcess } from "./exec.js";
import { killContainer } from "./kill.js";
import { pauseContainer, resumeContainer } from "./pause.js";
import { recoverContainers } from "./recover.js";
import { startContainer as startOperation } from "./start.js";
import { StartLimiter } from "./start-limiter.js";
import { containerStats } from "./stats.js";
import type { Task } from "./tasks.js";

/** The id in a pid's cgroup path as berthd chooses it (`/berth/<id>` or `berth-<id>.scope`), if any. */
function containerIdOfPid(pid: number): string | undefined {
  let cgroups: string;
  try {
    cgroups = readFileSync(`/proc/${pid}/cgroup`, "utf8");
  } catch {
    return undefined;
  }
  for (const line of cgroups.split("\n")) {
    const match = /\/berth\/([^/]+)$/.exec(line) ?? /\/berth-([^/]+)\.scope$/.exec(line);
    if (match !== null) return match[1];
  }
  return undefined;
}

function processOf(container: Container, execId: string): ExecProcess {
  const process = container.processes.get(execId);
  if (process === undefined) {
    throw new NoSuchProcessError(`container ${container.id} has no process "${execId}"`);
  }
  return process;
}

function copyInfo(info: ContainerInfo): ContainerInfo {
  return { ...info, labels: { ...info.labels } };
}

export class Supervisor implements SupervisorApi, SupervisorCore {
  readonly layout: StateLayout;
  readonly limiter: StartLimiter;
  /** Runs the shim and the runtime for every runtime client (berthd's only fork is the launcher's). */
  private readonly launcher: Launcher;
  private readonly containers = new Map<string, Container>();
  /** Ids whose create is in flight: taken, but no container to operate on yet. */
  private readonly creating = new Set<string>();
  private readonly runtimes = new Map<string, RuntimeClient>();
  private listener: ((event: SupervisorEvent) => void) | undefined;
  private delivered = false;
  private readonly pendingEvents: SupervisorEvent[] = [];
  private readonly pendingWork: Array<() => void> = [];
  /** Operations running now (Wait() excluded), for drain(). */
  private inFlight = 0;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    private currentConfig: BerthdConfig,
    readonly log: winston.Logger,
    /** Given when systemd manages the host: each shim then gets its own transient scope. */
    readonly scopes: Scopes | undefined = undefined,
  ) {
    this.layout = new StateLayout(currentConfig.stateDir);
    this.launcher = new Launcher(currentConfig.shimPath);
    this.limiter = new StartLimiter(currentConfig.maxConcurrentStarts, (counts) =>
      this.emit({ kind: "manager-changed", changed: counts }),
    );
  }

  // ---- lifecycle

  /** Recovery from the state dir (see recover.ts); the container's Start() is startContainer(). */
  async start(): Promise<void> {
    // First, while berthd is at its smallest: recovery already runs the runtime.
    this.launcher.start();
    await recoverContainers(this);
    this.log.info(`supervisor: ${this.containers.size} container(s) recovered from ${this.config.stateDir}`);
  }

  deliverPendingEvents(): void {
    if (this.delivered) return;
    this.delivered = true;
    for (const event of this.pendingEvents.splice(0)) this.deliver(event);
    for (const work of this.pendingWork.splice(0)) work();
  }

  async stop(): Promise<void> {
    for (const container of this.containers.values()) container.closeWatches();
    await this.launcher.stop();
  }

  onEvent(listener: (event: SupervisorEvent) => void): void {
    this.listener = listener;
  }

  get config(): BerthdConfig {
    return this.currentConfig;
  }

  /**
   * SIGHUP: new runtimes, defaults and start bound apply to new work. Existing containers keep the
   * runtime client they were created with; the state dir stays as it was.
   */
  reconfigure(next: BerthdConfig): void {
    this.currentConfig = { ...next, stateDir: this.currentConfig.stateDir };
    this.runtimes.clear();
    if (next.maxConcurrentStarts !== this.limiter.maxConcurrent)
      this.maxConcurrentStarts = next.maxConcurrentStarts;
  }

  // ---- SupervisorCore

  runtime(name: string): RuntimeClient {
    let client = this.runtimes.get(name);
    if (client === undefined) {
      const runtime = this.config.runtimes.find((r) => r.name === name);
      if (runtime === undefined) throw new Error(`runtime "${name}" is not configured`);
      client = new RuntimeClient(
        runtime,
        this.layout.runtimeRoot(name),
        this.config.cgroupDriver,
        this.launcher,
      );
      this.runtimes.set(name, client);
    }
    return client;
  }

  whenDelivered(work: () => void): void {
    if (this.delivered) work();
    else this.pendingWork.push(work);
  }

  idTaken(id: string): boolean {
    return this.creating.has(id) || this.containers.has(id);
  }

  reserveId(id: string): void {
    this.creating.add(id);
  }

  releaseId(id: string): void {
    this.creating.delete(id);
  }

  current(container: Container): boolean {
    return this.containers.get(container.id) === container;
  }

  apply(task: Task): boolean {
    const { container } = task;
    if (task.kind === "container-added") {
      this.containers.set(container.id, container);
      // The scope is what a restarted berthd must know that the shim's files do not say.
      if (!task.silent && container.record.unit !== "") writeRecordSync(container.dir, container.record);
      if (!task.silent) this.emit({ kind: "container-new", info: copyInfo(container.info) });
      return true;
    }
    if (!this.current(container)) return false;
    const { info, record } = container;
    switch (task.kind) {
      case "container-started":
        Object.assign(record, { started: true, startedAt: task.startedAt });
        writeRecordSync(container.dir, record);
        Object.assign(info, { status: "running", startedAt: task.startedAt });
        this.changed(container, { status: "running", pid: info.pid, startedAt: info.startedAt });
        return true;
      case "container-paused":
      case "container-resumed": {
        record.paused = task.kind === "container-paused";
        writeRecordSync(container.dir, record);
        info.status = record.paused ? "paused" : "running";
        this.changed(container, { status: info.status });
        return true;
      }
      case "container-oom":
        this.emit({ kind: "container-oom", id: container.id });
        return true;
      case "container-exited": {
        const { exit } = task;
        // Persisted before it is emitted: a restart must never report this exit a second time.
        record.exitReported = true;
        writeRecordSync(container.dir, record);
        Object.assign(info, {
          status: "stopped",
          pid: 0,
          exitCode: exit.exitCode,
          exitedAt: exit.exitedAt,
          oomKilled: exit.oomKilled,
        });
        this.emit({
          kind: "container-exited",
          id: container.id,
          exitCode: exit.exitCode,
          exitedAt: exit.exitedAt,
          oomKilled: exit.oomKilled,
        });
        this.changed(container, {
          status: "stopped",
          exitCode: exit.exitCode,
          exitedAt: exit.exitedAt,
          oomKilled: exit.oomKilled,
          pid: 0,
        });
        for (const waiter of container.waiters.splice(0)) waiter.resolve(exit.exitCode);
        return true;
      }
      case "container-removed": {
        this.containers.delete(container.id);
        const gone = new InvalidStateError(`container ${container.id} was deleted before it exited`);
        for (const waiter of container.waiters.splice(0)) waiter.reject(gone);
        this.emit({ kind: "container-removed", id: container.id });
        return true;
      }
      case "process-added":
        container.processes.set(task.process.info.id, task.process);
        if (!task.silent && task.process.record.unit !== "") {
          writeRecordSync(task.process.dir, task.process.record);
        }
        if (!task.silent) this.emit({ kind: "process-new", info: { ...task.process.info } });
        return true;
      case "process-exited":
        return this.processExited(container, task.process, task.exit);
      case "process-removed": {
        const { process } = task;
        if (container.processes.get(process.info.id) !== process) return false;
        container.processes.delete(process.info.id);
        const gone = new InvalidStateError(`process ${process.info.id} was removed before it exited`);
        for (const waiter of process.waiters.splice(0)) waiter.reject(gone);
        this.emit({ kind: "process-removed", containerId: container.id, id: process.info.id });
        return true;
      }
    }
  }

  private processExited(
    container: Container,
    process: ExecProcess,
    exit: { exitCode: number; exitedAt: bigint },
  ): boolean {
    if (container.processes.get(process.info.id) !== process) return false;
    process.record.exitReported = true;
    writeRecordSync(process.dir, process.record);
    Object.assign(process.info, {
      status: "stopped",
      pid: 0,
      exitCode: exit.exitCode,
      exitedAt: exit.exitedAt,
    });
    const ids = { containerId: container.id, id: process.info.id };
    this.emit({ kind: "process-exited", ...ids, exitCode: exit.exitCode, exitedAt: exit.exitedAt });
    this.emit({
      kind: "process-changed",
      ...ids,
      changed: { status: "stopped", pid: 0, exitCode: exit.exitCode, exitedAt: exit.exitedAt },
    });
    for (const waiter of process.waiters.splice(0)) waiter.resolve(exit.exitCode);
    return true;
  }

  private changed(container: Container, changed: Partial<ContainerInfo>): void {
    this.emit({ kind: "container-changed", id: container.id, changed });
  }

  private emit(event: SupervisorEvent): void {
    if (this.delivered) this.deliver(event);
    else this.pendingEvents.push(event);
  }

  private deliver(event: SupervisorEvent): void {
    try {
      this.listener?.(event);
    } catch (error) {
      this.log.error(`supervisor: the event listener failed on ${event.kind}: ${(error as Error).message}`);
    }
  }

  // ---- lookups

  /** The container to operate on; Busy while its create is still in flight. */
  private container(id: string): Container {
    validateId(id);
    const container = this.containers.get(id);
    if (container !== undefined) return container;
    if (this.creating.has(id)) throw new BusyError(`container ${id} is still being created: try again`);
    throw new NoSuchContainerError(id);
  }

  private process(id: string, execId: string): { container: Container; process: ExecProcess } {
    const container = this.container(id);
    validateId(execId, "exec id");
    return { container, process: processOf(container, execId) };
  }

  /** Runs an operation in the container's queue, after the ones before it. */
  private queued<T>(id: string, operation: (container: Container) => Promise<T>): Promise<T> {
    const container = this.container(id);
    return container.queue.run(() => {
      if (!this.current(container)) throw new NoSuchContainerError(id);
      return operation(container);
    });
  }

  get(id: string): ContainerInfo | undefined {
    const container = this.containers.get(id);
    return container === undefined ? undefined : copyInfo(container.info);
  }

  /** The container a pid belongs to: its init, an exec'd process, or any process in its cgroup. */
  getByPid(pid: number): ContainerInfo | undefined {
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    for (const container of this.containers.values()) {
      if (container.info.pid === pid) return copyInfo(container.info);
      for (const process of container.processes.values()) {
        if (process.info.pid === pid) return copyInfo(container.info);
      }
    }
    const id = containerIdOfPid(pid);
    const container = id === undefined ? undefined : this.containers.get(id);
    return container === undefined ? undefined : copyInfo(container.info);
  }

  list(): ContainerInfo[] {
    return [...this.containers.values()].map((c) => copyInfo(c.info));
  }

  processes(id: string): ProcessInfo[] {
    return [...this.container(id).processes.values()].map((p) => ({ ...p.info }));
  }

  get activeStarts(): number {
    return this.limiter.activeStarts;
  }

  get queuedStarts(): number {
    return this.limiter.queuedStarts;
  }

  get maxConcurrentStarts(): number {
    return this.limiter.maxConcurrent;
  }

  set maxConcurrentStarts(value: number) {
    this.limiter.maxConcurrent = validateMaxConcurrentStarts(value);
    this.log.info(`supervisor: MaxConcurrentStarts is now ${value}`);
    this.emit({ kind: "manager-changed", changed: { maxConcurrentStarts: value } });
  }

  get defaultRuntime(): string {
    return this.config.defaultRuntime;
  }

  get runtimeNames(): string[] {
    return this.config.runtimes.map((r) => r.name);
  }

  // ---- container operations

  createContainer(id: string, bundle: string, options: CreateOptions): Promise<ContainerInfo> {
    return this.guard(() => createContainer(this, id, bundle, options, false));
  }

  runContainer(id: string, bundle: string, options: CreateOptions): Promise<ContainerInfo> {
    return this.guard(() => createContainer(this, id, bundle, options, true));
  }

  startContainer(id: string): Promise<void> {
    return this.guard(() => this.queued(id, (c) => startOperation(this, c)));
  }

  kill(id: string, whom: KillWhom, signal: number): Promise<void> {
    return this.guard(() => {
      validateWhom(whom);
      validateSignal(signal);
      return this.queued(id, (c) => killContainer(c, whom, signal));
    });
  }

  pause(id: string): Promise<void> {
    return this.guard(() => this.queued(id, (c) => pauseContainer(this, c)));
  }

  resume(id: string): Promise<void> {
    return this.guard(() => this.queued(id, (c) => resumeContainer(this, c)));
  }

  delete(id: string): Promise<void> {
    return this.guard(() => this.queued(id, (c) => deleteContainer(this, c)));
  }

  wait(id: string): Promise<number> {
    return this.guard(() => {
      const container = this.container(id);
      if (container.info.status === "stopped") return Promise.resolve(container.info.exitCode);
      return new Promise<number>((resolve, reject) => container.waiters.push({ resolve, reject }));
    }, false);
  }

  resize(id: string, columns: number, rows: number): Promise<void> {
    return this.guard(async () => {
      validateSize(columns, rows);
      const container = this.live(id);
      if (!container.info.terminal) throw new InvalidStateError(`container ${id} has no terminal to resize`);
      sendControl(container.dir, `resize ${columns} ${rows}`);
    });
  }

  closeStdin(id: string): Promise<void> {
    return this.guard(async () => {
      const container = this.live(id);
      if (!container.info.stdin) throw new InvalidStateError(`container ${id} was not created with Stdin`);
      sendControl(container.dir, "closestdin");
    });
  }

  openStdio(id: string): Promise<StdioFds> {
    return this.guard(async () => {
      const container = this.live(id);
      return openStdio(container.dir, container.info.stdin, container.stdioPlaceholders());
    });
  }

  stats(id: string): Promise<ContainerStats> {
    return this.guard(() => containerStats(this.container(id)));
  }

  /** A container whose shim still runs (created, running or paused). */
  private live(id: string): Container {
    const container = this.container(id);
    if (container.info.status === "stopped") throw new InvalidStateError(`container ${id} is stopped`);
    return container;
  }

  // ---- exec'd processes

  exec(id: string, execId: string, spec: ExecSpec): Promise<ProcessInfo> {
    return this.guard(() => {
      validateId(execId, "exec id");
      validateExecSpec(spec);
      return this.queued(id, (c) => execProcess(this, c, execId, spec));
    });
  }

  killProcess(id: string, execId: string, signal: number): Promise<void> {
    return this.guard(async () => {
      validateSignal(signal);
      const { process } = this.process(id, execId);
      if (process.info.status !== "running") throw new InvalidStateError(`process ${execId} is stopped`);
      try {
        globalThis.process.kill(process.info.pid, signal);
      } catch {
        throw new InvalidStateError(`process ${execId} (pid ${process.info.pid}) is already gone`);
      }
    });
  }

  waitProcess(id: string, execId: string): Promise<number> {
    return this.guard(() => {
      const { process } = this.process(id, execId);
      if (process.info.status === "stopped") return Promise.resolve(process.info.exitCode);
      return new Promise<number>((resolve, reject) => process.waiters.push({ resolve, reject }));
    }, false);
  }

  resizeProcess(id: string, execId: string, columns: number, rows: number): Promise<void> {
    return this.guard(async () => {
      validateSize(columns, rows);
      const process = this.liveProcess(id, execId);
      if (!process.info.terminal) throw new InvalidStateError(`process ${execId} has no terminal to resize`);
      sendControl(process.dir, `resize ${columns} ${rows}`);
    });
  }

  closeStdinProcess(id: string, execId: string): Promise<void> {
    return this.guard(async () => {
      const process = this.liveProcess(id, execId);
      if (!process.info.stdin) throw new InvalidStateError(`process ${execId} was not started with Stdin`);
      sendControl(process.dir, "closestdin");
    });
  }

  /**
   * The first OpenStdio of an exec gets the output held since before it started (early-output.ts),
   * even once it has stopped; later ones (and a stopped process's, once that is gone) as a container's.
   */
  openStdioProcess(id: string, execId: string): Promise<StdioFds> {
    return this.guard(async () => {
      const { process } = this.process(id, execId);
      const first = process.early?.take();
      const running = process.info.status === "running";
      if (first === undefined && !running) throw new InvalidStateError(`process ${execId} is stopped`);
      // A stopped process reads no input: its stdin end is /dev/null.
      return openStdio(process.dir, process.info.stdin && running, process.stdioPlaceholders(), first);
    });
  }

  deleteProcess(id: string, execId: string): Promise<void> {
    return this.guard(() => {
      this.process(id, execId); // an unknown id is refused at once, not after the queue
      // Looked up again in the queue: a Delete queued before this one may have removed it.
      return this.queued(id, (container) => deleteProcess(this, container, processOf(container, execId)));
    });
  }

  private liveProcess(id: string, execId: string): ExecProcess {
    const { process } = this.process(id, execId);
    if (process.info.status === "stopped") throw new InvalidStateError(`process ${execId} is stopped`);
    return process;
  }

  // ---- helpers

  /**
   * Every public operation runs through here: a BerthError passes through; anything else (a bug, an
   * unexpected I/O error) is logged in full and reaches the caller as a named error without a stack.
   */
  private async guard<T>(operation: () => Promise<T>, tracked = true): Promise<T> {
    if (tracked) this.inFlight += 1;
    try {
      return await operation();
    } catch (error) {
      if (error instanceof BerthError) throw error;
      this.log.error(`supervisor: unexpected failure: ${(error as Error).stack ?? String(error)}`);
      throw new InvalidStateError(`berthd could not complete the operation: ${(error as Error).message}`);
    } finally {
      if (tracked) {
        this.inFlight -= 1;
        if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      }
    }
  }

  /**
   * Stopping: resolves true once no operation is in flight (Wait() calls do not count: they may never
   * end), or false after `timeoutMs`. A create or start cut short by berthd's exit is finished by the
   * shim anyway and picked up by recovery, but letting it end keeps its caller's reply and berthd.json
   * in step, and keeps a stopping berthd from working on after "stopped".
   */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
