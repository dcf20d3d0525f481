// One socket write for the messages berthd sends in one turn of the event loop. A state change sends
// several (ContainerNew and InterfacesAdded; a start's PropertiesChanged, ActiveStarts and the reply),
// and each write is a sendmsg(2) for the socket and a wake-up for the reader. Messages are queued in
// order and written together once the turn's promise continuations have run (process.nextTick),
// before any I/O is polled, so nothing arrives later than it would have. A message carrying fds goes
// alone (after the queue): its fds must travel with its bytes. Before its socket closes, the owner
// flushes (stopBatching) so that nothing queued is lost.

import type { Message } from "../../common/bus.js";
import { marshalMessage } from "./marshal.js";

/** Writes bytes to the socket; `written` (given with fds) runs once the kernel has them. */
export type WriteBytes = (data: Buffer, fds: number[], written?: () => void) => void;

export class Outbox {
  private queued: Buffer[] = [];
  private batching = true;

  constructor(
    private readonly write: WriteBytes,
    private readonly onError: (error: Error) => void,
  ) {}

  /**
   * Marshals now (a bad message throws here, to its sender) and queues the bytes. `written` runs
   * once the fds the message carries are in the kernel's hands (the caller may close its copies).
   */
  send(message: Message, written?: () => void): void {
    const { data, fds } = marshalMessage(message);
    if (fds.length > 0 || !this.batching) {
      this.flush();
      this.attempt(() => this.write(data, fds, written));
      return;
    }
    this.queued.push(data);
    // A tick queued from a promise continuation runs once every continuation has: the whole turn.
    if (this.queued.length === 1) process.nextTick(() => this.flush());
    written?.();
  }

  /** Writes what is queued now, and every later message at once (the socket is about to close). */
  stopBatching(): void {
    this.batching = false;
    this.flush();
  }

  private flush(): void {
    if (this.queued.length === 0) return;
    const data = this.queued.length === 1 ? this.queued[0]! : Buffer.concat(this.queued);
    this.queued = [];
    this.attempt(() => this.write(data, []));
  }

  private attempt(write: () => void): void {
    try {
      write();
    } catch (error) {
      this.onError(error as Error);
    }
  }
}
