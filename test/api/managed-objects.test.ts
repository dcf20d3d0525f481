// GetManagedObjects is built from pre-encoded entries (src/berthd/dbus/dispatch.ts): it must say exactly
// what Properties.GetAll says for every object, in every state, after every change, to every client:
// dbus-next on the bus and on the private socket, busctl (sd-bus) and gdbus (GLib).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connectBus, type MessageBus, Variant } from "../../src/common/bus.js";
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
import { busctl, type CommandResult, gdbusCall } from "../helpers/cli.js";
import { callMethod } from "../helpers/dbus.js";

const OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager";
const PROPERTIES = "org.freedesktop.DBus.Properties";

type Objects = Record<string, Record<string, Record<string, Variant>>>;

function ok(result: CommandResult): string {
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
}

describe("GetManagedObjects", { timeout: 240_000 }, () => {
  let berthd: TestBerthd;
  let sleeper: Bundle;
  let quitter: Bundle;
  let client: MessageBus;
  /** Every object berthd should list, path → its interface. */
  const expected = new Map<string, string>();
  const ids: Record<string, string> = {};

  const manager = (member: string, signature = "", body: unknown[] = []) =>
    callMethod(client, MANAGER_PATH, MANAGER_INTERFACE, member, signature, body);
  const container = (id: string, member: string, signature = "", body: unknown[] = []) =>
    callMethod(client, containerPath(id), CONTAINER_INTERFACE, member, signature, body);

  before(async () => {
    berthd = await startBerthd();
    sleeper = await makeBundle({ args: ["sleep", "120"] });
    quitter = await makeBundle({ args: ["sh", "-c", "exit 3"] });
    client = await berthd.connect();
    const add = async (
      name: string,
      method: string,
      bundle: Bundle,
      options: Record<string, Variant> = {},
    ) => {
      const id = uniqueId(name);
      ids[name] = id;
      await manager(method, "ssa{sv}", [id, bundle.path, options]);
      expected.set(containerPath(id), CONTAINER_INTERFACE);
    };
    // Several of each state, labels with non-ASCII text, an exec'd process object.
    await add("created", "CreateContainer", sleeper, {
      Labels: new Variant("a{ss}", { tier: "wéb ✓", empty: "" }),
    });
    await add("created2", "CreateContainer", sleeper);
    await add("running", "RunContainer", sleeper);
    await add("running2", "RunContainer", sleeper, { Labels: new Variant("a{ss}", { a: "1" }) });
    await add("paused", "RunContainer", sleeper);
    await container(ids.paused!, "Pause");
    await add("stopped", "RunContainer", quitter);
    await add("stopped2", "RunContainer", quitter, { LogDriver: new Variant("s", "none") });
    for (const name of ["stopped", "stopped2"]) assert.deepEqual(await container(ids[name]!, "Wait"), [3]);
    await add("exec", "RunContainer", sleeper);
    await container(ids.exec!, "Exec", "sa{sv}", ["sh1", { Args: new Variant("as", ["sleep", "100"]) }]);
    expected.set(processPath(ids.exec!, "sh1"), PROCESS_INTERFACE);
  });
  after(async () => {
    await berthd?.cleanup();
    await sleeper?.remove();
    await quitter?.remove();
  });

  /** GetManagedObjects over `bus` lists exactly the expected objects, each with what GetAll says. */
  async function agreesWithGetAll(bus: MessageBus): Promise<Objects> {
    const [objects] = (await callMethod(bus, MANAGER_PATH, OBJECT_MANAGER, "GetManagedObjects")) as [Objects];
    assert.deepEqual(Object.keys(objects).sort(), [...expected.keys()].sort());
    for (const [path, iface] of expected) {
      assert.deepEqual(Object.keys(objects[path]!), [iface], `${path}: only berth's interface`);
      const [all] = await callMethod(bus, path, PROPERTIES, "GetAll", "s", [iface]);
      assert.deepEqual(objects[path]![iface], all, `${path}: GetManagedObjects and GetAll differ`);
    }
    return objects;
  }

  test("every object in every state: what GetAll says, on the bus and on the private socket", async () => {
    const objects = await agreesWithGetAll(client);
    const status = (name: string) => objects[containerPath(ids[name]!)]![CONTAINER_INTERFACE]!.Status!.value;
    assert.deepEqual(["created", "running", "paused", "stopped", "exec"].map(status), [
      "created",
      "running",
      "paused",
      "stopped",
      "running",
    ]);
    const labels = objects[containerPath(ids.created!)]![CONTAINER_INTERFACE]!.Labels!;
    assert.deepEqual(labels, new Variant("a{ss}", { tier: "wéb ✓", empty: "" }));
    const peer = await connectBus(`unix:path=${berthd.stateDir}/private`);
    try {
      assert.deepEqual(await agreesWithGetAll(peer), objects, "the private socket says the same");
    } finally {
      peer.disconnect();
    }
  });

  test("after changes (start, kill, resume, exit, delete) it says the new values, never the old", async () => {
    const before = await agreesWithGetAll(client);
    await container(ids.created2!, "Start");
    await container(ids.running!, "Kill", "si", ["all", 9]);
    assert.deepEqual(await container(ids.running!, "Wait"), [137]);
    await container(ids.paused!, "Resume");
    await callMethod(client, processPath(ids.exec!, "sh1"), PROCESS_INTERFACE, "Kill", "i", [9]);
    await callMethod(client, processPath(ids.exec!, "sh1"), PROCESS_INTERFACE, "Wait");
    await container(ids.stopped2!, "Delete");
    expected.delete(containerPath(ids.stopped2!));
    const objects = await agreesWithGetAll(client);
    const get = (path: string, iface: string, name: string) => objects[path]![iface]![name]!.value;
    assert.equal(get(containerPath(ids.created2!), CONTAINER_INTERFACE, "Status"), "running");
    assert.equal(get(containerPath(ids.running!), CONTAINER_INTERFACE, "Status"), "stopped");
    assert.equal(get(containerPath(ids.running!), CONTAINER_INTERFACE, "ExitCode"), 137);
    assert.equal(get(containerPath(ids.paused!), CONTAINER_INTERFACE, "Status"), "running");
    assert.equal(get(processPath(ids.exec!, "sh1"), PROCESS_INTERFACE, "Status"), "stopped");
    // Objects that did not change are listed as they were.
    const same = containerPath(ids.stopped!);
    assert.deepEqual(objects[same], before[same]);
  });

  test("busctl and gdbus read each object's entry as they read its GetAll", async () => {
    const bc = (...args: string[]) => busctl(berthd.address, ["--json=short", ...args]);
    const managed = JSON.parse(
      ok(await bc("call", "org.berth.Supervisor1", MANAGER_PATH, OBJECT_MANAGER, "GetManagedObjects")),
    ) as { type: string; data: [Record<string, Record<string, unknown>>] };
    assert.equal(managed.type, "a{oa{sa{sv}}}");
    assert.deepEqual(Object.keys(managed.data[0]).sort(), [...expected.keys()].sort());
    const gdbusManaged = ok(
      await gdbusCall(berthd.address, MANAGER_PATH, `${OBJECT_MANAGER}.GetManagedObjects`),
    );
    for (const [path, iface] of expected) {
      const all = JSON.parse(
        ok(await bc("call", "org.berth.Supervisor1", path, PROPERTIES, "GetAll", "s", iface)),
      );
      assert.deepEqual(managed.data[0][path]![iface], all.data[0], `busctl: ${path}`);
      // gdbus prints GetAll as "({…},)"; the same dict text must follow the path in GetManagedObjects
      // (whose first key alone carries the "objectpath" type annotation).
      const props = ok(await gdbusCall(berthd.address, path, `${PROPERTIES}.GetAll`, [iface]));
      const dict = props.slice(1, -2);
      assert.ok(
        gdbusManaged.includes(`'${path}': {'${iface}': ${dict}}`),
        `gdbus: ${path}'s entry is not its GetAll ${dict}\nin ${gdbusManaged.slice(0, 2000)}`,
      );
    }
  });
});
