// Connecting to a D-Bus bus with dbus-next, and calling with a timeout (dbus-next has none).
// Used by berthd (its own connection, and polkit calls) and by berthctl and tests.

import type { EventEmitter } from "node:events";
import type { Writable } from "node:stream";
import dbus from "dbus-next";
import { type FdStream, splitFdsPerMessage } from "./fd-split.js";

export type MessageBus = dbus.MessageBus;
export type Message = dbus.Message;
export type Variant<T = unknown> = dbus.Variant<T>;
export type DBusError = dbus.DBusError;
export const { Message, Variant, DBusError, MessageType, MessageFlag } = dbus;

export const SYSTEM_BUS_ADDRESS = "unix:path=/run/dbus/system_bus_socket";
export const DEFAULT_CALL_TIMEOUT_MS = 25_000;

/** The bus an unconfigured client uses: DBUS_SYSTEM_BUS_ADDRESS, else the system bus socket. */
export function systemBusAddress(): string {
  const fromEnv = process.env.DBUS_SYSTEM_BUS_ADDRESS;
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : SYSTEM_BUS_ADDRESS;
}

/** A connection could not be made; the message says to where and why. */
export class BusConnectError extends Error {}

/**
 * Connects to `address` and resolves once the bus has answered Hello (the connection has its unique
 * name). File descriptor passing is negotiated (type "h").
 */
export function connectBus(address: string, timeoutMs = 10_000): Promise<MessageBus> {
  return new Promise((resolve, reject) => {
    let bus: MessageBus;
    try {
      bus = dbus.sessionBus({ busAddress: address, negotiateUnixFd: true } as dbus.SessionBusOptions);
    } catch (error) {
      reject(new BusConnectError(`cannot connect to ${address}: ${(error as Error).message}`));
      return;
    }
    // Before any message is parsed: dbus-next would hand a reply's fds to a signal read just before it.
    const stream = connectionStream(bus);
    if (stream !== undefined) splitFdsPerMessage(stream as unknown as FdStream);
    let settled = false;
    const timer = setTimeout(() => {
      cleanup();
      bus.disconnect();
      reject(new BusConnectError(`cannot connect to ${address}: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    const onConnect = (): void => {
      cleanup();
      resolve(bus);
    };
    const onError = (error: unknown): void => {
      if (settled) return;
      cleanup();
      const reason = error instanceof Error ? error.message : String(error);
      reject(new BusConnectError(`cannot connect to ${address}: ${reason}`));
    };
    const cleanup = (): void => {
      settled = true;
      clearTimeout(timer);
      bus.off("connect", onConnect);
    };
    bus.on("connect", onConnect);
    // Errors, and a server that closes the connection during the handshake (a berthd stopping), fail
    // the connect at once, so that the caller can retry, rather than after the whole timeout.
    onDisconnect(bus, (reason) => onError(new Error(reason)));
  });
}

/** bus.call with a timeout: rejects with org.freedesktop.DBus.Error.Timeout when no reply comes. */
export function callWithTimeout(
  bus: MessageBus,
  message: Message,
  timeoutMs = DEFAULT_CALL_TIMEOUT_MS,
): Promise<Message | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new DBusError(
            "org.freedesktop.DBus.Error.Timeout",
            `${message.interface}.${message.member} got no reply in ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
    bus.call(message).then(
      (reply) => {
        clearTimeout(timer);
        resolve(reply);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Calls a method of org.freedesktop.DBus (the bus itself). */
export async function callBusDaemon(
  bus: MessageBus,
  member: string,
  signature = "",
  body: unknown[] = [],
  timeoutMs = DEFAULT_CALL_TIMEOUT_MS,
): Promise<unknown[]> {
  const reply = await callWithTimeout(
    bus,
    new Message({
      destination: "org.freedesktop.DBus",
      path: "/org/freedesktop/DBus",
      interface: "org.freedesktop.DBus",
      member,
      signature,
      body,
    }),
    timeoutMs,
  );
  return reply?.body ?? [];
}

/** dbus-next keeps its connection private; these two needs are the only reasons to reach into it. */
interface BusInternals {
  _connection?: EventEmitter & { stream?: Writable };
}

/** The socket under a bus connection (to learn when a message with fds has been written). */
export function connectionStream(bus: MessageBus): Writable | undefined {
  return (bus as unknown as BusInternals)._connection?.stream;
}

/** Calls `listener` once when the connection ends or fails (dbus-next does not forward "end"). */
export function onDisconnect(bus: MessageBus, listener: (reason: string) => void): void {
  let called = false;
  const once = (reason: string): void => {
    if (called) return;
    called = true;
    listener(reason);
  };
  (bus as unknown as BusInternals)._connection?.on("end", () => once("the bus closed the connection"));
  bus.on("error", (error: unknown) => once(error instanceof Error ? error.message : String(error)));
}
