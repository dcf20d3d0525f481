// Reading D-Bus messages with dbus-next's stream parser, used directly: a peer-to-peer server has no
// bus connection object to do it. These are CommonJS internals of dbus-next 0.10.2, loaded with
// require and typed here to exactly what is used. Writing is berthd's own (../dbus/marshal.ts).

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
