// OpenStdio's fds (type h) through dbus-next, exec'd processes as objects, pause/resume and GetStats
// against the real berthd, shim and runc.

import assert from "node:assert/strict";
import { closeSync, readdirSync, writeSync } from "node:fs";
import { describe, test } from "node:test";
import { Variant } from "../../src/common/bus.js";
import {
  CONTAINER_INTERFACE,
  containerPath,
  PROCESS_INTERFACE,
  processPath,
} from "../../src/common/bus-path.js";
import { uniqueId } from "../fixtures/bundle.js";
import { sharedBerthd } from "../helpers/berthd.js";
import {
  callMethod,
  errorName,
  getProperty,
  readFdToEnd,
  readFdUntil,
  SignalRecorder,
} from "../helpers/dbus.js";

describe("stdio, exec, pause/resume, stats", () => {
  const daemon = sharedBerthd();
  const { container } = daemon;

  async function run(
    args: string[],
    options: Record<string, Variant> = {},
    terminal = false,
  ): Promise<string> {
    const bundle = await daemon.bundle({ args, terminal });
    const id = uniqueId("io");
    await daemon.manager("RunContainer", "ssa{sv}", [id, bundle.path, options]);
    return id;
  }

  test("OpenStdio: feed stdin and read stdout through the returned fds; CloseStdin ends cat", async () => {
    const id = await run(["cat"], { Stdin: new Variant("b", true) });
    const [stdin, stdout, stderr] = (await container(id, "OpenStdio")) as [number, number, number];
    assert.ok(stdin > 2 && stdout > 2 && stderr > 2, `real fds: ${stdin} ${stdout} ${stderr}`);
    try {
      const reading = readFdUntil(stdout, "ping over fds");
      writeSync(stdin, "ping over fds\n");
      assert.match(await reading, /ping over fds/);
    } finally {
      closeSync(stdin);
      closeSync(stderr);
    }
    await container(id, "CloseStdin");
    assert.deepEqual(await container(id, "Wait"), [0]);
    await container(id, "Delete");
  });

  test("OpenStdio leaks no fds in berthd: sent fds are closed, the rest go with the container", async () => {
    const fdCount = () => readdirSync(`/proc/${daemon.berthd.pid}/fd`).length;
    const id = await run(["sleep", "60"]);
    await new Promise((r) => setTimeout(r, 200));
    const baseline = fdCount();
    for (let i = 0; i < 20; i++) {
      const fds = (await container(id, "OpenStdio")) as number[];
      for (const fd of fds) closeSync(fd);
    }
    await new Promise((r) => setTimeout(r, 200));
    // One placeholder writer per output FIFO for the whole container (held until the shim is gone,
    // docs/supervisor.md), not two more per call; the three fds sent to the caller are closed in
    // berthd. 20 calls used to leave 40 fds; 2 (and a little slack for the bus) is the bound now.
    assert.ok(fdCount() <= baseline + 4, `berthd fds: ${baseline} before, ${fdCount()} after 20 OpenStdio`);
    await container(id, "Kill", "si", ["all", 9]);
    await container(id, "Wait");
    await container(id, "Delete");
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(
      fdCount() <= baseline,
      `berthd fds: ${baseline} before, ${fdCount()} after the container is gone`,
    );
  });

  test("terminal container: Resize reaches the pty (stty size)", async () => {
    const id = await run(["sh", "-c", "sleep 0.5; stty size; sleep 30"], {}, true);
    assert.equal(await getProperty(daemon.client, containerPath(id), CONTAINER_INTERFACE, "Terminal"), true);
    await container(id, "Resize", "uu", [123, 45]);
    const [stdin, stdout, stderr] = (await container(id, "OpenStdio")) as [number, number, number];
    closeSync(stdin);
    closeSync(stderr);
    assert.match(await readFdUntil(stdout, "45 123"), /45 123/);
    await container(id, "Kill", "si", ["all", 9]);
    await container(id, "Wait");
    await container(id, "Delete");
  });

  test("Exec: a Process object with properties, Wait, Exited signal, InterfacesAdded/Removed, Delete", async () => {
    const id = await run(["sleep", "60"]);
    const path = processPath(id, "job-1");
    const [created] = await container(id, "Exec", "sa{sv}", [
      "job-1",
      {
        Args: new Variant("as", ["sh", "-c", "sleep 0.3; echo $FOO; exit 5"]),
        Env: new Variant("as", ["FOO=bar"]),
        Cwd: new Variant("s", "/tmp"),
        Uid: new Variant("u", 0),
        Gid: new Variant("u", 0),
      },
    ]);
    assert.equal(created, path);
    assert.equal(await getProperty(daemon.client, path, PROCESS_INTERFACE, "Id"), "job-1");
    assert.equal(await getProperty(daemon.client, path, PROCESS_INTERFACE, "Terminal"), false);
    assert.deepEqual(await callMethod(daemon.client, path, PROCESS_INTERFACE, "Wait"), [5]);
    assert.equal(await getProperty(daemon.client, path, PROCESS_INTERFACE, "Status"), "stopped");
    assert.equal(await getProperty(daemon.client, path, PROCESS_INTERFACE, "ExitCode"), 5);
    const exited = await daemon.signals.waitFor((s) => s.path === path && s.member === "Exited");
    assert.equal(exited.body[0], 5);
    assert.ok((exited.body[1] as bigint) > 0n);
    await daemon.signals.waitFor((s) => s.member === "InterfacesAdded" && s.body[0] === path);

    await callMethod(daemon.client, path, PROCESS_INTERFACE, "Delete");
    await daemon.signals.waitFor((s) => s.member === "InterfacesRemoved" && s.body[0] === path);
    assert.equal(
      await errorName(callMethod(daemon.client, path, PROCESS_INTERFACE, "Wait")),
      "org.berth.Supervisor1.Error.NoSuchProcess",
    );

    // Kill an exec'd process through its object.
    const sleeper = processPath(id, "sleeper");
    await container(id, "Exec", "sa{sv}", ["sleeper", { Args: new Variant("as", ["sleep", "60"]) }]);
    await callMethod(daemon.client, sleeper, PROCESS_INTERFACE, "Kill", "i", [9]);
    assert.deepEqual(await callMethod(daemon.client, sleeper, PROCESS_INTERFACE, "Wait"), [137]);

    await container(id, "Kill", "si", ["all", 9]);
    await container(id, "Wait");
    await container(id, "Delete");
    // Deleting the container withdrew its remaining process objects too.
    await daemon.signals.waitFor((s) => s.member === "InterfacesRemoved" && s.body[0] === sleeper);
  });

  test("Exec of a process that exits at once: Wait still replies", async () => {
    const id = await run(["sleep", "60"]);
    const path = processPath(id, "quick");
    await container(id, "Exec", "sa{sv}", ["quick", { Args: new Variant("as", ["true"]) }]);
    assert.deepEqual(
      await callMethod(daemon.client, path, PROCESS_INTERFACE, "Wait", "", [], { timeoutMs: 10_000 }),
      [0],
    );
    await container(id, "Kill", "si", ["all", 9]);
    await container(id, "Wait");
    await container(id, "Delete");
  });

  /** OpenStdio on an exec'd process: everything on stdout and stderr, each up to EOF. */
  async function execOutput(path: string): Promise<{ stdout: string; stderr: string }> {
    const [stdin, stdout, stderr] = (await callMethod(
      daemon.client,
      path,
      PROCESS_INTERFACE,
      "OpenStdio",
    )) as [number, number, number];
    closeSync(stdin);
    const [out, err] = await Promise.all([readFdToEnd(stdout), readFdToEnd(stderr)]);
    return { stdout: out, stderr: err };
  }

  test("Exec then OpenStdio: the output from its first byte, then EOF", async () => {
    const id = await run(["sleep", "60"]);
    try {
      for (const execId of ["echo-1", "echo-2", "echo-3"]) {
        const [path] = (await container(id, "Exec", "sa{sv}", [
          execId,
          { Args: new Variant("as", ["sh", "-c", "echo hi; echo oops >&2"]) },
        ])) as [string];
        assert.deepEqual(await execOutput(path), { stdout: "hi\n", stderr: "oops\n" }, execId);
        assert.deepEqual(await callMethod(daemon.client, path, PROCESS_INTERFACE, "Wait"), [0]);
        await callMethod(daemon.client, path, PROCESS_INTERFACE, "Delete");
      }
    } finally {
      await container(id, "Kill", "si", ["all", 9]).catch(() => {});
      await container(id, "Wait").catch(() => {});
      await container(id, "Delete").catch(() => {});
    }
  });

  test("OpenStdio on an exec that already exited: its output once, then InvalidState", async () => {
    const fdCount = () => readdirSync(`/proc/${daemon.berthd.pid}/fd`).length;
    const id = await run(["sleep", "60"]);
    try {
      const baseline = fdCount();
      const [path] = (await container(id, "Exec", "sa{sv}", [
        "done",
        { Args: new Variant("as", ["sh", "-c", "seq 1 1000; echo bye >&2"]), Stdin: new Variant("b", true) },
      ])) as [string];
      assert.deepEqual(await callMethod(daemon.client, path, PROCESS_INTERFACE, "Wait"), [0]);
      assert.equal(await getProperty(daemon.client, path, PROCESS_INTERFACE, "Status"), "stopped");
      const expected = `${Array.from({ length: 1000 }, (_, i) => i + 1).join("\n")}\n`;
      assert.deepEqual(await execOutput(path), { stdout: expected, stderr: "bye\n" });
      assert.equal(
        await errorName(callMethod(daemon.client, path, PROCESS_INTERFACE, "OpenStdio")),
        "org.berth.Supervisor1.Error.InvalidState",
      );
      // An exec nobody attaches to: its held fds go with Delete.
      const [ignored] = (await container(id, "Exec", "sa{sv}", [
        "ignored",
        { Args: new Variant("as", ["echo", "unread"]) },
      ])) as [string];
      assert.deepEqual(await callMethod(daemon.client, ignored, PROCESS_INTERFACE, "Wait"), [0]);
      await callMethod(daemon.client, path, PROCESS_INTERFACE, "Delete");
      await callMethod(daemon.client, ignored, PROCESS_INTERFACE, "Delete");
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(fdCount() <= baseline, `berthd fds: ${baseline} before, ${fdCount()} after both deletes`);
    } finally {
      await container(id, "Kill", "si", ["all", 9]).catch(() => {});
      await container(id, "Wait").catch(() => {});
      await container(id, "Delete").catch(() => {});
    }
  });

  test("Pause/Resume change Status with PropertiesChanged; GetStats reads the cgroup", async () => {
    const id = await run(["sh", "-c", "while :; do :; done"]);
    const path = containerPath(id);
    await container(id, "Pause");
    assert.equal(await getProperty(daemon.client, path, CONTAINER_INTERFACE, "Status"), "paused");
    await daemon.signals.waitFor(
      (s) => s.path === path && SignalRecorder.describe(s).includes("Status=paused"),
    );
    await container(id, "Resume");
    await daemon.signals.waitFor(
      (s) => s.path === path && SignalRecorder.describe(s).includes("Status=running"),
    );

    await new Promise((r) => setTimeout(r, 300));
    const [stats] = (await container(id, "GetStats")) as [Record<string, Variant>];
    for (const key of ["MemoryCurrent", "CPUUsageNSec", "Pids"]) {
      assert.equal(stats[key]?.signature, "t", key);
    }
    assert.ok((stats.MemoryCurrent!.value as bigint) > 0n);
    assert.ok((stats.CPUUsageNSec!.value as bigint) > 10_000_000n, "the busy loop used CPU");
    assert.ok((stats.Pids!.value as bigint) >= 1n);
    await container(id, "Kill", "si", ["all", 9]);
    await container(id, "Wait");
    await container(id, "Delete");
  });
});
