// Every refused call gets the design's named error with a message a person can act on (never a stack
// trace), and leaves nothing behind: no entry in the state dir, no container in the runtime's root.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DBusError, Variant } from "../../src/common/bus.js";
import {
  CONTAINER_INTERFACE,
  containerPath,
  MANAGER_PATH,
  PROCESS_INTERFACE,
  processPath,
} from "../../src/common/bus-path.js";
import { type Bundle, makeTempDir, type TempDir, uniqueId } from "../fixtures/bundle.js";
import { sharedBerthd } from "../helpers/berthd.js";
import { callMethod } from "../helpers/dbus.js";

const E = "org.berth.Supervisor1.Error.";

describe("named errors, nothing left behind", () => {
  const daemon = sharedBerthd();
  const { manager, container } = daemon;
  let bundle: Bundle;
  let scratch: TempDir;

  before(async () => {
    bundle = await daemon.bundle({ args: ["sleep", "60"] });
    scratch = makeTempDir("bad-bundles");
  });
  after(() => scratch?.remove());

  /** Asserts the call fails with `name` and a human message; returns the message. */
  async function refused(call: Promise<unknown>, name: string, mentions?: string): Promise<string> {
    try {
      await call;
    } catch (error) {
      assert.ok(error instanceof DBusError, `a D-Bus error, got ${String(error)}`);
      assert.equal(error.type, name, error.text);
      assert.ok(error.text.length > 0 && !/\n\s+at /.test(error.text), `no stack trace: ${error.text}`);
      if (mentions !== undefined)
        assert.ok(error.text.includes(mentions), `"${error.text}" mentions "${mentions}"`);
      return error.text;
    }
    assert.fail(`expected ${name}, the call succeeded`);
  }

  function stateEntries(): string[] {
    const dir = join(daemon.berthd.stateDir, "containers");
    return existsSync(dir) ? readdirSync(dir).sort() : [];
  }

  function runtimeEntries(): string[] {
    const dir = join(daemon.berthd.stateDir, "runtime", "runc");
    return existsSync(dir) ? readdirSync(dir).sort() : [];
  }

  /** Runs `fn` and asserts the state dir and the runtime root look the same afterwards. */
  async function leavesNothing(fn: () => Promise<void>): Promise<void> {
    const state = stateEntries();
    const runtime = runtimeEntries();
    await fn();
    assert.deepEqual(stateEntries(), state, "state dir unchanged");
    assert.deepEqual(runtimeEntries(), runtime, "runtime root unchanged");
  }

  test("invalid container ids are InvalidArgument", async () => {
    await leavesNothing(async () => {
      for (const id of ["", "../x", "a/b", "x".repeat(65), "a\nb", "bell\u0007", "-lead", ".hidden"]) {
        await refused(manager("CreateContainer", "ssa{sv}", [id, bundle.path, {}]), `${E}InvalidArgument`);
        await refused(manager("RunContainer", "ssa{sv}", [id, bundle.path, {}]), `${E}InvalidArgument`);
      }
    });
  });

  test("bad bundles are InvalidArgument: relative, missing, no config.json, not JSON, over 1 MB", async () => {
    const noConfig = join(scratch.path, "no-config");
    mkdirSync(noConfig);
    const notJson = join(scratch.path, "not-json");
    mkdirSync(notJson);
    writeFileSync(join(notJson, "config.json"), "{ this is not json");
    const huge = join(scratch.path, "huge");
    mkdirSync(huge);
    writeFileSync(join(huge, "config.json"), `{"pad":"${"x".repeat(1100 * 1024)}"}`);
    await leavesNothing(async () => {
      for (const bad of ["relative/bundle", "/nonexistent/bundle", noConfig, notJson, huge]) {
        const id = uniqueId("badbundle");
        await refused(manager("CreateContainer", "ssa{sv}", [id, bad, {}]), `${E}InvalidArgument`);
      }
    });
  });

  test("options: unknown keys and wrong variant types name the key; unknown runtime/log driver values", async () => {
    await leavesNothing(async () => {
      const create = (options: Record<string, Variant>) =>
        manager("CreateContainer", "ssa{sv}", [uniqueId("opts"), bundle.path, options]);
      await refused(create({ Bogus: new Variant("s", "x") }), `${E}InvalidArgument`, "Bogus");
      await refused(create({ Runtime: new Variant("b", true) }), `${E}InvalidArgument`, "Runtime");
      const labels = await refused(
        create({ Labels: new Variant("as", ["a"]) }),
        `${E}InvalidArgument`,
        "Labels",
      );
      assert.ok(labels.includes("a{ss}"), labels);
      await refused(create({ AutoRemove: new Variant("s", "yes") }), `${E}InvalidArgument`, "AutoRemove");
      await refused(create({ Runtime: new Variant("s", "nosuchruntime") }), `${E}InvalidArgument`);
      await refused(create({ LogDriver: new Variant("s", "syslog") }), `${E}InvalidArgument`);
    });
  });

  test("a call with the wrong signature is InvalidArgs", async () => {
    await refused(
      manager("CreateContainer", "ss", ["x", bundle.path]),
      "org.freedesktop.DBus.Error.InvalidArgs",
    );
    await refused(manager("GetContainer", "u", [5]), "org.freedesktop.DBus.Error.InvalidArgs");
    await refused(manager("NoSuchMethod"), "org.freedesktop.DBus.Error.UnknownMethod");
  });

  test("ContainerExists, NoSuchContainer, InvalidState (Start twice, Delete running, Pause stopped)", async () => {
    const id = uniqueId("state");
    await manager("RunContainer", "ssa{sv}", [id, bundle.path, {}]);
    await refused(manager("CreateContainer", "ssa{sv}", [id, bundle.path, {}]), `${E}ContainerExists`, id);
    await refused(container(id, "Start"), `${E}InvalidState`);
    await refused(container(id, "Delete"), `${E}InvalidState`);
    await refused(container(id, "Resize", "uu", [80, 24]), `${E}InvalidState`);
    await refused(manager("GetContainer", "s", ["nope-not-here"]), `${E}NoSuchContainer`);
    // A path under the container (or process) prefix with no object: the API's error, naming the id.
    await refused(
      callMethod(daemon.client, containerPath("nope-not-here"), CONTAINER_INTERFACE, "Start"),
      `${E}NoSuchContainer`,
      '"nope-not-here"',
    );
    await refused(
      callMethod(daemon.client, processPath(id, "no-exec"), PROCESS_INTERFACE, "Wait"),
      `${E}NoSuchProcess`,
      '"no-exec"',
    );
    await refused(
      callMethod(daemon.client, `${MANAGER_PATH}/elsewhere`, CONTAINER_INTERFACE, "Start"),
      "org.freedesktop.DBus.Error.UnknownObject",
    );

    // Signals: out of range, bad target.
    await refused(container(id, "Kill", "si", ["init", 0]), `${E}InvalidArgument`);
    await refused(container(id, "Kill", "si", ["init", 65]), `${E}InvalidArgument`);
    await refused(container(id, "Kill", "si", ["init", -9]), `${E}InvalidArgument`);
    await refused(container(id, "Kill", "si", ["everyone", 9]), `${E}InvalidArgument`);

    // Exec: Args required and non-empty, known keys and types, unique ids.
    const exec = (execId: string, spec: Record<string, Variant>) =>
      container(id, "Exec", "sa{sv}", [execId, spec]);
    await refused(exec("e1", {}), `${E}InvalidArgument`, "Args");
    await refused(exec("e1", { Args: new Variant("as", []) }), `${E}InvalidArgument`);
    await refused(exec("e1", { Args: new Variant("s", "sleep") }), `${E}InvalidArgument`, "Args");
    await refused(
      exec("e1", { Args: new Variant("as", ["true"]), Shell: new Variant("b", true) }),
      `${E}InvalidArgument`,
      "Shell",
    );
    await refused(exec("../e", { Args: new Variant("as", ["true"]) }), `${E}InvalidArgument`);
    await exec("dup", { Args: new Variant("as", ["sleep", "30"]) });
    await refused(exec("dup", { Args: new Variant("as", ["sleep", "30"]) }), `${E}ProcessExists`);

    await container(id, "Kill", "si", ["all", 9]);
    assert.deepEqual(await container(id, "Wait"), [137]);
    await refused(container(id, "Pause"), `${E}InvalidState`);
    await refused(container(id, "Start"), `${E}InvalidState`);
    await container(id, "Delete");
    assert.equal(existsSync(join(daemon.berthd.stateDir, "containers", id)), false);
  });

  test("berthd keeps serving after all that", async () => {
    assert.deepEqual(await callMethod(daemon.client, MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping"), []);
    assert.ok(!/uncaught|unhandled/i.test(daemon.berthd.output()), daemon.berthd.output());
  });
});
