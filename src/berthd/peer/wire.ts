// dbus-next's wire format (its marshaller and stream parser), used directly: a peer-to-peer server has
// no bus connection object to do it. These are CommonJS internals of dbus-next 0.10.2, loaded with
// require and typed here to exactly what is used.

import { createRequire } from "node:module";
import type { Readable } from "node:stream";
import { Message } from "../../common/bus.js";

interface RawMessage {
  serial: number;
  type: number;
  flags: number;
  signature?: string;
  body?: unknown[];
  [field: string]: unknown;
}

interface MessageModule {
  unmarshalMessages(stream: Readable, onMessage: (raw: RawMessage) => void, opts: object): void;
}

interface CompatModule {
  messageToJsFmt(raw: RawMessage): object;
  marshallMessage(message: Message): [Buffer, number[]];
}

const require = createRequire(import.meta.url);
const messageModule = require("dbus-next/lib/message.js") as MessageModule;
const compat = require("dbus-next/lib/marshall-compat.js") as CompatModule;

/** Parses messages from `stream` (after the handshake) and calls `onMessage` for each, in order. */
export function readMessages(
  stream: Readable,
  onMessage: (message: Message) => void,
  onBadMessage: (error: Error) => void,
): void {
  messageModule.unmarshalMessages(
    stream,
    (raw) => {
      let message: Message;
      try {
        message = new Message(compat.messageToJsFmt(raw) as ConstructorParameters<typeof Message>[0]);
      } catch (error) {
        onBadMessage(error as Error);
        return;
      }
      onMessage(message);
    },
    { negotiateUnixFd: true },
  );
}

/** The message's bytes and the fds its `h` values name (the caller sends them with SCM_RIGHTS). */
export function marshal(message: Message): { data: Buffer; fds: number[] } {
  const [data, fds] = compat.marshallMessage(message);
  return { data, fds };
}
