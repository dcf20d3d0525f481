// Types shared by berthd's modules and berthctl. No logic here.

export type ContainerStatus = "created" | "running" | "paused" | "stopped";
export type ProcessStatus = "running" | "stopped";
export type LogDriver = "journald" | "file" | "none";
export type CgroupDriver = "cgroupfs" | "systemd";
export type KillWhom = "init" | "all";

/** Container ids: ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ (design). Exec ids follow the same rule. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** µs since the epoch (CLOCK_REALTIME); 0n = not yet. */
export type Micros = bigint;

/** Everything the Container D-Bus object shows, in the supervisor's words. */
export interface ContainerInfo {
  id: string;
  bundle: string;
  runtime: string;
  labels: Record<string, string>;
  terminal: boolean;
  stdin: boolean;
  status: ContainerStatus;
  pid: number; // 0 when none
  shimPid: number;
  unit: string; // the shim's transient scope, "" when not under systemd
  createdAt: Micros;
  startedAt: Micros;
  exitedAt: Micros;
  exitCode: number; // -1 = not exited; signal N reads 128+N
  oomKilled: boolean;
  logDriver: LogDriver;
  logPath: string;
  autoRemove: boolean;
}

export interface ProcessInfo {
  containerId: string;
  id: string;
  pid: number;
  status: ProcessStatus;
  exitCode: number;
  exitedAt: Micros;
  terminal: boolean;
  stdin: boolean;
}

/** CreateContainer / RunContainer options after D-Bus decoding (all optional, defaults from config). */
export interface CreateOptions {
  runtime?: string;
  stdin?: boolean;
  labels?: Record<string, string>;
  logDriver?: LogDriver;
  autoRemove?: boolean;
}

/** Exec's `process` dictionary after D-Bus decoding. */
export interface ExecSpec {
  args: string[];
  env?: string[];
  cwd?: string;
  terminal?: boolean;
  stdin?: boolean;
  uid?: number;
  gid?: number;
}

export interface ContainerStats {
  memoryCurrent: bigint; // bytes
  cpuUsageNSec: bigint;
  pids: bigint;
  memoryLimit?: bigint;
  memoryMaxUsage?: bigint;
}

/** File descriptors handed to a client by OpenStdio: the caller owns (and closes) them after sending. */
export interface StdioFds {
  stdin: number;
  stdout: number;
  stderr: number;
}

export interface RuntimeConfig {
  name: string;
  path: string;
  args: string[]; // extra global arguments, before the subcommand
}

/** berthd's configuration after parsing and defaults (see src/berthd/config.ts). */
export interface BerthdConfig {
  stateDir: string; // /run/berth
  runtimes: RuntimeConfig[];
  defaultRuntime: string;
  defaultLogDriver: LogDriver;
  maxConcurrentStarts: number;
  cgroupDriver: CgroupDriver;
  shimPath: string;
}

/** What the supervisor tells the API layer; the API layer turns these into D-Bus objects and signals. */
export type SupervisorEvent =
  | { kind: "container-new"; info: ContainerInfo }
  | { kind: "container-changed"; id: string; changed: Partial<ContainerInfo> }
  /** The Exited signal; the container-changed that follows at once carries the new properties. */
  | { kind: "container-exited"; id: string; exitCode: number; exitedAt: Micros; oomKilled: boolean }
  | { kind: "container-oom"; id: string }
  | { kind: "container-removed"; id: string }
  | { kind: "process-new"; info: ProcessInfo }
  | { kind: "process-changed"; containerId: string; id: string; changed: Partial<ProcessInfo> }
  /** As container-exited: process-changed follows with the properties. */
  | { kind: "process-exited"; containerId: string; id: string; exitCode: number; exitedAt: Micros }
  | { kind: "process-removed"; containerId: string; id: string }
  | {
      kind: "manager-changed";
      changed: Partial<{ activeStarts: number; queuedStarts: number; maxConcurrentStarts: number }>;
    };

/**
 * The supervisor as the D-Bus layer (and tests) see it. It is the one owner of container state:
 * every method hands a typed task to it; nothing else mutates state. Methods throw BerthError
 * subclasses (src/common/errors.ts) only.
 */
export interface SupervisorApi {
  createContainer(id: string, bundle: string, options: CreateOptions): Promise<ContainerInfo>;
  runContainer(id: string, bundle: string, options: CreateOptions): Promise<ContainerInfo>;
  startContainer(id: string): Promise<void>;
  kill(id: string, whom: KillWhom, signal: number): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  delete(id: string): Promise<void>;
  wait(id: string): Promise<number>;
  resize(id: string, columns: number, rows: number): Promise<void>;
  closeStdin(id: string): Promise<void>;
  openStdio(id: string): Promise<StdioFds>;
  stats(id: string): Promise<ContainerStats>;

  exec(id: string, execId: string, spec: ExecSpec): Promise<ProcessInfo>;
  killProcess(id: string, execId: string, signal: number): Promise<void>;
  waitProcess(id: string, execId: string): Promise<number>;
  resizeProcess(id: string, execId: string, columns: number, rows: number): Promise<void>;
  closeStdinProcess(id: string, execId: string): Promise<void>;
  openStdioProcess(id: string, execId: string): Promise<StdioFds>;
  deleteProcess(id: string, execId: string): Promise<void>;

  get(id: string): ContainerInfo | undefined;
  getByPid(pid: number): ContainerInfo | undefined;
  list(): ContainerInfo[];
  processes(id: string): ProcessInfo[];

  readonly activeStarts: number;
  readonly queuedStarts: number;
  maxConcurrentStarts: number;
  readonly defaultRuntime: string;
  readonly runtimeNames: string[];

  /** One listener: the API layer. Events for one container arrive in the design's order. */
  onEvent(listener: (event: SupervisorEvent) => void): void;

  /**
   * start() rebuilds every container from the state dir (re-attaching live shims, killing and
   * recording exit 255 for containers whose shim died without exit.json) WITHOUT emitting
   * container-new for them: the API layer exports list() itself, then claims the bus name, then
   * calls deliverPendingEvents(), which emits what happened while berthd was down (container-exited
   * with the recorded code and time, once) and from then on events flow live.
   */
  start(): Promise<void>;
  deliverPendingEvents(): void;
  /** Stops watching; never touches running containers or shims. */
  stop(): Promise<void>;

  /** SIGHUP: apply a reloaded config (max concurrent starts, default runtime and log driver, runtimes). */
  reconfigure(config: BerthdConfig): void;
}
