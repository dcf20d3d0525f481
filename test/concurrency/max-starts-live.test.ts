// MaxConcurrentStarts changed while RunContainer calls are queued: the new bound applies to the
// queued work at once (observed from the signals, in order, not assumed).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Variant } from "../../src/common/bus.js";
import {
  CONTAINER_INTERFACE,
  containerPath,
  MANAGER_INTERFACE,
  MANAGER_PATH,
} from "../../src/common/bus-path.js";
import { makeBundle, uniqueId } from "../fixtures/bundle.js";
import { startBerthd, testConfig } from "../helpers/berthd.js";
import { callMethod, type RecordedSignal, SignalRecorder } from "../helpers/dbus.js";

const COUNT = 16;

function managerChange(signal: RecordedSignal, name: string): number | undefined {
  if (signal.path !== MANAGER_PATH || signal.member !== "PropertiesChanged") return undefined;
  const value = (signal.body[1] as Record<string, { value: unknown }>)[name]?.value;
  return typeof value === "number" ? value : undefined;
}

describe("MaxConcurrentStarts at run time", { timeout: 180_000 }, () => {
  test("raising it from 1 to 4 while calls are queued lets the queued ones go, never above 4", async (t) => {
    const berthd = await startBerthd({ config: testConfig({ maxConcurrentStarts: 1 }) });
    t.after(() => berthd.cleanup());
    const bundle = await makeBundle({ args: ["sleep", "300"] });
    t.after(() => bundle.remove());
    const client = await berthd.connect();
    const signals = await SignalRecorder.start(client);
    const ids = Array.from({ length: COUNT }, () => uniqueId("live"));
    const runs = Promise.all(
      ids.map((id) =>
        callMethod(client, MANAGER_PATH, MANAGER_INTERFACE, "RunContainer", "ssa{sv}", [id, bundle.path, {}]),
      ),
    );
    await signals.waitFor((s) => (managerChange(s, "QueuedStarts") ?? 0) >= 4);
    await callMethod(client, MANAGER_PATH, "org.freedesktop.DBus.Properties", "Set", "ssv", [
      MANAGER_INTERFACE,
      "MaxConcurrentStarts",
      new Variant("u", 4),
    ]);
    await runs;

    const raisedAt = signals.signals.findIndex((s) => managerChange(s, "MaxConcurrentStarts") === 4);
    assert.ok(raisedAt > 0, "the new bound was announced");
    const active = (from: number, to: number) =>
      signals.signals
        .slice(from, to)
        .map((s) => managerChange(s, "ActiveStarts"))
        .filter((v): v is number => v !== undefined);
    assert.ok(Math.max(...active(0, raisedAt)) <= 1, "at most 1 before the change");
    const after = active(raisedAt, signals.signals.length);
    assert.ok(Math.max(...after) <= 4, "at most 4 after it");
    assert.ok(Math.max(...after) > 1, "queued work used the new bound");

    await Promise.all(
      ids.map(async (id) => {
        await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Kill", "si", ["all", 9]);
        await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Wait");
        await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Delete");
      }),
    );
  });
});
