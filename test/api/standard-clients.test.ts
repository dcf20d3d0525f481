// The API through clients we did not write: busctl (sd-bus) and gdbus (GLib). Types, a{sv} options,
// fd replies (OpenStdio), properties, signals and error names must all work with them.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { before, describe, test } from "node:test";
import {
  BUS_NAME,
  CONTAINER_INTERFACE,
  containerPath,
  MANAGER_INTERFACE,
  MANAGER_PATH,
  PROCESS_INTERFACE,
  processPath,
} from "../../src/common/bus-path.js";
import { type Bundle, uniqueId } from "../fixtures/bundle.js";
import { sharedBerthd } from "../helpers/berthd.js";
import { busctl, type CommandResult, gdbusCall } from "../helpers/cli.js";

function ok(result: CommandResult): string {
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
}

describe("busctl and gdbus", () => {
  const daemon = sharedBerthd();
  let bundle: Bundle;

  before(async () => {
    bundle = await daemon.bundle({ args: ["sh", "-c", "echo started; exec sleep 60"] });
  });

  const bc = (...args: string[]) => busctl(daemon.address, args);
  const managerCall = (member: string, ...args: string[]) =>
    bc("call", BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, member, ...args);
  // "--": arguments such as "-c" are call arguments, not busctl options.
  const containerCall = (id: string, member: string, ...args: string[]) =>
    bc("call", "--", BUS_NAME, containerPath(id), CONTAINER_INTERFACE, member, ...args);

  test("busctl: every Manager member, a{sv} options, properties with their types", async () => {
    const id = uniqueId("busctl");
    const path = containerPath(id);
    const created = ok(
      await managerCall(
        "CreateContainer",
        "ssa{sv}",
        id,
        bundle.path,
        "4",
        "Labels",
        "a{ss}",
        "1",
        "role",
        "db",
        "Runtime",
        "s",
        "runc",
        "LogDriver",
        "s",
        "file",
        "Stdin",
        "b",
        "false",
      ),
    );
    assert.equal(created, `o "${path}"`);
    assert.equal(ok(await containerCall(id, "Start")), "");
    assert.equal(ok(await managerCall("GetContainer", "s", id)), `o "${path}"`);
    const pid = JSON.parse(
      ok(await bc("--json=short", "get-property", BUS_NAME, path, CONTAINER_INTERFACE, "Pid")),
    ).data as number;
    assert.ok(pid > 0);
    assert.equal(ok(await managerCall("GetContainerByPID", "u", String(pid))), `o "${path}"`);
    const list = JSON.parse(
      ok(await bc("--json=short", "call", BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "ListContainers")),
    );
    assert.equal(list.type, "a(ssuo)");
    assert.deepEqual(
      (list.data[0] as Array<[string, string, number, string]>).find((c) => c[0] === id),
      [id, "running", pid, path],
    );

    const labels = JSON.parse(
      ok(await bc("--json=short", "get-property", BUS_NAME, path, CONTAINER_INTERFACE, "Labels")),
    );
    assert.deepEqual(labels, { type: "a{ss}", data: { role: "db" } });
    const createdAt = JSON.parse(
      ok(await bc("--json=short", "get-property", BUS_NAME, path, CONTAINER_INTERFACE, "CreatedAt")),
    );
    assert.equal(createdAt.type, "t");
    assert.ok(createdAt.data > 1_600_000_000_000_000);
    const exitCode = JSON.parse(
      ok(await bc("--json=short", "get-property", BUS_NAME, path, CONTAINER_INTERFACE, "ExitCode")),
    );
    assert.deepEqual(exitCode, { type: "i", data: -1 });

    for (const [name, type] of [
      ["Version", "s"],
      ["DefaultRuntime", "s"],
      ["Runtimes", "as"],
      ["MaxConcurrentStarts", "u"],
      ["ActiveStarts", "u"],
      ["QueuedStarts", "u"],
    ] as const) {
      const value = JSON.parse(
        ok(await bc("--json=short", "get-property", BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, name)),
      );
      assert.equal(value.type, type, name);
    }
    ok(await bc("set-property", BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "MaxConcurrentStarts", "u", "7"));
    assert.equal(
      ok(await bc("get-property", BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "MaxConcurrentStarts")),
      "u 7",
    );
    ok(await bc("set-property", BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "MaxConcurrentStarts", "u", "10"));

    // Container members: Pause/Resume, GetStats, OpenStdio (fds), Exec and the Process object.
    ok(await containerCall(id, "Pause"));
    assert.equal(ok(await bc("get-property", BUS_NAME, path, CONTAINER_INTERFACE, "Status")), 's "paused"');
    ok(await containerCall(id, "Resume"));
    assert.equal(ok(await bc("get-property", BUS_NAME, path, CONTAINER_INTERFACE, "Status")), 's "running"');
    const stats = JSON.parse(
      ok(await bc("--json=short", "call", BUS_NAME, path, CONTAINER_INTERFACE, "GetStats")),
    );
    assert.equal(stats.type, "a{sv}");
    assert.ok(stats.data[0].MemoryCurrent.data > 0);
    assert.equal(stats.data[0].Pids.type, "t");
    assert.match(ok(await containerCall(id, "OpenStdio")), /^hhh \d+ \d+ \d+$/);

    const execPath = processPath(id, "bc1");
    assert.equal(
      ok(
        await containerCall(
          id,
          "Exec",
          "sa{sv}",
          "bc1",
          "2",
          "Args",
          "as",
          "2",
          "sleep",
          "0.3",
          "Cwd",
          "s",
          "/",
        ),
      ),
      `o "${execPath}"`,
    );
    assert.equal(ok(await bc("call", BUS_NAME, execPath, PROCESS_INTERFACE, "Wait")), "i 0");
    const exec2 = processPath(id, "bc2");
    ok(
      await containerCall(
        id,
        "Exec",
        "sa{sv}",
        "bc2",
        "1",
        "Args",
        "as",
        "3",
        "sh",
        "-c",
        "sleep 0.3; exit 4",
      ),
    );
    assert.equal(ok(await bc("call", BUS_NAME, exec2, PROCESS_INTERFACE, "Wait")), "i 4");
    assert.equal(ok(await bc("get-property", BUS_NAME, exec2, PROCESS_INTERFACE, "ExitCode")), "i 4");
    ok(await bc("call", BUS_NAME, exec2, PROCESS_INTERFACE, "Delete"));

    ok(await containerCall(id, "Kill", "si", "init", "9"));
    assert.equal(ok(await containerCall(id, "Wait")), "i 137");
    ok(await containerCall(id, "Delete"));
    const gone = await managerCall("GetContainer", "s", id);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /no container/);
    // Its path now names no object: the API's errors, with the ids, not the bus's UnknownObject.
    const noContainer = await containerCall(id, "Start");
    assert.notEqual(noContainer.code, 0);
    assert.match(noContainer.stderr, new RegExp(`no container "${id}"`));
    const noProcess = await bc("call", BUS_NAME, exec2, PROCESS_INTERFACE, "Wait");
    assert.notEqual(noProcess.code, 0);
    assert.match(noProcess.stderr, /has no process "/);
    const elsewhere = await bc("call", BUS_NAME, `${MANAGER_PATH}/nothing`, CONTAINER_INTERFACE, "Start");
    assert.match(elsewhere.stderr, /[Uu]nknown object|no object/);
  });

  test("gdbus: a{sv} with GVariant syntax, fd replies, error names, Wait", async () => {
    const address = daemon.address;
    const id = uniqueId("gdbus");
    const path = containerPath(id);
    const run = await gdbusCall(address, MANAGER_PATH, `${MANAGER_INTERFACE}.RunContainer`, [
      id,
      bundle.path,
      "{'Labels': <{'app': 'web'}>, 'AutoRemove': <false>, 'Stdin': <true>}",
    ]);
    assert.equal(ok(run), `(objectpath '${path}',)`);
    assert.equal(
      ok(await gdbusCall(address, path, `${CONTAINER_INTERFACE}.OpenStdio`)),
      "(handle 0, handle 1, handle 2)",
    );
    const props = ok(
      await gdbusCall(address, path, "org.freedesktop.DBus.Properties.GetAll", [CONTAINER_INTERFACE]),
    );
    assert.match(props, /'Status': <'running'>/);
    assert.match(props, /'Labels': <\{'app': 'web'\}>/);
    assert.match(props, /'CreatedAt': <uint64 \d+>/);

    const badId = await gdbusCall(address, MANAGER_PATH, `${MANAGER_INTERFACE}.CreateContainer`, [
      "a/b",
      bundle.path,
      "{}",
    ]);
    assert.equal(badId.code, 1);
    assert.match(badId.stderr, /org\.berth\.Supervisor1\.Error\.InvalidArgument: invalid container id/);
    const badOption = await gdbusCall(address, MANAGER_PATH, `${MANAGER_INTERFACE}.CreateContainer`, [
      uniqueId("x"),
      bundle.path,
      "{'AutoRemove': <'yes'>}",
    ]);
    assert.match(badOption.stderr, /Error\.InvalidArgument: .*AutoRemove.*"b"/);
    const twice = await gdbusCall(address, path, `${CONTAINER_INTERFACE}.Start`);
    assert.match(twice.stderr, /org\.berth\.Supervisor1\.Error\.InvalidState/);
    const missing = await gdbusCall(address, MANAGER_PATH, `${MANAGER_INTERFACE}.GetContainer`, [
      "missing-one",
    ]);
    assert.match(missing.stderr, /org\.berth\.Supervisor1\.Error\.NoSuchContainer/);

    const wait = gdbusCall(address, path, `${CONTAINER_INTERFACE}.Wait`);
    // SIGKILL: sleep is the pid namespace's init and ignores signals it has no handler for.
    ok(await gdbusCall(address, path, `${CONTAINER_INTERFACE}.Kill`, ["all", "9"]));
    assert.equal(ok(await wait), "(137,)");
    ok(await gdbusCall(address, path, `${CONTAINER_INTERFACE}.Delete`));
  });

  test("gdbus monitor sees ContainerNew, PropertiesChanged, Exited, ContainerRemoved", async () => {
    const monitor = spawn("gdbus", ["monitor", "--address", daemon.address, "--dest", BUS_NAME], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let seen = "";
    monitor.stdout.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
    });
    try {
      await new Promise((r) => setTimeout(r, 500)); // gdbus subscribes asynchronously
      const id = uniqueId("monitor");
      ok(
        await gdbusCall(daemon.address, MANAGER_PATH, `${MANAGER_INTERFACE}.RunContainer`, [
          id,
          bundle.path,
          "{'AutoRemove': <true>}",
        ]),
      );
      ok(await gdbusCall(daemon.address, containerPath(id), `${CONTAINER_INTERFACE}.Kill`, ["all", "9"]));
      const deadline = Date.now() + 15_000;
      while (!seen.includes("ContainerRemoved") && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      for (const member of [
        "ContainerNew",
        "InterfacesAdded",
        "PropertiesChanged",
        "Exited",
        "InterfacesRemoved",
        "ContainerRemoved",
      ]) {
        assert.ok(seen.includes(`.${member} `), `gdbus monitor saw ${member}:\n${seen}`);
      }
      assert.ok(seen.includes(`'${id}'`));
    } finally {
      monitor.kill("SIGTERM");
    }
  });
});
