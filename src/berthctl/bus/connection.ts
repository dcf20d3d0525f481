// One D-Bus connection for one berthctl invocation: method calls with a timeout (dbus-next has none),
// signal delivery, and unix fd passing (OpenStdio replies carry fds). Built on dbus-next's connection
// layer directly: berthctl needs none of its proxy or service machinery, and loading it costs start-up.

import { createRequire } from "node:module";
import type { Message } from "dbus-next/lib/message-type.js";
import type { Variant } from "dbus-next/lib/variant.js";
import { type FdStream, splitFdsPerMessage } from "../../common/fd-split.js";
import { BusError, ClientError } from "../cli/errors.js";

const METHOD_CALL = 1;
const METHOD_RETURN = 2;
const ERROR = 3;
const SIGNAL = 4;

export interface CallSpec {
  destination?: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: unknown[];
  /** Milliseconds; null waits for ever (Wait on a running container). */
  timeoutMs?: number | null;
}

export interface Signal {
  sender: string | undefined;
  path: string;
  interface: string;
  member: string;
  body: unknown[];
}

interface Pending {
  resolve(body: unknown[]): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
}

type Connection = ReturnType<typeof import("dbus-next/lib/connection.js")>;

export class BusConnection {
  private serial = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly signalListeners = new Set<(signal: Signal) => void>();
  private failure: Error | undefined;
  private closedByUs = false;
  private markClosed: () => void = () => {};
  /** Resolves when the connection has ended, failed, or was closed. */
  readonly ended = new Promise<void>((resolve) => {
    this.markClosed = resolve;
  });

  private constructor(
    readonly address: string,
    private readonly connection: Connection,
    private readonly MessageClass: typeof Message,
    private readonly VariantClass: typeof Variant,
    private readonly defaultTimeoutMs: number,
  ) {}

  /** Resolves with the unique name once Hello is answered: proves the address works. */
  ready: Promise<string> = Promise.resolve("");

  /**
   * Connects and sends Hello (the bus requires it first; berthd's peer-to-peer socket answers it too).
   * Calls made before the connection is up are queued by dbus-next and sent in order after Hello.
   */
  static async open(address: string, defaultTimeoutMs: number): Promise<BusConnection> {
    // require, not import(): these are CommonJS, and import() would run Node's CJS export scanner over
    // every module they load (measurable in `berthctl ps`'s start-up).
    const require = createRequire(import.meta.url);
    const createConnection =
      require("dbus-next/lib/connection.js") as typeof import("dbus-next/lib/connection.js");
    const { Message } =
      require("dbus-next/lib/message-type.js") as typeof import("dbus-next/lib/message-type.js");
    const { Variant } = require("dbus-next/lib/variant.js") as typeof import("dbus-next/lib/variant.js");
    let connection: Connection;
    try {
      connection = createConnection({ busAddress: address, negotiateUnixFd: true });
    } catch (error) {
      throw new ClientError(`cannot connect to ${address}: ${(error as Error).message}`);
    }
    splitFdsPerMessage(connection.stream as unknown as FdStream);
    const bus = new BusConnection(address, connection, Message, Variant, defaultTimeoutMs);
    connection.on("message", (msg: Message) => bus.dispatch(msg));
    connection.on("error", (error: Error) => bus.fail(error));
    connection.on("end", () => bus.fail(new Error("the connection was closed")));
    bus.ready = bus
      .call({
        destination: "org.freedesktop.DBus",
        path: "/org/freedesktop/DBus",
        interface: "org.freedesktop.DBus",
        member: "Hello",
      })
      .then((body) => String(body[0]));
    // A failed Hello also fails every call after it; callers that never await ready must not crash.
    bus.ready.catch(() => {});
    return bus;
  }

  /** A D-Bus variant (type "v") for a{sv} arguments. */
  variant(signature: string, value: unknown): Variant {
    return new this.VariantClass(signature, value);
  }

  call(spec: CallSpec): Promise<unknown[]> {
    if (this.failure) return Promise.reject(this.failure);
    const serial = this.serial++;
    const msg = new this.MessageClass({
      type: METHOD_CALL,
      serial,
      destination: spec.destination,
      path: spec.path,
      interface: spec.interface,
      member: spec.member,
      signature: spec.signature ?? "",
      body: spec.body ?? [],
    });
    return new Promise((resolve, reject) => {
      const timeoutMs = spec.timeoutMs === undefined ? this.defaultTimeoutMs : spec.timeoutMs;
      const timer =
        timeoutMs === null
          ? undefined
          : setTimeout(() => {
              this.pending.delete(serial);
              reject(new ClientError(`no reply to ${spec.member} within ${timeoutMs / 1000} s (timed out)`));
            }, timeoutMs);
      this.pending.set(serial, { resolve, reject, timer });
      try {
        this.connection.message(msg);
      } catch (error) {
        this.settle(serial)?.reject(this.connectionError(error as Error));
      }
    });
  }

  /** Subscribes to signals matching a bus match rule; the listener gets every signal on the connection. */
  async addMatch(rule: string, listener: (signal: Signal) => void): Promise<void> {
    this.signalListeners.add(listener);
    await this.call({
      destination: "org.freedesktop.DBus",
      path: "/org/freedesktop/DBus",
      interface: "org.freedesktop.DBus",
      member: "AddMatch",
      signature: "s",
      body: [rule],
    });
  }

  removeSignalListener(listener: (signal: Signal) => void): void {
    this.signalListeners.delete(listener);
  }

  close(): void {
    if (this.closedByUs) return;
    this.closedByUs = true;
    this.markClosed();
    this.failure ??= new ClientError("the connection was closed by berthctl");
    for (const serial of [...this.pending.keys()]) this.settle(serial)?.reject(this.failure);
    this.connection.stream.destroy?.();
  }

  private dispatch(msg: Message): void {
    if (msg.type === METHOD_RETURN || msg.type === ERROR) {
      const pending = msg.replySerial === undefined ? undefined : this.settle(msg.replySerial);
      if (!pending) return;
      if (msg.type === METHOD_RETURN) pending.resolve(msg.body);
      else pending.reject(new BusError(msg.errorName ?? "org.freedesktop.DBus.Error.Failed", errorText(msg)));
    } else if (msg.type === SIGNAL) {
      const signal: Signal = {
        sender: msg.sender,
        path: msg.path ?? "",
        interface: msg.interface ?? "",
        member: msg.member ?? "",
        body: msg.body,
      };
      for (const listener of this.signalListeners) listener(signal);
    }
  }

  private settle(serial: number): Pending | undefined {
    const pending = this.pending.get(serial);
    if (!pending) return undefined;
    this.pending.delete(serial);
    if (pending.timer) clearTimeout(pending.timer);
    return pending;
  }

  private fail(error: Error): void {
    if (this.closedByUs) return;
    this.markClosed();
    this.failure ??= this.connectionError(error);
    for (const serial of [...this.pending.keys()]) this.settle(serial)?.reject(this.failure);
  }

  private connectionError(error: Error): ClientError {
    const code = (error as NodeJS.ErrnoException).code ?? /^[A-Z]+\b/.exec(error.message)?.[0];
    const reason = (code && ERRNO_TEXT[code]) ?? error.message;
    return new ClientError(`cannot reach the bus at ${this.address}: ${reason}`);
  }
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "no such socket (is the bus running? --address picks another)",
  ECONNREFUSED: "connection refused (nothing listens on the socket)",
  EACCES: "permission denied",
  ECONNRESET: "the connection was reset",
  EPIPE: "the connection was closed",
};

function errorText(msg: Message): string {
  const first = msg.body[0];
  return typeof first === "string" && first !== "" ? first : "(no message)";
}
