// One ApiServer, several transports: its signals go to every one of them (the bus connection and
// the peer-to-peer socket's clients).

import type { SignalSink } from "./server.js";

export class SignalFanout implements SignalSink {
  constructor(private readonly sinks: SignalSink[]) {}

  emitSignal(path: string, iface: string, member: string, signature: string, body: unknown[]): void {
    for (const sink of this.sinks) sink.emitSignal(path, iface, member, signature, body);
  }
}
