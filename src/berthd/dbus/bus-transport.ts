// Serving the API on a bus connection (dbus-next's low-level API): every method call addressed to us
// goes to the ApiServer with the caller's name, the ALLOW_INTERACTIVE_AUTHORIZATION flag and an
// authorizer; replies carry unix fds when the method returns some; signals go out on the connection.

import type { Writable } from "node:stream";
import { connectionStream, Message, type MessageBus, MessageType } from "../../common/bus.js";
import { closeAll } from "../fd.js";
import type { Logger } from "../log.js";
import { BusAuthorizer } from "./authorize.js";
import { incomingCall } from "./dispatch.js";
import { Outbox } from "./outbox.js";
import { errorReply, toReplyError } from "./reply-error.js";
import type { ApiServer, SignalSink } from "./server.js";

const ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied";
const NO_REPLY_EXPECTED = 0x1;
const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;
const FD_CLOSE_POLL_MS = 10;
const FD_CLOSE_MAX_WAIT_MS = 30_000;

export class BusTransport implements SignalSink {
  private readonly authorizer: BusAuthorizer;
  /** Replies and signals, written by berthd's marshaller (dbus-next's bus.send is 10× slower). */
  private readonly outbox: Outbox;
  private handler: ((message: Message) => boolean) | undefined;

  constructor(
    private readonly bus: MessageBus,
    private readonly server: ApiServer,
    private readonly log: Logger,
  ) {
    this.authorizer = new BusAuthorizer(bus, log);
    this.outbox = new Outbox(
      (data, fds) => writeToBus(bus, data, fds),
      (error) => log.warn(`could not write to the bus: ${error.message}`),
    );
  }

  start(): void {
    this.handler = (message) => {
      if (message.type !== MessageType.METHOD_CALL) return false;
      void this.handle(message);
      return true;
    };
    this.bus.addMethodHandler(this.handler);
  }

  /** Takes no more calls; replies to calls in flight are written at once (berthd disconnects soon). */
  stop(): void {
    if (this.handler !== undefined) this.bus.removeMethodHandler(this.handler);
    this.handler = undefined;
    this.outbox.stopBatching();
  }

  emitSignal(path: string, iface: string, member: string, signature: string, body: unknown[]): void {
    this.send(new Message({ type: MessageType.SIGNAL, path, interface: iface, member, signature, body }));
  }

  private send(message: Message): void {
    message.serial = this.bus.newSerial();
    this.outbox.send(message);
  }

  private async handle(message: Message): Promise<void> {
    const sender = message.sender ?? "";
    const callName = `${message.interface ?? ""}.${message.member} on ${message.path}`;
    const interactive = (message.flags & ALLOW_INTERACTIVE_AUTHORIZATION) !== 0;
    let reply: Message;
    let fds: number[] = [];
    try {
      const result = await this.server.dispatch(
        incomingCall(message, { sender, authorize: () => this.authorizer.authorize(sender, interactive) }),
      );
      fds = result.fds ?? [];
      reply = Message.newMethodReturn(message, result.signature, result.body);
    } catch (error) {
      const { name, message: text } = toReplyError(error, callName, this.log);
      // Refused changes are worth an admin's attention; ordinary failures are the caller's business.
      const level = name === ACCESS_DENIED ? "info" : "debug";
      this.log.log(level, `${callName} from ${sender} refused: ${name}: ${text}`);
      reply = errorReply(message, name, text);
    }
    if ((message.flags & NO_REPLY_EXPECTED) !== 0) {
      closeAll(fds);
      return;
    }
    try {
      this.send(reply);
    } catch (error) {
      // A reply that cannot be marshalled (a bug) must still answer the caller, who would wait forever.
      const { name, message: text } = toReplyError(error, callName, this.log);
      try {
        this.send(errorReply(message, name, text));
      } catch (sendError) {
        this.log.warn(`could not reply to ${callName}: ${(sendError as Error).message}`);
      }
    }
    if (fds.length > 0) this.closeWhenWritten(fds);
  }

  /** Closes our copies of sent fds once the socket has written the message carrying them (fds must stay open until then). */
  private closeWhenWritten(fds: number[]): void {
    const stream = connectionStream(this.bus);
    const started = Date.now();
    const poll = (): void => {
      if (
        stream === undefined ||
        stream.writableLength === 0 ||
        Date.now() - started > FD_CLOSE_MAX_WAIT_MS
      ) {
        closeAll(fds);
      } else {
        setTimeout(poll, FD_CLOSE_POLL_MS);
      }
    };
    poll();
  }
}

/** What dbus-next's connection does with a marshalled message (fds need its usocket stream). */
function writeToBus(bus: MessageBus, data: Buffer, fds: number[]): void {
  const stream = connectionStream(bus) as (Writable & { supportsUnixFd?: boolean }) | undefined;
  if (stream === undefined || !stream.writable) throw new Error("the bus connection is closed");
  if (stream.supportsUnixFd === true) {
    stream.write({ data, fds });
  } else {
    if (fds.length > 0) throw new Error("this bus connection cannot pass file descriptors");
    stream.write(data);
  }
}
