// Types for the parts of dbus-next 0.10.2 berthctl loads directly: its connection layer and message
// classes, without lib/bus.js (which loads xml2js and the service machinery berthctl never uses, about
// 20 ms of start-up).

declare module "dbus-next/lib/connection.js" {
  import type { EventEmitter } from "node:events";
  import type { Message } from "dbus-next/lib/message-type.js";

  interface Connection extends EventEmitter {
    message(msg: Message): void;
    end(): void;
    stream: { destroy?: () => void; end?: () => void };
  }
  function createConnection(opts: { busAddress: string; negotiateUnixFd?: boolean }): Connection;
  export = createConnection;
}

declare module "dbus-next/lib/message-type.js" {
  export class Message {
    constructor(fields: {
      type?: number;
      serial?: number;
      destination?: string;
      path?: string;
      interface?: string;
      member?: string;
      signature?: string;
      body?: unknown[];
      flags?: number;
    });
    type: number;
    serial: number | null;
    replySerial?: number;
    path?: string;
    interface?: string;
    member?: string;
    errorName?: string;
    sender?: string;
    signature: string;
    body: unknown[];
  }
}

declare module "dbus-next/lib/variant.js" {
  export class Variant<T = unknown> {
    constructor(signature: string, value: T);
    signature: string;
    value: T;
  }
}
