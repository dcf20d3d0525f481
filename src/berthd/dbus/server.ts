// The D-Bus face of the supervisor: exports one object per container and process, keeps their
// properties current from the supervisor's events, and turns those events into signals in the
// design's order (ContainerNew → PropertiesChanged… → Exited → ContainerRemoved, with the
// ObjectManager's InterfacesAdded/Removed). It knows nothing of the bus connection: a transport
// feeds it calls (dispatch) and carries its signals (SignalSink).

import { Variant } from "../../common/bus.js";
import {
  CONTAINER_PREFIX,
  containerPath,
  MANAGER_INTERFACE,
  MANAGER_PATH,
  processPath,
} from "../../common/bus-path.js";
import type { ContainerInfo, ProcessInfo, SupervisorApi, SupervisorEvent } from "../../common/types.js";
import type { Logger } from "../log.js";
import { containerVtable } from "./container.js";
import type { ApiContext, ContainerTarget, ProcessTarget } from "./context.js";
import {
  Dispatcher,
  type IncomingCall,
  interfacesOf,
  OBJECT_MANAGER,
  PROPERTIES,
  type Reply,
} from "./dispatch.js";
import { managerVtable } from "./manager.js";
import { processVtable } from "./process.js";
import type { Binding, ExportedObject } from "./registry.js";
import { ObjectRegistry } from "./registry.js";

/** Where signals go: the bus connection (or every peer of a peer-to-peer server). */
export interface SignalSink {
  emitSignal(path: string, iface: string, member: string, signature: string, body: unknown[]): void;
}

export interface ApiServerOptions {
  version: string;
  /** Called after each supervisor event has been turned into signals (berthd updates STATUS= there). */
  onChange?: () => void;
}

/** Values compare equal for change detection (bigints and objects included). */
function sameValue(a: unknown, b: unknown): boolean {
  const text = (value: unknown) => JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? `${v}n` : v));
  return text(a) === text(b);
}

export class ApiServer {
  private readonly registry = new ObjectRegistry();
  private readonly dispatcher = new Dispatcher(this.registry);
  private sink: SignalSink | undefined;
  private managerValues: Record<string, unknown> = {};
  private readonly context: ApiContext;
  private readonly onChange: (() => void) | undefined;

  constructor(
    private readonly supervisor: SupervisorApi,
    private readonly log: Logger,
    options: ApiServerOptions,
  ) {
    this.context = { supervisor, version: options.version, refreshManager: () => this.refreshManager() };
    this.onChange = options.onChange;
  }

  /** Exports the manager and every container the supervisor knows (recovered ones), and follows its events. */
  start(sink: SignalSink): void {
    this.sink = sink;
    this.registry.add({
      path: MANAGER_PATH,
      bindings: [{ vtable: managerVtable, target: this.context }],
      objectManager: true,
    });
    this.registry.addEmptyNode(CONTAINER_PREFIX);
    this.managerValues = this.snapshot(this.managerBinding());
    for (const info of this.supervisor.list()) {
      this.exportContainer(info);
      for (const process of this.supervisor.processes(info.id)) this.exportProcess(process);
    }
    this.supervisor.onEvent((event) => {
      this.onEvent(event);
      this.onChange?.();
    });
  }

  /** Stops emitting; calls already in flight still get their replies through their transport. */
  stop(): void {
    this.sink = undefined;
  }

  dispatch(call: IncomingCall): Promise<Reply> {
    return this.dispatcher.dispatch(call);
  }

  /** Emits PropertiesChanged for manager properties that changed (after a reload or a start). */
  refreshManager(): void {
    const binding = this.managerBinding();
    this.managerValues = this.emitChanges(MANAGER_PATH, binding, this.managerValues);
  }

  private managerBinding(): Binding {
    return this.registry.get(MANAGER_PATH)!.bindings[0]!;
  }

  private emit(path: string, iface: string, member: string, signature: string, body: unknown[]): void {
    try {
      this.sink?.emitSignal(path, iface, member, signature, body);
    } catch (error) {
      this.log.error(`could not emit ${iface}.${member} on ${path}: ${(error as Error).message}`);
    }
  }

  /** Current values of the binding's changing properties. */
  private snapshot(binding: Binding): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    for (const entry of binding.vtable.properties) {
      if (entry.emits !== "const") values[entry.name] = entry.get(binding.target);
    }
    return values;
  }

  /** Emits PropertiesChanged with every changing property that differs from `before`; returns the new values. */
  private emitChanges(
    path: string,
    binding: Binding,
    before: Record<string, unknown>,
  ): Record<string, unknown> {
    const after = this.snapshot(binding);
    const changed: Record<string, Variant> = {};
    for (const entry of binding.vtable.properties) {
      if (entry.emits === "const") continue;
      if (!sameValue(before[entry.name], after[entry.name])) {
        changed[entry.name] = new Variant(entry.type, after[entry.name]);
      }
    }
    if (Object.keys(changed).length > 0) {
      this.emit(path, PROPERTIES, "PropertiesChanged", "sa{sv}as", [binding.vtable.interface, changed, []]);
    }
    return after;
  }

  private exportContainer(info: ContainerInfo): ExportedObject {
    const target: ContainerTarget = { api: this.context, info: { ...info } };
    const object: ExportedObject = {
      path: containerPath(info.id),
      bindings: [{ vtable: containerVtable, target }],
      objectManager: false,
    };
    this.registry.add(object);
    return object;
  }

  private exportProcess(info: ProcessInfo): ExportedObject {
    const target: ProcessTarget = { api: this.context, info: { ...info } };
    const object: ExportedObject = {
      path: processPath(info.containerId, info.id),
      bindings: [{ vtable: processVtable, target }],
      objectManager: false,
    };
    this.registry.add(object);
    return object;
  }

  private announce(object: ExportedObject): void {
    this.emit(MANAGER_PATH, OBJECT_MANAGER, "InterfacesAdded", "oa{sa{sv}}", [
      object.path,
      interfacesOf(object),
    ]);
  }

  private withdraw(path: string): void {
    const object = this.registry.remove(path);
    if (object === undefined) return;
    const interfaces = object.bindings.map((binding) => binding.vtable.interface);
    this.emit(MANAGER_PATH, OBJECT_MANAGER, "InterfacesRemoved", "oas", [path, interfaces]);
  }

  /** Applies `changed` to an exported object's cached info and emits what changed. */
  private update(path: string, changed: object): void {
    const object = this.registry.get(path);
    const binding = object?.bindings[0];
    if (object === undefined || binding === undefined) {
      this.log.warn(`event for ${path}, which is not exported; ignored`);
      return;
    }
    const target = binding.target as ContainerTarget | ProcessTarget;
    const before = this.snapshot(binding);
    target.info = { ...target.info, ...changed } as typeof target.info;
    this.dispatcher.changed(object);
    this.emitChanges(path, binding, before);
  }

  private onEvent(event: SupervisorEvent): void {
    switch (event.kind) {
      case "container-new": {
        const object = this.exportContainer(event.info);
        this.emit(MANAGER_PATH, MANAGER_INTERFACE, "ContainerNew", "so", [event.info.id, object.path]);
        this.announce(object);
        break;
      }
      case "container-changed":
        this.update(containerPath(event.id), event.changed);
        break;
      case "container-exited": {
        // The properties come with the container-changed that follows at once: one PropertiesChanged.
        const { exitCode, exitedAt, oomKilled } = event;
        this.emit(containerPath(event.id), containerVtable.interface, "Exited", "itb", [
          exitCode,
          exitedAt,
          oomKilled,
        ]);
        break;
      }
      case "container-oom":
        this.emit(containerPath(event.id), containerVtable.interface, "OOM", "", []);
        break;
      case "container-removed": {
        const path = containerPath(event.id);
        for (const object of [...this.registry.all()]) {
          if (object.path.startsWith(`${path}/`)) this.withdraw(object.path);
        }
        this.withdraw(path);
        this.emit(MANAGER_PATH, MANAGER_INTERFACE, "ContainerRemoved", "so", [event.id, path]);
        break;
      }
      case "process-new":
        this.announce(this.exportProcess(event.info));
        break;
      case "process-changed":
        this.update(processPath(event.containerId, event.id), event.changed);
        break;
      case "process-exited": {
        const path = processPath(event.containerId, event.id);
        this.emit(path, processVtable.interface, "Exited", "it", [event.exitCode, event.exitedAt]);
        break;
      }
      case "process-removed":
        this.withdraw(processPath(event.containerId, event.id));
        break;
      case "manager-changed":
        this.refreshManager();
        break;
    }
  }
}
