import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type StartCounts, StartLimiter } from "../../src/berthd/supervisor/start-limiter.js";

/** An operation the test finishes by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("StartLimiter", { timeout: 10_000 }, () => {
  test("at most `limit` run at once, the rest in FIFO order; raising the limit lets queued work go", async () => {
    const reports: StartCounts[] = [];
    const limiter = new StartLimiter(2, (counts) => reports.push(counts));
    const gates = Array.from({ length: 5 }, gate);
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      limiter.run(async () => {
        started.push(i);
        await g.promise;
      }),
    );
    await tick();
    assert.deepEqual(started, [0, 1]);
    assert.equal(limiter.activeStarts, 2);
    assert.equal(limiter.queuedStarts, 3);
    gates[1]!.open();
    await tick();
    await tick();
    assert.deepEqual(started, [0, 1, 2], "the oldest queued one goes next");
    limiter.maxConcurrent = 4;
    await tick();
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
    for (const g of gates) g.open();
    await Promise.all(runs);
    assert.equal(limiter.activeStarts, 0);
    assert.ok(reports.every((r) => r.activeStarts <= 4));
    assert.ok(
      reports.slice(0, 6).every((r) => r.activeStarts <= 2),
      "bound held before it was raised",
    );
    assert.deepEqual(reports.at(-1), { activeStarts: 0, queuedStarts: 0 });
  });

  test("a failing operation frees its slot", async () => {
    const limiter = new StartLimiter(1, () => {});
    await assert.rejects(
      limiter.run(async () => {
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.equal(await limiter.run(async () => 42), 42);
    assert.equal(limiter.activeStarts, 0);
  });
});
