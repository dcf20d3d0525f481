// The container lifecycle through dbus-next against the real berthd, runc and a private system-like
// bus: event order per container, ObjectManager, Wait replying once, properties, labels, AutoRemove.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Variant } from "../../src/common/bus.js";
import {
  CONTAINER_INTERFACE,
  containerPath,
  MANAGER_INTERFACE,
  MANAGER_PATH,
} from "../../src/common/bus-path.js";
import { uniqueId } from "../fixtures/bundle.js";
import { sharedBerthd } from "../helpers/berthd.js";
import { callMethod, errorName, getProperty, SignalRecorder } from "../helpers/dbus.js";

const OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager";

describe("container lifecycle over D-Bus", () => {
  const daemon = sharedBerthd();
  const { manager, container } = daemon;
  const bundle = (args: string[]) => daemon.bundle({ args });

  test("create → start → exit → delete emits the design's event order, Exited once", async () => {
    const id = uniqueId("order");
    const path = containerPath(id);
    const b = await bundle(["sh", "-c", "sleep 0.3; exit 3"]);

    const [created] = await manager("CreateContainer", "ssa{sv}", [id, b.path, {}]);
    assert.equal(created, path);
    assert.equal(await getProperty(daemon.client, path, CONTAINER_INTERFACE, "Status"), "created");

    // One Wait before the exit, one after: each replies exactly once, with the exit code.
    const early = container(id, "Wait");
    await container(id, "Start");
    assert.deepEqual(await early, [3]);
    assert.deepEqual(await container(id, "Wait"), [3]);
    assert.equal(await getProperty(daemon.client, path, CONTAINER_INTERFACE, "Status"), "stopped");
    assert.equal(await getProperty(daemon.client, path, CONTAINER_INTERFACE, "ExitCode"), 3);
    assert.ok(((await getProperty(daemon.client, path, CONTAINER_INTERFACE, "ExitedAt")) as bigint) > 0n);

    await container(id, "Delete");
    await daemon.signals.waitFor((s) => s.member === "ContainerRemoved" && s.body[0] === id);

    const mine = daemon.signals.signals.filter(
      (s) => s.path === path || s.body[0] === id || (s.interface === OBJECT_MANAGER && s.body[0] === path),
    );
    const names = mine.map((s) => SignalRecorder.describe(s));
    const index = (predicate: (name: string) => boolean) => names.findIndex(predicate);
    const newAt = index((n) => n === "ContainerNew");
    const addedAt = index((n) => n === "InterfacesAdded");
    const runningAt = index((n) => n.includes("Status=running"));
    const exitedAt = index((n) => n === "Exited");
    const stoppedAt = index((n) => n.includes("Status=stopped"));
    const removedIfAt = index((n) => n === "InterfacesRemoved");
    const removedAt = index((n) => n === "ContainerRemoved");
    assert.ok(newAt === 0, `ContainerNew first: ${names.join(" → ")}`);
    assert.ok(newAt < addedAt && addedAt < runningAt, names.join(" → "));
    assert.ok(runningAt < exitedAt && runningAt < stoppedAt, names.join(" → "));
    assert.ok(exitedAt < removedIfAt && stoppedAt < removedIfAt, names.join(" → "));
    assert.equal(removedAt, names.length - 1, names.join(" → "));
    assert.equal(names.filter((n) => n === "Exited").length, 1, names.join(" → "));
    const exited = mine[exitedAt]!;
    assert.equal(exited.body[0], 3);
    assert.equal(exited.body[2], false);
    assert.deepEqual(mine[newAt]!.body, [id, path]);

    assert.equal(
      await errorName(manager("GetContainer", "s", [id])),
      "org.berth.Supervisor1.Error.NoSuchContainer",
    );
    assert.equal(existsSync(join(daemon.berthd.stateDir, "containers", id)), false);
  });

  test("GetManagedObjects, ListContainers, GetContainer and GetContainerByPID agree; labels round-trip", async () => {
    const id = uniqueId("managed");
    const path = containerPath(id);
    const b = await bundle(["sleep", "30"]);
    const labels = { app: "web", "tier.level": "front end" };
    await manager("RunContainer", "ssa{sv}", [id, b.path, { Labels: new Variant("a{ss}", labels) }]);

    const [objects] = (await callMethod(
      daemon.client,
      MANAGER_PATH,
      OBJECT_MANAGER,
      "GetManagedObjects",
    )) as [Record<string, Record<string, Record<string, { value: unknown }>>>];
    const props = objects[path]?.[CONTAINER_INTERFACE];
    assert.ok(props !== undefined, `GetManagedObjects lists ${path}`);
    assert.equal(props.Id!.value, id);
    assert.equal(props.Status!.value, "running");
    assert.deepEqual(props.Labels!.value, labels);
    assert.equal(props.Bundle!.value, b.path);
    assert.equal(props.Runtime!.value, "runc");
    const pid = props.Pid!.value as number;
    assert.ok(pid > 0);
    assert.ok((props.ShimPid!.value as number) > 0);

    const [list] = (await manager("ListContainers")) as [Array<[string, string, number, string]>];
    assert.deepEqual(
      list.find((entry) => entry[0] === id),
      [id, "running", pid, path],
    );
    assert.deepEqual(await manager("GetContainer", "s", [id]), [path]);
    assert.deepEqual(await manager("GetContainerByPID", "u", [pid]), [path]);
    assert.equal(
      await errorName(manager("GetContainerByPID", "u", [1])),
      "org.berth.Supervisor1.Error.NoSuchContainer",
    );

    await container(id, "Kill", "si", ["init", 9]);
    assert.deepEqual(await container(id, "Wait"), [137]);
    await container(id, "Delete");
  });

  test("AutoRemove: the container deletes itself after it exits, leaving nothing on disk", async () => {
    const id = uniqueId("autorm");
    const b = await bundle(["sh", "-c", "exit 0"]);
    await manager("RunContainer", "ssa{sv}", [id, b.path, { AutoRemove: new Variant("b", true) }]);
    const removed = await daemon.signals.waitFor((s) => s.member === "ContainerRemoved" && s.body[0] === id);
    assert.deepEqual(removed.body, [id, containerPath(id)]);
    const exited = daemon.signals.on(containerPath(id)).filter((s) => s.member === "Exited");
    assert.equal(exited.length, 1);
    assert.equal(exited[0]!.body[0], 0);
    assert.equal(
      await errorName(manager("GetContainer", "s", [id])),
      "org.berth.Supervisor1.Error.NoSuchContainer",
    );
    assert.equal(existsSync(join(daemon.berthd.stateDir, "containers", id)), false);
  });

  test("Runtime option: a container under crun", async () => {
    const id = uniqueId("crun");
    const b = await bundle(["sh", "-c", "exit 7"]);
    await manager("RunContainer", "ssa{sv}", [id, b.path, { Runtime: new Variant("s", "crun") }]);
    assert.equal(await getProperty(daemon.client, containerPath(id), CONTAINER_INTERFACE, "Runtime"), "crun");
    assert.deepEqual(await container(id, "Wait"), [7]);
    await container(id, "Delete");
  });

  test("ActiveStarts and QueuedStarts are live: PropertiesChanged while starts queue behind the limit", async () => {
    const set = (value: number) =>
      callMethod(daemon.client, MANAGER_PATH, "org.freedesktop.DBus.Properties", "Set", "ssv", [
        MANAGER_INTERFACE,
        "MaxConcurrentStarts",
        new Variant("u", value),
      ]);
    await set(1);
    const from = daemon.signals.mark();
    try {
      const ids = [uniqueId("q"), uniqueId("q"), uniqueId("q")];
      const b = await bundle(["sh", "-c", "exit 0"]);
      await Promise.all(ids.map((id) => manager("RunContainer", "ssa{sv}", [id, b.path, {}])));
      const counters = daemon.signals.signals
        .slice(from)
        .filter((s) => s.path === MANAGER_PATH && s.member === "PropertiesChanged")
        .map((s) => s.body[1] as Record<string, { value: number }>);
      const active = counters.flatMap((c) => (c.ActiveStarts === undefined ? [] : [c.ActiveStarts.value]));
      const queued = counters.flatMap((c) => (c.QueuedStarts === undefined ? [] : [c.QueuedStarts.value]));
      assert.ok(active.includes(1), `ActiveStarts reported: ${active}`);
      assert.ok(Math.max(...active) <= 1, `ActiveStarts never above the limit: ${active}`);
      assert.ok(Math.max(...queued) >= 1, `some starts queued: ${queued}`);
      assert.equal(await getProperty(daemon.client, MANAGER_PATH, MANAGER_INTERFACE, "ActiveStarts"), 0);
      assert.equal(await getProperty(daemon.client, MANAGER_PATH, MANAGER_INTERFACE, "QueuedStarts"), 0);
      for (const id of ids) {
        await container(id, "Wait");
        await container(id, "Delete");
      }
    } finally {
      await set(10);
    }
  });

  test("Manager properties: Version, DefaultRuntime, Runtimes, MaxConcurrentStarts (writable), start counters", async () => {
    const get = (name: string) => getProperty(daemon.client, MANAGER_PATH, MANAGER_INTERFACE, name);
    assert.match((await get("Version")) as string, /^\d+\.\d+\.\d+/);
    assert.equal(await get("DefaultRuntime"), "runc");
    assert.deepEqual(await get("Runtimes"), ["runc", "crun"]);
    assert.equal(await get("ActiveStarts"), 0);
    assert.equal(await get("QueuedStarts"), 0);

    const set = (value: Variant) =>
      callMethod(daemon.client, MANAGER_PATH, "org.freedesktop.DBus.Properties", "Set", "ssv", [
        MANAGER_INTERFACE,
        "MaxConcurrentStarts",
        value,
      ]);
    const mark = daemon.signals.mark();
    await set(new Variant("u", 3));
    assert.equal(await get("MaxConcurrentStarts"), 3);
    const changed = await daemon.signals.waitFor(
      (s) =>
        s.member === "PropertiesChanged" &&
        s.path === MANAGER_PATH &&
        "MaxConcurrentStarts" in (s.body[1] as object),
      20_000,
      mark,
    );
    assert.equal((changed.body[1] as Record<string, { value: unknown }>).MaxConcurrentStarts!.value, 3);
    assert.equal(await errorName(set(new Variant("u", 0))), "org.berth.Supervisor1.Error.InvalidArgument");
    assert.equal(await errorName(set(new Variant("s", "4"))), "org.berth.Supervisor1.Error.InvalidArgument");
    assert.equal(await get("MaxConcurrentStarts"), 3);
    const readOnly = callMethod(
      daemon.client,
      MANAGER_PATH,
      "org.freedesktop.DBus.Properties",
      "Set",
      "ssv",
      [MANAGER_INTERFACE, "Version", new Variant("s", "9")],
    );
    assert.equal(await errorName(readOnly), "org.freedesktop.DBus.Error.PropertyReadOnly");
    await set(new Variant("u", 10));
  });
});
