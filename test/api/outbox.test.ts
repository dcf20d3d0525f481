// The outbox (src/berthd/dbus/outbox.ts): what berthd sends in one turn leaves in one write, in order;
// a message with fds goes alone, after what was queued before it; errors reach the right place.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { marshalMessage } from "../../src/berthd/dbus/marshal.js";
import { Outbox } from "../../src/berthd/dbus/outbox.js";
import { Message, MessageType } from "../../src/common/bus.js";

let serial = 1;
function signal(member: string, signature = "", body: unknown[] = []): Message {
  const message = new Message({
    type: MessageType.SIGNAL,
    path: "/o",
    interface: "a.b",
    member,
    signature,
    body,
  });
  message.serial = serial++;
  return message;
}

function recorder() {
  const writes: Array<{ data: Buffer; fds: number[]; written: (() => void) | undefined }> = [];
  const errors: Error[] = [];
  const outbox = new Outbox(
    (data, fds, written) => writes.push({ data, fds, written }),
    (error) => errors.push(error),
  );
  return { outbox, writes, errors };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("outbox", () => {
  test("one turn's messages: one write, in order; the next turn's: another", async () => {
    const { outbox, writes } = recorder();
    const first = [signal("A", "s", ["x"]), signal("B"), signal("C", "u", [7])];
    const expected = Buffer.concat(first.map((m) => marshalMessage(m).data));
    for (const message of first) outbox.send(message);
    assert.equal(writes.length, 0, "nothing is written before the turn ends");
    await nextTurn();
    assert.equal(writes.length, 1);
    assert.ok(writes[0]!.data.equals(expected));
    const later = signal("D");
    outbox.send(later);
    await nextTurn();
    assert.equal(writes.length, 2);
    assert.ok(writes[1]!.data.equals(marshalMessage(later).data));
  });

  test("a message with fds flushes the queue, then goes alone with its fds", async () => {
    const { outbox, writes } = recorder();
    const before = signal("Before");
    const withFds = signal("Fds", "hh", [5, 6]);
    let closed = 0;
    outbox.send(before);
    outbox.send(withFds, () => closed++);
    assert.equal(writes.length, 2, "written at once");
    assert.ok(writes[0]!.data.equals(marshalMessage(before).data));
    assert.deepEqual(writes[1]!.fds, [5, 6]);
    writes[1]!.written?.();
    assert.equal(closed, 1);
    await nextTurn();
    assert.equal(writes.length, 2, "nothing left to flush");
  });

  test("stopBatching writes what is queued at once, and every later message as it is sent", () => {
    const { outbox, writes } = recorder();
    outbox.send(signal("Queued"));
    outbox.stopBatching();
    assert.equal(writes.length, 1, "the queue is written before the socket closes");
    outbox.send(signal("Late reply"));
    assert.equal(writes.length, 2, "written without waiting for the turn to end");
  });

  test("a message that cannot be marshalled throws to its sender and is not queued", async () => {
    const { outbox, writes } = recorder();
    assert.throws(() => outbox.send(signal("Bad", "u", [-1])), /not an integer/);
    await nextTurn();
    assert.equal(writes.length, 0);
  });

  test("a failed write goes to onError; later messages are still written", async () => {
    let fail = true;
    const writes: Buffer[] = [];
    const errors: Error[] = [];
    const outbox = new Outbox(
      (data) => {
        if (fail) throw new Error("socket closed");
        writes.push(data);
      },
      (error) => errors.push(error),
    );
    outbox.send(signal("Lost"));
    await nextTurn();
    assert.deepEqual(
      errors.map((e) => e.message),
      ["socket closed"],
    );
    fail = false;
    outbox.send(signal("Kept"));
    await nextTurn();
    assert.equal(writes.length, 1);
  });
});
