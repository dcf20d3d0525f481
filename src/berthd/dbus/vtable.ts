// The shape of a D-Bus interface as berthd serves it, in the style of sd-bus vtables: one table per
// interface lists every method (in/out signature, whether it changes anything, its handler), every
// property (type, const or emits change, getter, setter if writable) and every signal. Introspection XML
// is generated from these tables, and a test checks it against dbus/*.xml, the API's source of truth.

/** One argument: its D-Bus type and name. */
export interface Arg {
  readonly name: string;
  readonly type: string;
}

/** What a handler knows about its call, whatever the transport. */
export interface CallContext {
  /** The caller's unique bus name (or a peer label on a peer-to-peer connection). */
  readonly sender: string;
  /** Throws AccessDenied / InteractiveAuthorizationRequired unless the caller may change things. */
  authorize(): Promise<void>;
}

/** A method's result: the reply body, and unix fds when the out signature has "h" (closed after sending). */
export interface MethodResult {
  readonly body: unknown[];
  readonly fds?: number[];
}

export interface MethodEntry<T> {
  readonly name: string;
  readonly in: readonly Arg[];
  readonly out: readonly Arg[];
  /** Changes something: the caller must be authorized before the handler runs. */
  readonly privileged: boolean;
  /**
   * Checks the shape of the arguments (a{sv} keys and variant types) and converts them, before
   * authorization and the handler: a malformed call is refused the same way for everyone.
   */
  readonly decode?: (args: unknown[]) => unknown[];
  readonly handler: (target: T, args: unknown[], call: CallContext) => Promise<MethodResult>;
}

/** org.freedesktop.DBus.Property.EmitsChangedSignal: "true" emits values, "const" never changes. */
export type EmitsChange = "true" | "const";

export interface PropertyEntry<T> {
  readonly name: string;
  readonly type: string;
  readonly emits: EmitsChange;
  readonly get: (target: T) => unknown;
  /** Present for writable properties; setting one is always privileged. */
  readonly set?: (target: T, value: unknown, call: CallContext) => Promise<void>;
}

export interface SignalEntry {
  readonly name: string;
  readonly args: readonly Arg[];
}

export interface Vtable<T> {
  readonly interface: string;
  readonly methods: readonly MethodEntry<T>[];
  readonly properties: readonly PropertyEntry<T>[];
  readonly signals: readonly SignalEntry[];
}

/** Parses "s id, a{sv} options" into args. */
export function args(spec: string): Arg[] {
  if (spec.trim() === "") return [];
  return spec.split(",").map((part) => {
    const [type, name] = part.trim().split(/\s+/);
    if (type === undefined || name === undefined) throw new Error(`bad argument spec "${part}"`);
    return { type, name };
  });
}

/** The D-Bus signature of a list of args. */
export function signatureOf(list: readonly Arg[]): string {
  return list.map((arg) => arg.type).join("");
}

export function method<T>(
  name: string,
  inSpec: string,
  outSpec: string,
  privileged: boolean,
  handler: MethodEntry<T>["handler"],
  decode?: MethodEntry<T>["decode"],
): MethodEntry<T> {
  const entry = { name, in: args(inSpec), out: args(outSpec), privileged, handler };
  return decode === undefined ? entry : { ...entry, decode };
}

export function property<T>(
  name: string,
  type: string,
  emits: EmitsChange,
  get: PropertyEntry<T>["get"],
  set?: PropertyEntry<T>["set"],
): PropertyEntry<T> {
  return set === undefined ? { name, type, emits, get } : { name, type, emits, get, set };
}

export function signal(name: string, spec: string): SignalEntry {
  return { name, args: args(spec) };
}
