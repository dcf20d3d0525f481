// The members the other API tests do not reach: the OOM signal and OOMKilled, a Process object's stdio
// (OpenStdio, CloseStdin, Resize), LogDriver/LogPath, RuntimeFailed carrying the runtime's own text,
// and NoSuchContainer for a call that loses a race with a Delete.

import assert from "node:assert/strict";
import { closeSync, existsSync, writeSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { DBusError, Variant } from "../../src/common/bus.js";
import {
  CONTAINER_INTERFACE,
  containerPath,
  PROCESS_INTERFACE,
  processPath,
} from "../../src/common/bus-path.js";
import { uniqueId } from "../fixtures/bundle.js";
import { sharedBerthd } from "../helpers/berthd.js";
import { callMethod, getProperty, readFdUntil } from "../helpers/dbus.js";

const E = "org.berth.Supervisor1.Error.";

describe("the remaining members", () => {
  const daemon = sharedBerthd();
  const { bundle, manager, container } = daemon;
  const get = (id: string, name: string) =>
    getProperty(daemon.client, containerPath(id), CONTAINER_INTERFACE, name);

  test("OOM: the OOM signal, then Exited with oom_killed, and OOMKilled=true", async () => {
    const id = uniqueId("oom");
    const b = await bundle({
      args: ["sh", "-c", 'a=x; while :; do a="$a$a"; done'],
      memoryLimit: 32 * 1024 * 1024,
    });
    await manager("RunContainer", "ssa{sv}", [id, b.path, {}]);
    const [code] = (await container(id, "Wait")) as [number];
    assert.equal(code, 137);
    const path = containerPath(id);
    const exited = await daemon.signals.waitFor((s) => s.path === path && s.member === "Exited");
    assert.equal(exited.body[2], true);
    const mine = daemon.signals.on(path).map((s) => s.member);
    assert.ok(mine.includes("OOM"), `OOM signal: ${mine.join(", ")}`);
    assert.ok(mine.indexOf("OOM") < mine.indexOf("Exited"), mine.join(", "));
    assert.equal(await get(id, "OOMKilled"), true);
    await container(id, "Delete");
  });

  test("LogDriver and LogPath: the file driver's log is under the state dir; LogDriver=none is kept", async () => {
    const b = await bundle({ args: ["sh", "-c", "echo to-the-log"] });
    const fileId = uniqueId("logfile");
    await manager("RunContainer", "ssa{sv}", [fileId, b.path, {}]);
    assert.equal(await get(fileId, "LogDriver"), "file");
    assert.equal(await get(fileId, "LogPath"), join(daemon.berthd.stateDir, "containers", fileId, "log"));
    const noneId = uniqueId("lognone");
    await manager("RunContainer", "ssa{sv}", [noneId, b.path, { LogDriver: new Variant("s", "none") }]);
    assert.equal(await get(noneId, "LogDriver"), "none");
    for (const id of [fileId, noneId]) {
      await container(id, "Wait");
      await container(id, "Delete");
    }
  });

  test("a Process object's stdio: OpenStdio, CloseStdin; Resize on an exec'd terminal", async () => {
    const id = uniqueId("pio");
    const b = await bundle({ args: ["sleep", "60"] });
    await manager("RunContainer", "ssa{sv}", [id, b.path, {}]);

    const catPath = processPath(id, "cat");
    await container(id, "Exec", "sa{sv}", [
      "cat",
      { Args: new Variant("as", ["cat"]), Stdin: new Variant("b", true) },
    ]);
    const [stdin, stdout, stderr] = (await callMethod(
      daemon.client,
      catPath,
      PROCESS_INTERFACE,
      "OpenStdio",
    )) as number[];
    try {
      const reading = readFdUntil(stdout!, "exec echo");
      writeSync(stdin!, "exec echo\n");
      await reading;
    } finally {
      closeSync(stdin!);
      closeSync(stderr!);
    }
    await callMethod(daemon.client, catPath, PROCESS_INTERFACE, "CloseStdin");
    assert.deepEqual(await callMethod(daemon.client, catPath, PROCESS_INTERFACE, "Wait"), [0]);

    const ttyPath = processPath(id, "tty");
    await container(id, "Exec", "sa{sv}", [
      "tty",
      {
        Args: new Variant("as", ["sh", "-c", "sleep 0.5; stty size; sleep 30"]),
        Terminal: new Variant("b", true),
      },
    ]);
    assert.equal(await getProperty(daemon.client, ttyPath, PROCESS_INTERFACE, "Terminal"), true);
    await callMethod(daemon.client, ttyPath, PROCESS_INTERFACE, "Resize", "uu", [100, 30]);
    const fds = (await callMethod(daemon.client, ttyPath, PROCESS_INTERFACE, "OpenStdio")) as number[];
    closeSync(fds[0]!);
    closeSync(fds[2]!);
    assert.match(await readFdUntil(fds[1]!, "30 100"), /30 100/);

    await container(id, "Kill", "si", ["all", 9]);
    await container(id, "Wait");
    await container(id, "Delete");
  });

  test("RuntimeFailed carries the runtime's own error text, and leaves nothing", async () => {
    const id = uniqueId("rtfail");
    const b = await bundle({ args: ["/no/such/binary"] });
    try {
      await manager("RunContainer", "ssa{sv}", [id, b.path, {}]);
      assert.fail("a container whose binary is missing must not run");
    } catch (error) {
      assert.ok(error instanceof DBusError, String(error));
      assert.equal(error.type, `${E}RuntimeFailed`);
      assert.match(error.text, /no\/such\/binary/);
    }
    await assert.rejects(
      manager("GetContainer", "s", [id]),
      (e: DBusError) => e.type === `${E}NoSuchContainer`,
    );
    assert.equal(existsSync(join(daemon.berthd.stateDir, "containers", id)), false);
  });

  test("two RunContainer calls with one id at once: one runs, the other is ContainerExists", async () => {
    const id = uniqueId("twin");
    const b = await bundle({ args: ["sleep", "60"] });
    const outcomes = await Promise.allSettled([
      manager("RunContainer", "ssa{sv}", [id, b.path, {}]),
      manager("RunContainer", "ssa{sv}", [id, b.path, {}]),
    ]);
    assert.equal(outcomes.filter((o) => o.status === "fulfilled").length, 1);
    const loser = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
    assert.equal((loser.reason as DBusError).type, `${E}ContainerExists`);
    assert.equal(await get(id, "Status"), "running");
    await container(id, "Kill", "si", ["all", 9]);
    await container(id, "Wait");
    await container(id, "Delete");
  });

  test("a Delete that loses a race with another Delete gets NoSuchContainer", async () => {
    const id = uniqueId("race");
    const b = await bundle({ args: ["sleep", "60"] });
    await manager("CreateContainer", "ssa{sv}", [id, b.path, {}]);
    const outcomes = await Promise.allSettled([container(id, "Delete"), container(id, "Delete")]);
    assert.equal(outcomes.filter((o) => o.status === "fulfilled").length, 1, "one Delete wins");
    const loser = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
    assert.equal((loser.reason as DBusError).type, `${E}NoSuchContainer`);
  });

  test("two Process Deletes at once: one succeeds, the other gets NoSuchProcess", async () => {
    const id = uniqueId("pdel");
    const b = await bundle({ args: ["sleep", "60"] });
    await manager("RunContainer", "ssa{sv}", [id, b.path, {}]);
    try {
      for (let round = 0; round < 3; round++) {
        const execId = `quick-${round}`;
        const path = processPath(id, execId);
        await container(id, "Exec", "sa{sv}", [execId, { Args: new Variant("as", ["true"]) }]);
        assert.deepEqual(await callMethod(daemon.client, path, PROCESS_INTERFACE, "Wait"), [0]);
        const outcomes = await Promise.allSettled([
          callMethod(daemon.client, path, PROCESS_INTERFACE, "Delete"),
          callMethod(daemon.client, path, PROCESS_INTERFACE, "Delete"),
        ]);
        const types = outcomes.map((o) => (o.status === "fulfilled" ? "ok" : (o.reason as DBusError).type));
        assert.deepEqual(types.sort(), [`${E}NoSuchProcess`, "ok"].sort(), `round ${round}`);
      }
    } finally {
      await container(id, "Kill", "si", ["all", 9]).catch(() => {});
      await container(id, "Wait").catch(() => {});
      await container(id, "Delete").catch(() => {});
    }
  });
});
