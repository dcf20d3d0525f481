// Claiming org.berth.Supervisor1 after a restart: the bus may still list the previous berthd for a
// moment, so a new berthd queues for the name (RequestName without DO_NOT_QUEUE) and waits for
// NameAcquired, logging who holds it, instead of exiting; READY=1 comes only once the name is its own.
// Here the "previous berthd" is a live one on the same bus that stops while the second one waits.

import assert from "node:assert/strict";
import { test } from "node:test";
import { callBusDaemon, connectBus } from "../../src/common/bus.js";
import { BUS_NAME } from "../../src/common/bus-path.js";
import { startBerthd, type TestBerthd } from "../helpers/berthd.js";

test("a second berthd waits in the queue for the name and gets it when the first lets go", async () => {
  const first = await startBerthd();
  const watcher = await connectBus(first.address);
  let second: TestBerthd | undefined;
  try {
    const starting = startBerthd({ bus: first.bus });
    // Queued: the bus lists two connections for the name, the first as its owner.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const [queue] = (await callBusDaemon(watcher, "ListQueuedOwners", "s", [BUS_NAME])) as [string[]];
      if (queue.length === 2) break;
      if (Date.now() > deadline) assert.fail(`the second berthd never queued (queue: ${queue.join(", ")})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await first.stop(), 0);
    second = await starting; // resolves once the second berthd's own pid owns the name
    const [pid] = await callBusDaemon(watcher, "GetConnectionUnixProcessID", "s", [BUS_NAME]);
    assert.equal(pid, second.pid);
    assert.match(
      second.output(),
      /the bus name org\.berth\.Supervisor1 is owned by :\d+\.\d+ \(pid \d+\); waiting/,
    );
    assert.match(second.output(), /ready: serving/);
  } finally {
    watcher.disconnect();
    await second?.cleanup();
    await first.cleanup();
  }
});
