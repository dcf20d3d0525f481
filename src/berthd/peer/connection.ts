// One client of the peer-to-peer socket: the SASL handshake, then D-Bus messages. There is no bus
// daemon on this socket, so the connection answers the bus's own methods itself (Hello, AddMatch,
// RemoveMatch, GetNameOwner, NameHasOwner, ListNames, GetConnectionUnix*, GetId), hands every other
// method call to the ApiServer's transport-independent dispatch, and takes the signals whose match
// rules the client added.

import type { Duplex } from "node:stream";
import { Message, MessageType } from "../../common/bus.js";
import { BUS_NAME } from "../../common/bus-path.js";
import { AccessDeniedError } from "../../common/errors.js";
import { incomingCall } from "../dbus/dispatch.js";
import { Outbox } from "../dbus/outbox.js";
import { errorReply, protocolError, toReplyError } from "../dbus/reply-error.js";
import type { ApiServer } from "../dbus/server.js";
import { closeAll, type PeerCredentials } from "../fd.js";
import type { Logger } from "../log.js";
import { authenticate } from "./auth.js";
import { MatchRuleError, matches, parseMatchRule, type SignalFields } from "./match-rule.js";
import { readMessages } from "./wire.js";

/** berthd's unique name on its own socket (a bus would have given it one). */
export const SERVER_UNIQUE_NAME = ":1.0";
const DBUS_NAME = "org.freedesktop.DBus";
const NO_REPLY_EXPECTED = 0x1;
/** Only root may use the socket (it is 0600 root anyway); authorization then treats the peer as root. */
const ALLOWED_UID = 0;
const AUTH_TIMEOUT_MS = 30_000;

/** What a connection needs from its server: the other peers, for name lookups. */
export interface PeerDirectory {
  readonly guid: string;
  peers(): Iterable<PeerConnection>;
  closed(connection: PeerConnection): void;
}

export class PeerConnection {
  private serial = 1;
  private readonly rules: Array<{ text: string; rule: Map<string, string> }> = [];
  private ready = false;
  private gone = false;
  private readonly outbox = new Outbox(
    (data, fds, written) =>
      this.stream.write({ data, fds: fds.length > 0 ? fds : undefined, callback: written }),
    (error) => this.log.debug(`private socket ${this.uniqueName}: ${error.message}`),
  );

  constructor(
    private readonly stream: Duplex,
    readonly credentials: PeerCredentials,
    readonly uniqueName: string,
    private readonly api: ApiServer,
    private readonly directory: PeerDirectory,
    private readonly log: Logger,
  ) {}

  /** Runs the handshake, then serves messages until the client leaves. */
  async start(): Promise<void> {
    // usocket emits "end" when the client hangs up and never "close" unless destroyed: without this,
    // every finished connection (a busctl call) kept its fd and its place in the server for ever.
    this.stream.on("end", () => this.close());
    this.stream.on("close", () => this.close());
    this.stream.on("error", (error: Error) => {
      this.log.debug(`private socket ${this.uniqueName}: ${error.message}`);
      this.close();
    });
    // A client that never finishes the handshake must not hold a connection for ever.
    const timer = setTimeout(() => {
      this.log.info(`private socket: pid ${this.credentials.pid} did not authenticate in time; closed`);
      this.close();
    }, AUTH_TIMEOUT_MS);
    try {
      await authenticate(this.stream, this.credentials.uid, ALLOWED_UID, this.directory.guid);
    } catch (error) {
      this.log.info(
        `private socket: refused pid ${this.credentials.pid} uid ${this.credentials.uid}: ${(error as Error).message}`,
      );
      this.close();
      return;
    } finally {
      clearTimeout(timer);
    }
    if (this.gone) return;
    this.ready = true;
    readMessages(
      this.stream,
      (message) => this.onMessage(message),
      (error) => this.log.warn(`private socket ${this.uniqueName}: unreadable message: ${error.message}`),
    );
  }

  close(): void {
    if (this.gone) return;
    this.outbox.stopBatching();
    this.gone = true;
    this.ready = false;
    this.stream.destroy();
    this.directory.closed(this);
  }

  /** Sends the signal if one of this client's match rules takes it. */
  emitSignal(signal: SignalFields, signature: string): void {
    if (!this.ready) return;
    if (!this.rules.some(({ rule }) => matches(rule, signal, [SERVER_UNIQUE_NAME, BUS_NAME]))) return;
    this.send(
      new Message({
        type: MessageType.SIGNAL,
        path: signal.path,
        interface: signal.interface,
        member: signal.member,
        signature,
        body: signal.body,
      }),
      SERVER_UNIQUE_NAME,
    );
  }

  private send(message: Message, sender: string, fds: number[] = []): void {
    if (this.gone) {
      closeAll(fds);
      return;
    }
    message.serial = this.serial++;
    message.sender = sender;
    if (message.type !== MessageType.SIGNAL) message.destination = this.uniqueName;
    // fds stay open until the socket has sent them; then our copies are closed.
    this.outbox.send(message, () => closeAll(fds));
  }

  private onMessage(message: Message): void {
    if (message.type !== MessageType.METHOD_CALL) return;
    void this.handle(message);
  }

  private async handle(call: Message): Promise<void> {
    const fromBus = call.destination === DBUS_NAME;
    const callName = `${call.interface ?? ""}.${call.member} on ${call.path}`;
    let reply: Message;
    let fds: number[] = [];
    try {
      if (fromBus) {
        const [signature, body] = this.busMethod(call);
        reply = Message.newMethodReturn(call, signature, body);
      } else {
        const destination = call.destination;
        if (destination !== undefined && destination !== BUS_NAME && destination !== SERVER_UNIQUE_NAME) {
          throw protocolError("ServiceUnknown", `the name ${destination} is not served on this socket`);
        }
        const result = await this.api.dispatch(
          incomingCall(call, { sender: this.uniqueName, authorize: () => this.authorize() }),
        );
        fds = result.fds ?? [];
        reply = Message.newMethodReturn(call, result.signature, result.body);
      }
    } catch (error) {
      const { name, message } = toReplyError(error, callName, this.log);
      this.log.debug(`${callName} from ${this.uniqueName} (private socket) refused: ${name}: ${message}`);
      reply = errorReply(call, name, message);
    }
    if ((call.flags & NO_REPLY_EXPECTED) !== 0) {
      closeAll(fds);
      return;
    }
    try {
      this.send(reply, fromBus ? DBUS_NAME : SERVER_UNIQUE_NAME, fds);
    } catch (error) {
      closeAll(fds);
      const { name, message } = toReplyError(error, callName, this.log);
      this.send(errorReply(call, name, message), SERVER_UNIQUE_NAME);
    }
  }

  private async authorize(): Promise<void> {
    if (this.credentials.uid !== 0) {
      throw new AccessDeniedError(`uid ${this.credentials.uid} may not change anything through this socket`);
    }
  }

  /** The bus daemon's methods, answered by the server itself. Returns [signature, body]. */
  private busMethod(call: Message): [string, unknown[]] {
    const [arg] = (call.body ?? []) as [string | undefined];
    const expect = (signature: string): void => {
      if ((call.signature ?? "") !== signature) {
        throw protocolError(
          "InvalidArgs",
          `${call.member} takes "${signature}", got "${call.signature ?? ""}"`,
        );
      }
    };
    switch (call.member) {
      case "Hello":
        return ["s", [this.uniqueName]];
      case "AddMatch":
        expect("s");
        try {
          this.rules.push({ text: arg!, rule: parseMatchRule(arg!) });
        } catch (error) {
          if (error instanceof MatchRuleError) throw protocolError("MatchRuleInvalid", error.message);
          throw error;
        }
        return ["", []];
      case "RemoveMatch": {
        expect("s");
        const index = this.rules.findIndex((r) => r.text === arg);
        if (index < 0) throw protocolError("MatchRuleNotFound", `no match rule "${arg}"`);
        this.rules.splice(index, 1);
        return ["", []];
      }
      case "GetNameOwner": {
        expect("s");
        const owner = this.owner(arg!);
        if (owner === undefined) throw protocolError("NameHasNoOwner", `the name ${arg} has no owner here`);
        return ["s", [owner]];
      }
      case "NameHasOwner":
        expect("s");
        return ["b", [this.owner(arg!) !== undefined]];
      case "ListNames":
        return ["as", [[DBUS_NAME, BUS_NAME, SERVER_UNIQUE_NAME, ...this.peerNames()]]];
      case "GetConnectionUnixUser":
      case "GetConnectionUnixProcessID": {
        expect("s");
        const owner = this.owner(arg!);
        if (owner === undefined) throw protocolError("NameHasNoOwner", `the name ${arg} has no owner here`);
        const credentials =
          owner === SERVER_UNIQUE_NAME
            ? { uid: process.getuid?.() ?? 0, pid: process.pid }
            : [...this.directory.peers()].find((p) => p.uniqueName === owner)!.credentials;
        return ["u", [call.member === "GetConnectionUnixUser" ? credentials.uid : credentials.pid]];
      }
      case "GetId":
        return ["s", [this.directory.guid]];
      default:
        throw protocolError("UnknownMethod", `${call.member} is not available on berthd's private socket`);
    }
  }

  private peerNames(): string[] {
    return [...this.directory.peers()].map((p) => p.uniqueName);
  }

  private owner(name: string): string | undefined {
    if (name === BUS_NAME || name === SERVER_UNIQUE_NAME) return SERVER_UNIQUE_NAME;
    if (name === DBUS_NAME) return DBUS_NAME;
    return this.peerNames().includes(name) ? name : undefined;
  }
}
