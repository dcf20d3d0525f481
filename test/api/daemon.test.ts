// berthd as a program: its command line, refusing bad config, refusing a taken bus name, SIGTERM
// (name released, containers keep running, a restart re-exports them), SIGHUP reloads, journald prefixes.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { callBusDaemon } from "../../src/common/bus.js";
import {
  BUS_NAME,
  CONTAINER_INTERFACE,
  containerPath,
  MANAGER_INTERFACE,
  MANAGER_PATH,
} from "../../src/common/bus-path.js";
import { type Bundle, makeBundle, makeTempDir, uniqueId } from "../fixtures/bundle.js";
import { BERTHD_MAIN, sharedBerthd, startBerthd, testConfig } from "../helpers/berthd.js";
import { callMethod, getProperty, startBus } from "../helpers/dbus.js";
import { startJournalReceiver } from "../helpers/journal.js";
import { childrenOf, processAlive, processGone } from "../helpers/proc.js";

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs berthd to completion (for runs that must exit on their own). */
function runBerthd(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BERTHD_MAIN, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`berthd ${args.join(" ")} did not exit in ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("berthd command line", () => {
  test("--help documents every option; --version prints the version; a bad flag exits 2", async () => {
    const help = await runBerthd(["--help"]);
    assert.equal(help.code, 0);
    for (const option of ["--bus-address", "--state-dir", "--config", "--help", "--version", "SIGHUP"]) {
      assert.ok(help.stdout.includes(option), `--help mentions ${option}`);
    }
    const version = await runBerthd(["--version"]);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^berthd \d+\.\d+\.\d+\n$/);
    const bad = await runBerthd(["--frobnicate"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^berthd: .*frobnicate/);
    assert.ok(!/\n\s+at /.test(bad.stderr), "no stack trace");
  });

  test("a bad config file is refused at start with file, line and reason", async () => {
    const dir = makeTempDir("badconf");
    try {
      const config = join(dir.path, "berthd.toml");
      writeFileSync(config, 'default_runtime = "runc"\nmax_concurrent_starts = "lots"\n');
      const result = await runBerthd([
        "--bus-address",
        "unix:path=/nonexistent/bus",
        "--state-dir",
        join(dir.path, "state"),
        "--config",
        config,
      ]);
      assert.equal(result.code, 1);
      assert.ok(
        result.stderr.includes(`${config}:2: "max_concurrent_starts" must be an integer`),
        result.stderr,
      );
      assert.ok(!/\n\s+at /.test(result.stderr), "no stack trace");
    } finally {
      await dir.remove();
    }
  });
});

describe("berthd without a bus to serve on", () => {
  test("exits 1 naming the address it could not reach", async () => {
    const dir = makeTempDir("nobus");
    try {
      const config = join(dir.path, "berthd.toml");
      writeFileSync(config, testConfig());
      const address = `unix:path=${join(dir.path, "no-such-socket")}`;
      const result = await runBerthd([
        "--bus-address",
        address,
        "--state-dir",
        join(dir.path, "state"),
        "--config",
        config,
      ]);
      assert.equal(result.code, 1);
      assert.ok(result.stderr.includes(`cannot connect to ${address}`), result.stderr);
      assert.ok(!/\n\s+at /.test(result.stderr), "no stack trace");
    } finally {
      await dir.remove();
    }
  });
});

describe("berthd on a bus", () => {
  const daemon = sharedBerthd();
  const { container } = daemon;
  let bundle: Bundle;

  before(async () => {
    bundle = await daemon.bundle({ args: ["sleep", "120"] });
  });

  test("a second berthd refuses to start when the name is taken", async () => {
    const dir = makeTempDir("second");
    try {
      const config = join(dir.path, "berthd.toml");
      writeFileSync(config, testConfig());
      const second = await runBerthd([
        "--bus-address",
        daemon.address,
        "--state-dir",
        join(dir.path, "state"),
        "--config",
        config,
      ]);
      assert.equal(second.code, 1);
      assert.match(second.stderr, /org\.berth\.Supervisor1 is already owned/);
    } finally {
      await dir.remove();
    }
  });

  test("SIGHUP reloads the config; a bad file on reload keeps the old one", async (t) => {
    const since = daemon.signals.mark();
    t.after(() => {
      writeFileSync(daemon.berthd.configPath, testConfig());
      daemon.berthd.reload();
    });
    writeFileSync(daemon.berthd.configPath, testConfig({ maxConcurrentStarts: 4, defaultRuntime: "crun" }));
    daemon.berthd.reload();
    const changed = await daemon.signals.waitFor(
      (s) =>
        s.path === MANAGER_PATH &&
        s.member === "PropertiesChanged" &&
        "MaxConcurrentStarts" in (s.body[1] as object),
      20_000,
      since,
    );
    assert.equal((changed.body[1] as Record<string, { value: unknown }>).MaxConcurrentStarts!.value, 4);
    const runtimeChanged = await daemon.signals.waitFor(
      (s) =>
        s.path === MANAGER_PATH &&
        s.member === "PropertiesChanged" &&
        "DefaultRuntime" in (s.body[1] as object),
      20_000,
      since,
    );
    assert.equal(
      (runtimeChanged.body[1] as Record<string, { value: unknown }>).DefaultRuntime!.value,
      "crun",
    );
    assert.equal(await getProperty(daemon.client, MANAGER_PATH, MANAGER_INTERFACE, "MaxConcurrentStarts"), 4);
    assert.equal(await getProperty(daemon.client, MANAGER_PATH, MANAGER_INTERFACE, "DefaultRuntime"), "crun");

    writeFileSync(daemon.berthd.configPath, "max_concurrent_starts = [\n");
    daemon.berthd.reload();
    const deadline = Date.now() + 10_000;
    while (!daemon.berthd.output().includes("reload refused") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.match(
      daemon.berthd.output(),
      /reload refused, keeping the old configuration: .*berthd\.toml:\d+: /,
    );
    assert.equal(await getProperty(daemon.client, MANAGER_PATH, MANAGER_INTERFACE, "MaxConcurrentStarts"), 4);
  });

  test("SIGTERM releases the name and leaves containers running; a restart re-exports them", async () => {
    const id = uniqueId("survive");
    await daemon.manager("RunContainer", "ssa{sv}", [id, bundle.path, {}]);
    const pid = (await getProperty(daemon.client, containerPath(id), CONTAINER_INTERFACE, "Pid")) as number;
    const launchers = childrenOf(daemon.berthd.pid, "--launcher");
    assert.equal(launchers.length, 1, "berthd runs one launcher");

    assert.equal(await daemon.berthd.stop(), 0);
    assert.ok(await processGone(launchers[0]), "the launcher left with berthd");
    const [owned] = await callBusDaemon(daemon.client, "NameHasOwner", "s", [BUS_NAME]);
    assert.equal(owned, false);
    assert.ok(processAlive(pid), "the container outlived berthd");
    assert.match(daemon.berthd.output(), /stopped; containers keep running/);

    await daemon.berthd.restart();
    assert.equal(
      await getProperty(daemon.client, containerPath(id), CONTAINER_INTERFACE, "Status"),
      "running",
    );
    assert.equal(await getProperty(daemon.client, containerPath(id), CONTAINER_INTERFACE, "Pid"), pid);
    await container(id, "Kill", "si", ["all", 9]);
    assert.deepEqual(await container(id, "Wait"), [137]);
    await container(id, "Delete");
  });

  test("a berthd killed with SIGKILL leaves no launcher: it ends on EOF", async () => {
    const [launcher] = childrenOf(daemon.berthd.pid, "--launcher");
    assert.ok(launcher !== undefined, "berthd runs a launcher");
    await daemon.berthd.kill();
    assert.ok(await processGone(launcher), "the launcher left after berthd");
    await daemon.berthd.restart();
  });
});

describe("berthd without its bus", () => {
  test("exits 1 with a clear line when the bus goes away (so a service manager restarts it)", async () => {
    const bus = await startBus();
    const berthd = await startBerthd({ bus });
    try {
      await bus.stop();
      assert.equal(await berthd.exited(), 1);
      assert.match(berthd.output(), /lost the bus connection/);
    } finally {
      await berthd.cleanup();
    }
  });
});

describe("berthd and its service manager (sd_notify)", () => {
  test("READY=1 with STATUS once serving, RELOADING=1/READY=1 around SIGHUP, STOPPING=1 on SIGTERM", async () => {
    // The notify protocol is KEY=VALUE lines in datagrams: the journal stand-in's receiver reads them.
    const socket = await startJournalReceiver();
    const berthd = await startBerthd({ env: { NOTIFY_SOCKET: socket.socketPath } });
    try {
      const ready = await socket.waitFor((entry) => entry.READY === "1");
      assert.match(ready.STATUS ?? "", /^0 containers, 0 starting, 0 queued$/);
      // STATUS= follows the counts (coalesced): a container created through the API shows up in it.
      const bundle = await makeBundle({ args: ["true"] });
      try {
        const client = await berthd.connect();
        await callMethod(client, MANAGER_PATH, MANAGER_INTERFACE, "CreateContainer", "ssa{sv}", [
          uniqueId("status"),
          bundle.path,
          {},
        ]);
        await socket.waitFor((entry) => /^1 containers, 0 starting, 0 queued$/.test(entry.STATUS ?? ""));
      } finally {
        await bundle.remove();
      }
      berthd.reload();
      await socket.waitFor((entry) => entry.RELOADING === "1");
      const readyAgain = () => socket.entries.filter((entry) => entry.READY === "1").length === 2;
      const deadline = Date.now() + 10_000;
      while (!readyAgain() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(readyAgain(), JSON.stringify(socket.entries));
      assert.equal(await berthd.stop(), 0);
      await socket.waitFor((entry) => entry.STOPPING === "1");
    } finally {
      await berthd.cleanup();
      await socket.close();
    }
  });
});

describe("berthd logging", () => {
  test("under journald (JOURNAL_STREAM set, stderr not a TTY) lines carry <N> priorities", async () => {
    const berthd = await startBerthd({ env: { JOURNAL_STREAM: "8:12345" } });
    try {
      // Its "ready" line comes after the bus name startBerthd waits for: wait for it, not race it.
      await berthd.serving();
      const lines = berthd.output().trim().split("\n");
      assert.ok(lines.length > 0);
      for (const line of lines) assert.match(line, /^<[0-7]>/, line);
      assert.ok(
        lines.some((line) => line.startsWith("<6>ready: serving org.berth.Supervisor1")),
        lines.join("\n"),
      );
    } finally {
      await berthd.cleanup();
    }
  });
});
