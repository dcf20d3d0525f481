// Turning whatever a handler threw into the error a caller receives. A caller only ever sees a named
// error with a message a person can act on: BerthError → its D-Bus name and message; a D-Bus protocol
// error raised by the dispatcher → as is; anything else → Failed with a reference into berthd's log,
// where the stack goes. dbus-next would otherwise send the JavaScript stack to the caller.

import { DBusError, Message } from "../../common/bus.js";
import { BerthError } from "../../common/errors.js";
import type { Logger } from "../log.js";

export interface ReplyError {
  readonly name: string;
  readonly message: string;
}

export const FAILED = "org.freedesktop.DBus.Error.Failed";

/** A standard D-Bus error (UnknownMethod, InvalidArgs, …) raised by the dispatcher itself. */
export function protocolError(name: string, message: string): Error {
  return new DBusError(`org.freedesktop.DBus.Error.${name}`, message);
}

// dbus-next's typings declare newError's first parameter as a string; it is the call being answered.
/** The error message answering `call`, for both transports. */
export const errorReply = Message.newError as unknown as (
  call: Message,
  name: string,
  text: string,
) => Message;

let internalErrors = 0;

export function toReplyError(error: unknown, call: string, log: Logger): ReplyError {
  if (error instanceof BerthError) return { name: error.dbusName, message: error.message };
  if (error instanceof DBusError && error.type.startsWith("org.freedesktop.DBus.Error.")) {
    return { name: error.type, message: error.text };
  }
  internalErrors += 1;
  const ref = `#${internalErrors}`;
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  log.error(`internal error ${ref} in ${call}: ${detail}`);
  return { name: FAILED, message: `internal error ${ref} in ${call}; see berthd's log` };
}
