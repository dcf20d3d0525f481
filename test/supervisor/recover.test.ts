import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { makeBundle, uniqueId } from "../fixtures/bundle.js";
import { runc, runtimeCommand } from "../helpers/runtime.js";
import { makeHarness, processGone } from "./harness.js";

async function waitForFile(path: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("supervisor: recovery from the state dir", { timeout: 120_000 }, () => {
  test("a restart re-attaches live shims, reports exits from while it was down once, settles lost shims", async (t) => {
    const first = await makeHarness(t);
    const bundle = await makeBundle({ args: ["sleep", "100"] });
    t.after(() => bundle.remove());
    const [live, exits, created, lost, paused] = ["live", "exits", "created", "lost", "paused"].map(uniqueId);
    const liveInfo = await first.sv.runContainer(live!, bundle.path, { labels: { keep: "me" } });
    const exitsInfo = await first.sv.runContainer(exits!, bundle.path, {});
    const createdInfo = await first.sv.createContainer(created!, bundle.path, {});
    const lostInfo = await first.sv.runContainer(lost!, bundle.path, {});
    await first.sv.runContainer(paused!, bundle.path, {});
    await first.sv.pause(paused!);
    const containers = join(first.config.stateDir, "containers");
    const debris = uniqueId("debris");
    mkdirSync(join(containers, debris));

    // berthd goes away; while it is down one container exits and one shim dies.
    await first.sv.stop();
    const root = join(first.config.stateDir, "runtime", "runc");
    assert.equal((await runtimeCommand(runc(), root, ["kill", exits!, "9"])).code, 0);
    await waitForFile(join(containers, exits!, "exit.json"));
    process.kill(lostInfo.shimPid, "SIGKILL");
    assert.ok(await processGone(lostInfo.shimPid));

    const second = await first.restart(false);
    assert.equal(second.events.length, 0, "nothing is emitted before deliverPendingEvents");
    const byId = new Map(second.sv.list().map((c) => [c.id, c]));
    assert.deepEqual([...byId.keys()].sort(), [live, exits, created, lost, paused].sort());
    assert.equal(byId.get(live!)?.status, "running");
    assert.equal(byId.get(live!)?.pid, liveInfo.pid);
    assert.equal(byId.get(live!)?.shimPid, liveInfo.shimPid);
    assert.equal(
      byId.get(live!)?.startedAt,
      liveInfo.startedAt === 0n ? byId.get(live!)?.startedAt : liveInfo.startedAt,
    );
    assert.deepEqual(byId.get(live!)?.labels, { keep: "me" });
    assert.equal(byId.get(created!)?.status, "created");
    assert.equal(byId.get(created!)?.pid, createdInfo.pid);
    assert.equal(byId.get(paused!)?.status, "paused");
    assert.ok(await processGone(lostInfo.pid), "the lost shim's container was killed during start()");
    assert.equal(existsSync(join(containers, debris)), false, "debris without request.json removed");
    assert.ok(second.logs.some((l) => l.includes(debris) && l.includes("request.json")));

    second.sv.deliverPendingEvents();
    const exitedCode = await second.sv.wait(exits!);
    assert.equal(exitedCode, 137);
    assert.equal(exitsInfo.pid, byId.get(exits!)?.pid);
    assert.equal(await second.sv.wait(lost!), 255);
    const exitedEvents = () =>
      second.events
        .filter((e) => e.kind === "container-exited")
        .map((e) => (e.kind === "container-exited" ? e.id : ""));
    assert.deepEqual(exitedEvents().sort(), [exits, lost].sort());
    const recorded = JSON.parse(readFileSync(join(containers, exits!, "exit.json"), "utf8"));
    const exitedEvent = second.events.find((e) => e.kind === "container-exited" && e.id === exits);
    assert.ok(
      exitedEvent?.kind === "container-exited" && exitedEvent.exitedAt === BigInt(recorded.exited_at),
    );

    // The re-attached container is supervised by the new berthd.
    await second.sv.kill(live!, "all", 9);
    assert.equal(await second.sv.wait(live!), 137);

    // A third start reports nothing again.
    await second.sv.stop();
    const third = await second.restart();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(
      third.events.filter((e) => e.kind === "container-exited"),
      [],
      "no exit is reported twice",
    );
    assert.equal(third.sv.get(exits!)?.status, "stopped");
    assert.equal(third.sv.get(exits!)?.exitCode, 137);
    assert.equal(third.sv.get(live!)?.exitCode, 137);
    await third.sv.resume(paused!);
    await third.sv.kill(paused!, "all", 9);
    assert.equal(await third.sv.wait(paused!), 137);
    for (const id of [live, exits, lost, paused, created]) await third.sv.delete(id!);
    assert.deepEqual(third.sv.list(), []);
  });
});
