// The berth D-Bus API v1 (design.md) as berthctl uses it: one method per API call, nothing more.
// Object paths are computed with the design's escaping rather than looked up, saving a round trip.

import {
  BUS_NAME,
  CONTAINER_INTERFACE,
  containerPath,
  MANAGER_INTERFACE,
  MANAGER_PATH,
  PROCESS_INTERFACE,
  processPath,
} from "../../common/bus-path.js";
import type { ExecSpec as ExecRequest, StdioFds } from "../../common/types.js";
import type { BusConnection, Signal } from "../bus/connection.js";

const PROPERTIES = "org.freedesktop.DBus.Properties";
const OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager";

/** Property values with their variants unwrapped; `t` values are bigint. */
export type Properties = Record<string, unknown>;

export interface ContainerListEntry {
  id: string;
  status: string;
  pid: number;
  path: string;
}

export interface CreateRequest {
  runtime?: string;
  stdin?: boolean;
  labels?: Record<string, string>;
  logDriver?: string;
  autoRemove?: boolean;
}

/** The Exec `process` dictionary and OpenStdio's fds: the same shapes berthd decodes them into. */
export type { ExecSpec as ExecRequest, StdioFds } from "../../common/types.js";

/** A target of the calls containers and exec'd processes share (Wait, Resize, OpenStdio, ...). */
export interface ProcessTarget {
  path: string;
  interface: string;
}

export function containerTarget(id: string): ProcessTarget {
  return { path: containerPath(id), interface: CONTAINER_INTERFACE };
}

export function processTarget(containerId: string, execId: string): ProcessTarget {
  return { path: processPath(containerId, execId), interface: PROCESS_INTERFACE };
}

function unwrap(dict: unknown): Properties {
  const out: Properties = {};
  for (const [key, v] of Object.entries(dict as Record<string, { value: unknown }>)) out[key] = v.value;
  return out;
}

export class BerthClient {
  constructor(readonly bus: BusConnection) {}

  private async call(
    path: string,
    iface: string,
    member: string,
    signature = "",
    body: unknown[] = [],
    timeoutMs?: number | null,
  ): Promise<unknown[]> {
    // berthd answers NoSuchContainer / NoSuchProcess itself for a path that names no object.
    return await this.bus.call({
      destination: BUS_NAME,
      path,
      interface: iface,
      member,
      signature,
      body,
      timeoutMs,
    });
  }

  private manager(member: string, signature = "", body: unknown[] = []) {
    return this.call(MANAGER_PATH, MANAGER_INTERFACE, member, signature, body);
  }

  private options(request: CreateRequest): Record<string, unknown> {
    const v = (sig: string, value: unknown) => this.bus.variant(sig, value);
    const options: Record<string, unknown> = {};
    if (request.runtime !== undefined) options.Runtime = v("s", request.runtime);
    if (request.stdin !== undefined) options.Stdin = v("b", request.stdin);
    if (request.labels !== undefined) options.Labels = v("a{ss}", request.labels);
    if (request.logDriver !== undefined) options.LogDriver = v("s", request.logDriver);
    if (request.autoRemove !== undefined) options.AutoRemove = v("b", request.autoRemove);
    return options;
  }

  async createContainer(id: string, bundle: string, request: CreateRequest): Promise<string> {
    const [path] = await this.manager("CreateContainer", "ssa{sv}", [id, bundle, this.options(request)]);
    return String(path);
  }

  async runContainer(id: string, bundle: string, request: CreateRequest): Promise<string> {
    const [path] = await this.manager("RunContainer", "ssa{sv}", [id, bundle, this.options(request)]);
    return String(path);
  }

  async getContainer(id: string): Promise<string> {
    const [path] = await this.manager("GetContainer", "s", [id]);
    return String(path);
  }

  async listContainers(): Promise<ContainerListEntry[]> {
    const [list] = await this.manager("ListContainers");
    return (list as [string, string, number, string][]).map(([id, status, pid, path]) => ({
      id,
      status,
      pid,
      path,
    }));
  }

  /** Every object's properties, by path and interface (ObjectManager.GetManagedObjects). */
  async managedObjects(): Promise<Map<string, Map<string, Properties>>> {
    const [objects] = await this.call(MANAGER_PATH, OBJECT_MANAGER, "GetManagedObjects");
    const out = new Map<string, Map<string, Properties>>();
    for (const [path, ifaces] of Object.entries(objects as Record<string, Record<string, unknown>>)) {
      const byIface = new Map<string, Properties>();
      for (const [iface, props] of Object.entries(ifaces)) byIface.set(iface, unwrap(props));
      out.set(path, byIface);
    }
    return out;
  }

  async properties(target: ProcessTarget): Promise<Properties> {
    const [props] = await this.call(target.path, PROPERTIES, "GetAll", "s", [target.interface]);
    return unwrap(props);
  }

  async managerProperties(): Promise<Properties> {
    return this.properties({ path: MANAGER_PATH, interface: MANAGER_INTERFACE });
  }

  async start(id: string): Promise<void> {
    await this.call(containerPath(id), CONTAINER_INTERFACE, "Start");
  }

  async kill(id: string, whom: "init" | "all", signal: number): Promise<void> {
    await this.call(containerPath(id), CONTAINER_INTERFACE, "Kill", "si", [whom, signal]);
  }

  async pause(id: string): Promise<void> {
    await this.call(containerPath(id), CONTAINER_INTERFACE, "Pause");
  }

  async resume(id: string): Promise<void> {
    await this.call(containerPath(id), CONTAINER_INTERFACE, "Resume");
  }

  async delete(target: ProcessTarget): Promise<void> {
    await this.call(target.path, target.interface, "Delete");
  }

  async exec(id: string, execId: string, request: ExecRequest): Promise<string> {
    const v = (sig: string, value: unknown) => this.bus.variant(sig, value);
    const spec: Record<string, unknown> = { Args: v("as", request.args) };
    if (request.env !== undefined) spec.Env = v("as", request.env);
    if (request.cwd !== undefined) spec.Cwd = v("s", request.cwd);
    if (request.terminal !== undefined) spec.Terminal = v("b", request.terminal);
    if (request.stdin !== undefined) spec.Stdin = v("b", request.stdin);
    if (request.uid !== undefined) spec.Uid = v("u", request.uid);
    if (request.gid !== undefined) spec.Gid = v("u", request.gid);
    const [path] = await this.call(containerPath(id), CONTAINER_INTERFACE, "Exec", "sa{sv}", [execId, spec]);
    return String(path);
  }

  /**
   * Replies when the process has exited: however long that takes, or, `bounded`, within the usual
   * call timeout (for a process that was just sent SIGKILL).
   */
  async wait(target: ProcessTarget, bounded = false): Promise<number> {
    const [code] = await this.call(target.path, target.interface, "Wait", "", [], bounded ? undefined : null);
    return Number(code);
  }

  async killProcess(target: ProcessTarget, signal: number): Promise<void> {
    await this.call(target.path, target.interface, "Kill", "i", [signal]);
  }

  async resize(target: ProcessTarget, columns: number, rows: number): Promise<void> {
    await this.call(target.path, target.interface, "Resize", "uu", [columns, rows]);
  }

  async closeStdin(target: ProcessTarget): Promise<void> {
    await this.call(target.path, target.interface, "CloseStdin");
  }

  async openStdio(target: ProcessTarget): Promise<StdioFds> {
    const [stdin, stdout, stderr] = (await this.call(target.path, target.interface, "OpenStdio")) as number[];
    return { stdin: stdin!, stdout: stdout!, stderr: stderr! };
  }

  async stats(id: string): Promise<Properties> {
    const [stats] = await this.call(containerPath(id), CONTAINER_INTERFACE, "GetStats");
    return unwrap(stats);
  }

  /** Delivers every signal berthd sends (container, process and manager objects alike). */
  async subscribe(listener: (signal: Signal) => void): Promise<void> {
    await this.bus.addMatch(`type='signal',sender='${BUS_NAME}',path_namespace='${MANAGER_PATH}'`, listener);
  }
}
