// berthd is SIGKILLed while containers run and while one exits; a new berthd re-exports all of them
// with the same pids, reports the exit that happened while it was down exactly once, and kills (exit
// 255) a container whose shim died meanwhile. Real berthd, real dbus-daemon, real runc and shims.

import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { callBusDaemon, type MessageBus, Variant } from "../../src/common/bus.js";
import {
  BUS_NAME,
  CONTAINER_INTERFACE,
  containerPath,
  MANAGER_INTERFACE,
  MANAGER_PATH,
} from "../../src/common/bus-path.js";
import { makeBundle, uniqueId } from "../fixtures/bundle.js";
import { startBerthd } from "../helpers/berthd.js";
import { callMethod, getProperty, SignalRecorder } from "../helpers/dbus.js";

async function waitFor(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * The bus drops a SIGKILLed owner's name a moment after the process dies; a restart before that finds
 * the name taken and exits (what a service manager would retry), so the test waits for the release.
 */
async function nameReleased(client: MessageBus): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const [owned] = await callBusDaemon(client, "NameHasOwner", "s", [BUS_NAME]);
    if (owned === false) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${BUS_NAME} still owned 5 s after berthd was killed`);
}

function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

describe("recovery through the daemon", { timeout: 180_000 }, () => {
  test("SIGKILL berthd while containers run and one exits: same pids, that exit reported once", async (t) => {
    const berthd = await startBerthd();
    t.after(() => berthd.cleanup());
    const sleeper = await makeBundle({ args: ["sleep", "100"] });
    t.after(() => sleeper.remove());
    const exiter = await makeBundle({ args: ["sh", "-c", "read line; exit 42"] });
    t.after(() => exiter.remove());
    const client = await berthd.connect();
    const signals = await SignalRecorder.start(client);
    const run = (id: string, bundle: string, options: Record<string, unknown> = {}) =>
      callMethod(client, MANAGER_PATH, MANAGER_INTERFACE, "RunContainer", "ssa{sv}", [id, bundle, options]);
    const pidOf = async (id: string) =>
      (await getProperty(client, containerPath(id), CONTAINER_INTERFACE, "Pid")) as number;

    const running = [uniqueId("keep"), uniqueId("keep")];
    const exits = uniqueId("exits");
    const lost = uniqueId("lost");
    for (const id of running) await run(id, sleeper.path);
    await run(lost, sleeper.path);
    // Stdin keeps `read` waiting until the test closes it, so it exits exactly while berthd is down.
    await run(exits, exiter.path, { Stdin: new Variant("b", true) });
    const pids = new Map<string, number>();
    for (const id of [...running, exits, lost]) pids.set(id, await pidOf(id));
    const lostShim = (await getProperty(
      client,
      containerPath(lost),
      CONTAINER_INTERFACE,
      "ShimPid",
    )) as number;

    await berthd.kill();
    const containers = join(berthd.stateDir, "containers");
    const fifo = join(containers, exits, "control.fifo");
    writeFileSync(fifo, "closestdin\n");
    await waitFor(
      () => existsSync(join(containers, exits, "exit.json")),
      "exit.json of the exiting container",
    );
    process.kill(lostShim, "SIGKILL");
    await waitFor(() => !alive(lostShim), "the SIGKILLed shim gone");

    const mark = signals.mark();
    await nameReleased(client);
    await berthd.restart();
    for (const id of running) {
      assert.equal(await getProperty(client, containerPath(id), CONTAINER_INTERFACE, "Status"), "running");
      assert.equal(await pidOf(id), pids.get(id), `${id} keeps its pid`);
    }
    const recorded = JSON.parse(readFileSync(join(containers, exits, "exit.json"), "utf8"));
    const [code] = await callMethod(client, containerPath(exits), CONTAINER_INTERFACE, "Wait");
    assert.equal(code, 42);
    assert.equal(await getProperty(client, containerPath(exits), CONTAINER_INTERFACE, "ExitCode"), 42);
    assert.equal(
      await getProperty(client, containerPath(exits), CONTAINER_INTERFACE, "ExitedAt"),
      BigInt(recorded.exited_at),
    );
    const [lostCode] = await callMethod(client, containerPath(lost), CONTAINER_INTERFACE, "Wait");
    assert.equal(lostCode, 255);
    assert.ok(!alive(pids.get(lost)!), "the container of the dead shim was killed");
    await signals.waitFor((s) => s.member === "Exited" && s.path === containerPath(exits), 10_000, mark);
    const exitedAfter = (since: number) =>
      signals.signals
        .slice(since)
        .filter((s) => s.member === "Exited")
        .map((s) => s.path);

    // A second crash and restart: nothing is reported again.
    await berthd.kill();
    const mark2 = signals.mark();
    await nameReleased(client);
    await berthd.restart();
    assert.equal(await getProperty(client, containerPath(exits), CONTAINER_INTERFACE, "Status"), "stopped");
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(exitedAfter(mark2), [], "no exit is reported twice");
    assert.deepEqual(exitedAfter(mark).sort(), [containerPath(exits), containerPath(lost)].sort());
    assert.match(berthd.output(), /shim died without recording an exit/);

    for (const id of running) {
      await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Kill", "si", ["all", 9]);
      await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Wait");
    }
    for (const id of [...running, exits, lost])
      await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Delete");
  });
});
