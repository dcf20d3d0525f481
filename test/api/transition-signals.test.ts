// One PropertiesChanged per object per state transition, carrying every property that changed, and no
// other signal than the documented ones (docs/api.md "Event order"): what a client sees of a container
// and of an exec'd process from birth to removal.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type MessageBus, Variant } from "../../src/common/bus.js";
import {
  CONTAINER_INTERFACE,
  containerPath,
  MANAGER_INTERFACE,
  MANAGER_PATH,
  PROCESS_INTERFACE,
  processPath,
} from "../../src/common/bus-path.js";
import { type Bundle, makeBundle, uniqueId } from "../fixtures/bundle.js";
import { startBerthd, type TestBerthd } from "../helpers/berthd.js";
import { callMethod, type RecordedSignal, SignalRecorder } from "../helpers/dbus.js";

const OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager";

/** "Member(changed property names)" for PropertiesChanged, the member otherwise. */
function shape(signal: RecordedSignal): string {
  if (signal.member !== "PropertiesChanged") return signal.member;
  return `PropertiesChanged(${Object.keys(signal.body[1] as object)
    .sort()
    .join(",")})`;
}

describe("signals per transition", { timeout: 120_000 }, () => {
  let berthd: TestBerthd;
  let bundle: Bundle;
  let client: MessageBus;
  let signals: SignalRecorder;

  before(async () => {
    berthd = await startBerthd();
    bundle = await makeBundle({ args: ["sleep", "120"] });
    client = await berthd.connect();
    signals = await SignalRecorder.start(client);
  });
  after(async () => {
    await berthd?.cleanup();
    await bundle?.remove();
  });

  test("a container: ContainerNew, InterfacesAdded, one PropertiesChanged per transition, Exited, removal", async () => {
    const id = uniqueId("tr");
    const path = containerPath(id);
    const call = (member: string, signature = "", body: unknown[] = []) =>
      callMethod(client, path, CONTAINER_INTERFACE, member, signature, body);
    const from = signals.mark();
    await callMethod(client, MANAGER_PATH, MANAGER_INTERFACE, "RunContainer", "ssa{sv}", [
      id,
      bundle.path,
      {},
    ]);
    await call("Pause");
    await call("Resume");
    await call("Kill", "si", ["all", 9]);
    assert.deepEqual(await call("Wait"), [137]);
    await call("Delete");
    await signals.waitFor((s) => s.member === "ContainerRemoved" && s.body[0] === id, 20_000, from);
    const mine = signals.signals
      .slice(from)
      .filter((s) => s.path === path || s.body[0] === id || s.body[0] === path);
    assert.deepEqual(mine.map(shape), [
      "ContainerNew",
      "InterfacesAdded",
      "PropertiesChanged(StartedAt,Status)",
      "PropertiesChanged(Status)",
      "PropertiesChanged(Status)",
      "Exited",
      "PropertiesChanged(ExitCode,ExitedAt,Pid,Status)",
      "InterfacesRemoved",
      "ContainerRemoved",
    ]);
    const exited = mine[5]!;
    const stopped = mine[6]!.body[1] as Record<string, Variant>;
    assert.deepEqual(stopped, {
      Status: new Variant("s", "stopped"),
      Pid: new Variant("u", 0),
      ExitCode: new Variant("i", 137),
      ExitedAt: new Variant("t", exited.body[1]),
    });
    assert.equal(mine[1]!.interface, OBJECT_MANAGER);
  });

  test("an exec'd process: InterfacesAdded, Exited and one PropertiesChanged, InterfacesRemoved", async () => {
    const id = uniqueId("tp");
    await callMethod(client, MANAGER_PATH, MANAGER_INTERFACE, "RunContainer", "ssa{sv}", [
      id,
      bundle.path,
      {},
    ]);
    const path = processPath(id, "p1");
    const from = signals.mark();
    await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Exec", "sa{sv}", [
      "p1",
      { Args: new Variant("as", ["sh", "-c", "exit 5"]) },
    ]);
    assert.deepEqual(await callMethod(client, path, PROCESS_INTERFACE, "Wait"), [5]);
    await callMethod(client, path, PROCESS_INTERFACE, "Delete");
    await signals.waitFor((s) => s.member === "InterfacesRemoved" && s.body[0] === path, 20_000, from);
    const mine = signals.signals.slice(from).filter((s) => s.path === path || s.body[0] === path);
    assert.deepEqual(mine.map(shape), [
      "InterfacesAdded",
      "Exited",
      "PropertiesChanged(ExitCode,ExitedAt,Pid,Status)",
      "InterfacesRemoved",
    ]);
    assert.deepEqual((mine[2]!.body[1] as Record<string, Variant>).ExitCode, new Variant("i", 5));
    await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Kill", "si", ["all", 9]);
    await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Wait");
    await callMethod(client, containerPath(id), CONTAINER_INTERFACE, "Delete");
  });
});
