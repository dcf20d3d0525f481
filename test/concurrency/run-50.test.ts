// 50 RunContainer calls at once through a real berthd: all succeed, and ActiveStarts (watched through
// PropertiesChanged and polled through Properties.Get while the calls run) never exceeds
// MaxConcurrentStarts, while the queue is really used.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CONTAINER_INTERFACE,
  containerPath,
  MANAGER_INTERFACE,
  MANAGER_PATH,
} from "../../src/common/bus-path.js";
import { makeBundle, uniqueId } from "../fixtures/bundle.js";
import { startBerthd, testConfig } from "../helpers/berthd.js";
import { callMethod, getProperty, SignalRecorder } from "../helpers/dbus.js";

const LIMIT = 4;
const COUNT = 50;

describe("start concurrency through the daemon", { timeout: 300_000 }, () => {
  test(`${COUNT} RunContainer calls at once all succeed; ActiveStarts never exceeds MaxConcurrentStarts`, async (t) => {
    const berthd = await startBerthd({ config: testConfig({ maxConcurrentStarts: LIMIT }) });
    t.after(() => berthd.cleanup());
    const bundle = await makeBundle({ args: ["sleep", "300"] });
    t.after(() => bundle.remove());
    const client = await berthd.connect();
    const poller = await berthd.connect();
    const signals = await SignalRecorder.start(client);
    assert.equal(await getProperty(client, MANAGER_PATH, MANAGER_INTERFACE, "MaxConcurrentStarts"), LIMIT);

    const polled: number[] = [];
    let running = true;
    const polling = (async () => {
      while (running) {
        polled.push((await getProperty(poller, MANAGER_PATH, MANAGER_INTERFACE, "ActiveStarts")) as number);
      }
    })();
    const ids = Array.from({ length: COUNT }, () => uniqueId("many"));
    const results = await Promise.allSettled(
      ids.map((id) =>
        callMethod(
          client,
          MANAGER_PATH,
          MANAGER_INTERFACE,
          "RunContainer",
          "ssa{sv}",
          [id, bundle.path, {}],
          {
            timeoutMs: 240_000,
          },
        ),
      ),
    );
    running = false;
    await polling;

    const failures = results
      .filter((r) => r.status === "rejected")
      .map((r) => String((r as PromiseRejectedResult).reason));
    assert.deepEqual(failures, []);
    for (const id of ids) {
      assert.equal(await getProperty(client, containerPath(id), CONTAINER_INTERFACE, "Status"), "running");
    }
    const changed = (name: string) =>
      signals.signals
        .filter((s) => s.path === MANAGER_PATH && s.member === "PropertiesChanged")
        .map((s) => (s.body[1] as Record<string, { value: unknown }>)[name]?.value)
        .filter((v): v is number => typeof v === "number");
    const activeSeen = [...changed("ActiveStarts"), ...polled];
    assert.ok(activeSeen.length > 0, "ActiveStarts was observed");
    assert.ok(
      Math.max(...activeSeen) <= LIMIT,
      `ActiveStarts peaked at ${Math.max(...activeSeen)} > ${LIMIT}`,
    );
    assert.ok(Math.max(...activeSeen) >= 2, "starts did run concurrently");
    assert.ok(Math.max(...changed("QueuedStarts")) > 0, "calls beyond the bound were queued");
    assert.equal(await getProperty(client, MANAGER_PATH, MANAGER_INTERFACE, "ActiveStarts"), 0);
    assert.equal(await getProperty(client, MANAGER_PATH, MANAGER_INTERFACE, "QueuedStarts"), 0);

    await Promise.all(
      ids.map(async (id) => {
        await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Kill", "si", ["all", 9]);
        await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Wait");
        await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Delete");
      }),
    );
    const [listed] = await callMethod(client, MANAGER_PATH, MANAGER_INTERFACE, "ListContainers");
    assert.deepEqual(listed, []);
  });
});
