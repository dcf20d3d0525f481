// Routing one method call to the object it names: the standard interfaces (Peer, Introspectable,
// Properties, ObjectManager) and berth's own vtables. Transport-independent: a bus connection and a
// peer-to-peer socket hand calls in the same shape. Arguments are checked against the signature before
// any handler runs, and privileged members are authorized first.

import { readFile } from "node:fs/promises";
import { type Message, Variant } from "../../common/bus.js";
import { parseObjectPath } from "../../common/bus-path.js";
import { InvalidArgumentError, NoSuchContainerError, NoSuchProcessError } from "../../common/errors.js";
import { nodeXml } from "./introspect.js";
import { type Marshalled, marshalled } from "./marshal.js";
import type { Binding, ExportedObject, ObjectRegistry } from "./registry.js";
import { protocolError } from "./reply-error.js";
import { type CallContext, type MethodEntry, type MethodResult, signatureOf } from "./vtable.js";

export const PEER = "org.freedesktop.DBus.Peer";
export const INTROSPECTABLE = "org.freedesktop.DBus.Introspectable";
export const PROPERTIES = "org.freedesktop.DBus.Properties";
export const OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager";

/** A method's reply: its signature, body, and unix fds to close once sent. */
export interface Reply {
  readonly signature: string;
  readonly body: unknown[];
  readonly fds?: number[];
}

export interface IncomingCall {
  readonly path: string;
  readonly interface: string | undefined;
  readonly member: string;
  readonly signature: string;
  readonly body: unknown[];
  readonly context: CallContext;
}

/** The call a received method-call message makes, as either transport hands it to the dispatcher. */
export function incomingCall(message: Message, context: CallContext): IncomingCall {
  return {
    path: message.path ?? "/",
    interface: message.interface ?? undefined,
    member: message.member ?? "",
    signature: message.signature ?? "",
    body: message.body ?? [],
    context,
  };
}

/** Every property of one binding as a{sv}. */
export function propertiesOf(binding: Binding): Record<string, Variant> {
  const dict: Record<string, Variant> = {};
  for (const entry of binding.vtable.properties) {
    dict[entry.name] = new Variant(entry.type, entry.get(binding.target));
  }
  return dict;
}

/** The interfaces-and-properties dictionary of an object, as InterfacesAdded and GetManagedObjects carry it. */
export function interfacesOf(object: ExportedObject): Record<string, Record<string, Variant>> {
  const dict: Record<string, Record<string, Variant>> = {};
  for (const binding of object.bindings) dict[binding.vtable.interface] = propertiesOf(binding);
  return dict;
}

function expectSignature(call: IncomingCall, expected: string): void {
  if (call.signature !== expected) {
    throw protocolError(
      "InvalidArgs",
      `${call.interface ?? ""}.${call.member} takes signature "${expected}", got "${call.signature}"`,
    );
  }
}

let machineId: string | undefined;

async function getMachineId(): Promise<string> {
  machineId ??= (await readFile("/etc/machine-id", "utf8")).trim();
  return machineId;
}

export class Dispatcher {
  /**
   * Each object's entry of GetManagedObjects' reply, encoded once until changed() (ApiServer.update,
   * the one place targets change): encoding every property of 1000 containers took 300 ms a call.
   */
  private readonly entries = new WeakMap<ExportedObject, Marshalled>();

  constructor(private readonly registry: ObjectRegistry) {}

  async dispatch(call: IncomingCall): Promise<Reply> {
    const object = this.registry.get(call.path);
    if (!this.registry.exists(call.path)) throw unknownObject(call.path);
    const children = this.registry.children(call.path);
    const iface = call.interface;
    if (
      iface === PEER ||
      (iface === undefined && (call.member === "Ping" || call.member === "GetMachineId"))
    ) {
      return this.peer(call);
    }
    if (iface === INTROSPECTABLE || (iface === undefined && call.member === "Introspect")) {
      expectSignature(call, "");
      const bindings = object?.bindings.map((binding) => binding.vtable) ?? [];
      return { signature: "s", body: [nodeXml(bindings, object?.objectManager ?? false, children)] };
    }
    if (object === undefined)
      throw protocolError("UnknownInterface", `${call.path} has no interface ${iface}`);
    if (iface === PROPERTIES) return this.properties(object, call);
    if (iface === OBJECT_MANAGER && object.objectManager) {
      if (call.member !== "GetManagedObjects") throw unknownMethod(call);
      expectSignature(call, "");
      return { signature: "a{oa{sa{sv}}}", body: [this.managedObjects()] };
    }
    for (const binding of object.bindings) {
      if (iface !== undefined && binding.vtable.interface !== iface) continue;
      const entry = binding.vtable.methods.find((m: MethodEntry<unknown>) => m.name === call.member);
      if (entry !== undefined) return this.invoke(binding, entry, call);
      if (iface !== undefined) throw unknownMethod(call);
    }
    if (iface !== undefined)
      throw protocolError("UnknownInterface", `${call.path} has no interface ${iface}`);
    throw unknownMethod(call);
  }

  /** Drops the object's cached GetManagedObjects entry: its properties changed. */
  changed(object: ExportedObject): void {
    this.entries.delete(object);
  }

  /** GetManagedObjects' a{oa{sa{sv}}}, one pre-encoded entry per object. */
  private managedObjects(): Marshalled[] {
    const list: Marshalled[] = [];
    for (const object of this.registry.all()) {
      if (object.objectManager) continue;
      let entry = this.entries.get(object);
      if (entry === undefined) {
        entry = marshalled("{oa{sa{sv}}}", [object.path, interfacesOf(object)]);
        this.entries.set(object, entry);
      }
      list.push(entry);
    }
    return list;
  }

  private async invoke(binding: Binding, entry: MethodEntry<unknown>, call: IncomingCall): Promise<Reply> {
    expectSignature(call, signatureOf(entry.in));
    const args = entry.decode === undefined ? call.body : entry.decode(call.body);
    if (entry.privileged) await call.context.authorize();
    const result: MethodResult = await entry.handler(binding.target, args, call.context);
    return { signature: signatureOf(entry.out), ...result };
  }

  private async peer(call: IncomingCall): Promise<Reply> {
    expectSignature(call, "");
    if (call.member === "Ping") return { signature: "", body: [] };
    if (call.member === "GetMachineId") return { signature: "s", body: [await getMachineId()] };
    throw unknownMethod(call);
  }

  private binding(object: ExportedObject, iface: unknown): Binding {
    const binding = object.bindings.find((b) => b.vtable.interface === iface);
    if (binding === undefined)
      throw protocolError("UnknownInterface", `${object.path} has no interface ${iface}`);
    return binding;
  }

  private async properties(object: ExportedObject, call: IncomingCall): Promise<Reply> {
    const [ifaceName, name, value] = call.body;
    switch (call.member) {
      case "Get": {
        expectSignature(call, "ss");
        const binding = this.binding(object, ifaceName);
        const entry = binding.vtable.properties.find((p) => p.name === name);
        if (entry === undefined)
          throw protocolError("UnknownProperty", `${ifaceName} has no property ${name}`);
        return { signature: "v", body: [new Variant(entry.type, entry.get(binding.target))] };
      }
      case "GetAll": {
        expectSignature(call, "s");
        // An empty interface name means "all": with one berth interface per object that is it.
        const binding = ifaceName === "" ? object.bindings[0] : this.binding(object, ifaceName);
        return { signature: "a{sv}", body: [binding === undefined ? {} : propertiesOf(binding)] };
      }
      case "Set": {
        expectSignature(call, "ssv");
        const binding = this.binding(object, ifaceName);
        const entry = binding.vtable.properties.find((p) => p.name === name);
        if (entry === undefined)
          throw protocolError("UnknownProperty", `${ifaceName} has no property ${name}`);
        if (entry.set === undefined)
          throw protocolError("PropertyReadOnly", `${ifaceName}.${name} is read-only`);
        const variant = value as Variant;
        if (variant.signature !== entry.type) {
          throw new InvalidArgumentError(
            `${name} must be of type "${entry.type}", not "${variant.signature}"`,
          );
        }
        await call.context.authorize();
        // The setter emits PropertiesChanged itself (through its owner's refresh).
        await entry.set(binding.target, variant.value, call.context);
        return { signature: "", body: [] };
      }
      default:
        throw unknownMethod(call);
    }
  }
}

/**
 * No object at `path`. Under the container and process prefixes that means no such container or
 * process, said as the API's own error naming the id (what a caller acts on, and what GetContainer
 * says), rather than the bus's UnknownObject, which stays for every other path.
 */
function unknownObject(path: string): Error {
  const named = parseObjectPath(path);
  if (named?.execId !== undefined) {
    return new NoSuchProcessError(`container "${named.containerId}" has no process "${named.execId}"`);
  }
  if (named !== undefined) return new NoSuchContainerError(named.containerId);
  return protocolError("UnknownObject", `no object at ${path}`);
}

function unknownMethod(call: IncomingCall): Error {
  return protocolError(
    "UnknownMethod",
    `no method ${call.member} with signature "${call.signature}" on ${call.interface ?? "any interface"} at ${call.path}`,
  );
}
