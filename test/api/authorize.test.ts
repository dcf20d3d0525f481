// BusAuthorizer asks the bus for a caller's uid once per connection (a unique name is never reused
// and its uid never changes), not once per privileged call: one round trip less per RunContainer.

import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { BusAuthorizer } from "../../src/berthd/dbus/authorize.js";
import { createLogger } from "../../src/berthd/log.js";
import { connectBus, type Message, type MessageBus } from "../../src/common/bus.js";
import { startBus, type TestBus } from "../helpers/dbus.js";

describe("BusAuthorizer", () => {
  let bus: TestBus;
  let daemonSide: MessageBus;
  const callers: MessageBus[] = [];
  /** The bus methods the authorizer called, in order (the calls themselves go to the real bus). */
  const asked: string[] = [];

  before(async () => {
    bus = await startBus();
    daemonSide = await connectBus(bus.address);
    const call = daemonSide.call.bind(daemonSide);
    daemonSide.call = (message: Message) => {
      asked.push(`${message.member}(${String(message.body[0])})`);
      return call(message);
    };
    for (let i = 0; i < 2; i++) callers.push(await connectBus(bus.address));
  });
  after(async () => {
    for (const connection of [daemonSide, ...callers]) connection?.disconnect();
    await bus?.stop();
  });

  test("root callers: one GetConnectionUnixUser per connection, however many calls", async () => {
    const authorizer = new BusAuthorizer(
      daemonSide,
      createLogger({ stream: new PassThrough(), journald: false }),
    );
    const [first, second] = callers.map((c) => (c as unknown as { name: string }).name) as [string, string];
    for (let i = 0; i < 3; i++) await authorizer.authorize(first, false);
    await authorizer.authorize(second, false);
    await authorizer.authorize(first, true);
    assert.deepEqual(asked, [`GetConnectionUnixUser(${first})`, `GetConnectionUnixUser(${second})`]);
  });

  test("a name the bus does not know is refused every time, and not remembered", async () => {
    const authorizer = new BusAuthorizer(
      daemonSide,
      createLogger({ stream: new PassThrough(), journald: false }),
    );
    asked.length = 0;
    for (let i = 0; i < 2; i++) {
      await assert.rejects(authorizer.authorize(":1.9999", false), /Could not get UID/);
    }
    assert.equal(asked.length, 2);
  });
});
