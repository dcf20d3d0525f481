// berthd's peer-to-peer D-Bus endpoint (design.md "berthd.socket"), outside systemd: a berthd started
// by hand binds <state-dir>/private (0600) and removes it on stop; busctl, a dbus-next client and
// berthctl use it with no bus daemon in between; signals reach clients that asked for them; OpenStdio's
// fds arrive over it; only root is let in (SO_PEERCRED). Socket activation is exercised with
// systemd-socket-activate, which passes a listening fd 3 and LISTEN_* exactly as systemd does.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connectBus, type MessageBus, Variant } from "../../src/common/bus.js";
import { containerPath, MANAGER_INTERFACE, MANAGER_PATH } from "../../src/common/bus-path.js";
import { berthctl } from "../berthctl/run-berthctl.js";
import { type Bundle, makeBundle, uniqueId } from "../fixtures/bundle.js";
import { makeTempDir } from "../fixtures/temp.js";
import { BERTHD_MAIN, removeLeftovers, startBerthd, type TestBerthd, testConfig } from "../helpers/berthd.js";
import { busctl } from "../helpers/cli.js";
import { callMethod, errorName, getProperty, readFdUntil, SignalRecorder } from "../helpers/dbus.js";

const CONTAINER = "org.berth.Supervisor1.Container";

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the private socket of a berthd started by hand", () => {
  let berthd: TestBerthd;
  let bundle: Bundle;
  let socket: string;
  let address: string;
  const clients: MessageBus[] = [];

  before(async () => {
    berthd = await startBerthd();
    await berthd.serving();
    bundle = await makeBundle({ args: ["sh", "-c", "echo hello-private; sleep 1000"] });
    socket = join(berthd.stateDir, "private");
    address = `unix:path=${socket}`;
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    await berthd?.cleanup();
    await bundle?.remove();
  });

  async function client(): Promise<MessageBus> {
    const bus = await connectBus(address);
    clients.push(bus);
    return bus;
  }

  test("it is a socket, mode 0600", () => {
    const stat = statSync(socket);
    assert.ok(stat.isSocket());
    assert.equal(stat.mode & 0o777, 0o600);
  });

  test("a client that hangs up is forgotten: 20 busctl calls leave berthd's fd count where it was", async () => {
    const fds = (): number => readdirSync(`/proc/${berthd.pid}/fd`).length;
    const call = () =>
      busctl(address, ["call", "org.berth.Supervisor1", MANAGER_PATH, MANAGER_INTERFACE, "ListContainers"]);
    assert.equal((await call()).code, 0);
    const before = fds();
    for (let i = 0; i < 20; i++) assert.equal((await call()).code, 0);
    // The server sees each EOF asynchronously; give it a moment, then compare (a leak is +20).
    let after = fds();
    for (let i = 0; i < 50 && after > before + 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = fds();
    }
    assert.ok(after <= before + 2, `berthd held ${after - before} more fds after 20 finished connections`);
  });

  test("busctl: tree, get-property, call", async () => {
    const tree = await busctl(address, ["tree", "org.berth.Supervisor1"]);
    assert.equal(tree.code, 0, tree.stderr);
    assert.match(tree.stdout, /\/org\/berth\/Supervisor1\/container/);
    const version = await busctl(address, [
      "get-property",
      "org.berth.Supervisor1",
      MANAGER_PATH,
      MANAGER_INTERFACE,
      "Version",
    ]);
    assert.equal(version.code, 0, version.stderr);
    const pkg = JSON.parse(readFileSync(join(BERTHD_MAIN, "../../../../package.json"), "utf8"));
    assert.equal(version.stdout.trim(), `s "${pkg.version}"`);
    const missing = await busctl(address, [
      "call",
      "org.berth.Supervisor1",
      MANAGER_PATH,
      MANAGER_INTERFACE,
      "GetContainer",
      "s",
      "no-such-container",
    ]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no-such-container/);
  });

  test("a dbus-next client runs a container, gets its signals and its stdio fds", async () => {
    const bus = await client();
    const signals = await SignalRecorder.start(bus);
    const id = uniqueId("p2p");
    const [path] = await callMethod(bus, MANAGER_PATH, MANAGER_INTERFACE, "RunContainer", "ssa{sv}", [
      id,
      bundle.path,
      { LogDriver: new Variant("s", "none") },
    ]);
    assert.equal(path, containerPath(id));
    await signals.waitFor((s) => s.member === "ContainerNew" && s.body[0] === id);
    await signals.waitFor(
      (s) =>
        s.path === path &&
        s.member === "PropertiesChanged" &&
        (s.body[1] as Record<string, Variant>).Status?.value === "running",
    );
    assert.equal(await getProperty(bus, path as string, CONTAINER, "Status"), "running");

    await callMethod(bus, path as string, CONTAINER, "Kill", "si", ["all", 9]);
    const exited = await signals.waitFor((s) => s.path === path && s.member === "Exited");
    assert.equal(exited.body[0], 137);
    await callMethod(bus, path as string, CONTAINER, "Delete");
    await signals.waitFor((s) => s.member === "ContainerRemoved" && s.body[0] === id);
  });

  test("OpenStdio over the private socket carries live output", async () => {
    const bus = await client();
    const id = uniqueId("p2p-io");
    const stdinBundle = await makeBundle({ args: ["sh", "-c", "read line; echo got-$line; sleep 1000"] });
    try {
      const [path] = await callMethod(bus, MANAGER_PATH, MANAGER_INTERFACE, "CreateContainer", "ssa{sv}", [
        id,
        stdinBundle.path,
        { Stdin: new Variant("b", true), LogDriver: new Variant("s", "none") },
      ]);
      const [stdin, stdout] = (await callMethod(bus, path as string, CONTAINER, "OpenStdio")) as number[];
      await callMethod(bus, path as string, CONTAINER, "Start");
      const { writeSync, closeSync } = await import("node:fs");
      writeSync(stdin!, "ping\n");
      closeSync(stdin!);
      assert.match(await readFdUntil(stdout!, "got-ping"), /got-ping/);
      await callMethod(bus, path as string, CONTAINER, "Kill", "si", ["all", 9]);
      await callMethod(bus, path as string, CONTAINER, "Wait");
      await callMethod(bus, path as string, CONTAINER, "Delete");
    } finally {
      await stdinBundle.remove();
    }
  });

  test("a client without match rules gets no signals; RemoveMatch of an unknown rule is MatchRuleNotFound", async () => {
    const quiet = await client();
    let seen = 0;
    quiet.on("message", (message) => {
      if (message.type === 4 && message.interface !== "org.freedesktop.DBus") seen += 1;
    });
    const loud = await client();
    const rule = `type='signal',sender='org.berth.Supervisor1',member='ContainerNew'`;
    await callMethod(loud, "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", "s", [rule], {
      destination: "org.freedesktop.DBus",
    });
    const recorder = await SignalRecorder.start(loud, "org.berth.Supervisor1");
    const id = uniqueId("p2p-match");
    await callMethod(loud, MANAGER_PATH, MANAGER_INTERFACE, "CreateContainer", "ssa{sv}", [
      id,
      bundle.path,
      {},
    ]);
    await recorder.waitFor((s) => s.member === "ContainerNew" && s.body[0] === id);
    await callMethod(loud, containerPath(id), CONTAINER, "Delete");
    await recorder.waitFor((s) => s.member === "ContainerRemoved" && s.body[0] === id);
    assert.equal(seen, 0, "a client that added no rule got signals");
    assert.equal(
      await errorName(
        callMethod(
          loud,
          "/org/freedesktop/DBus",
          "org.freedesktop.DBus",
          "RemoveMatch",
          "s",
          ["type='nope'"],
          {
            destination: "org.freedesktop.DBus",
          },
        ),
      ),
      "org.freedesktop.DBus.Error.MatchRuleNotFound",
    );
  });

  test("bus methods: Hello names differ, GetNameOwner and NameHasOwner know org.berth.Supervisor1", async () => {
    const a = await client();
    const b = await client();
    const nameOf = (bus: MessageBus): string => (bus as unknown as { name: string }).name;
    assert.match(nameOf(a), /^:1\.\d+$/);
    assert.notEqual(nameOf(a), nameOf(b));
    const dbusCall = (member: string, arg: string) =>
      callMethod(a, "/org/freedesktop/DBus", "org.freedesktop.DBus", member, "s", [arg], {
        destination: "org.freedesktop.DBus",
      });
    const [owner] = await dbusCall("GetNameOwner", "org.berth.Supervisor1");
    assert.match(owner as string, /^:1\.\d+$/);
    assert.deepEqual(await dbusCall("NameHasOwner", "org.berth.Supervisor1"), [true]);
    assert.deepEqual(await dbusCall("NameHasOwner", "org.example.Nobody"), [false]);
    const [uid] = await dbusCall("GetConnectionUnixUser", nameOf(b));
    assert.equal(uid, 0);
  });

  test("berthctl uses it: run -d, ps, rm, and an attached run with its exit code", async () => {
    const id = uniqueId("p2p-ctl");
    const run = await berthctl(["run", "-d", id, bundle.path], { address });
    assert.equal(run.code, 0, run.stderr);
    const ps = await berthctl(["ps"], { address });
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, new RegExp(id));
    const rm = await berthctl(["rm", "-f", id], { address });
    assert.equal(rm.code, 0, rm.stderr);
    // Attached: output through OpenStdio's fds, the exit code through the Exited signal / Wait.
    const short = await makeBundle({ args: ["sh", "-c", "echo attached-output; exit 3"] });
    try {
      const attached = await berthctl(["run", "--rm", uniqueId("p2p-att"), short.path], { address });
      assert.equal(attached.code, 3, attached.stderr);
      assert.match(attached.stdout, /attached-output/);
    } finally {
      await short.remove();
    }
  });

  test("a client that is not root is refused (SO_PEERCRED), even when the mode would let it in", async (t) => {
    chmodSync(socket, 0o666);
    t.after(() => chmodSync(socket, 0o600));
    // The dirs above it must let nobody reach it, so that it is berthd that refuses, not the kernel.
    const dirs = [berthd.stateDir, join(berthd.stateDir, "..")];
    const modes = dirs.map((dir) => statSync(dir).mode & 0o777);
    for (const dir of dirs) chmodSync(dir, 0o711);
    t.after(() => {
      for (const [i, dir] of dirs.entries()) chmodSync(dir, modes[i]!);
    });
    const refused = await busctl(address, ["tree", "org.berth.Supervisor1"], true);
    assert.notEqual(refused.code, 0);
    assert.doesNotMatch(refused.stderr, /Permission denied/, "the kernel refused, not berthd");
    await waitUntil(() => /private socket: refused pid \d+ uid 65534/.test(berthd.output()));
    const root = await busctl(address, ["tree", "org.berth.Supervisor1"]);
    assert.equal(root.code, 0, root.stderr);
  });

  test("stop removes the socket it bound", async () => {
    assert.equal(await berthd.stop(), 0);
    assert.equal(existsSync(socket), false);
  });
});

test("a SIGKILLed berthd's socket file is replaced by the next berthd; a live one is not stolen", async () => {
  const berthd = await startBerthd();
  try {
    const socket = join(berthd.stateDir, "private");
    await berthd.kill();
    assert.ok(existsSync(socket), "SIGKILL left the socket file");
    await berthd.restart();
    await berthd.serving();
    const tree = await busctl(`unix:path=${socket}`, ["tree", "org.berth.Supervisor1"]);
    assert.equal(tree.code, 0, tree.stderr);

    // A second berthd on the same state dir (another bus) must leave the first one's socket alone.
    const other = await startBerthd({ args: ["--state-dir", berthd.stateDir] });
    try {
      await other.serving();
      assert.match(other.output(), /the private socket is not served: .* is served by another process/);
      const again = await busctl(`unix:path=${socket}`, ["tree", "org.berth.Supervisor1"]);
      assert.equal(again.code, 0, again.stderr);
    } finally {
      await other.cleanup();
    }
  } finally {
    await berthd.cleanup();
  }
});

/** node main.js under systemd-socket-activate: fd 3 is a listening socket, LISTEN_PID is berthd's pid. */
function socketActivated(socket: string, stateDir: string, config: string, busAddress: string): ChildProcess {
  return spawn(
    "systemd-socket-activate",
    [
      "-l",
      socket,
      process.execPath,
      BERTHD_MAIN,
      "--bus-address",
      busAddress,
      "--state-dir",
      stateDir,
      "--config",
      config,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
}

test("socket activation: berthd serves fd 3, its children see no LISTEN_*, the socket outlives it", async () => {
  const first = await startBerthd(); // for its bus; stopped at once, so the name is free
  const dir = makeTempDir("activated");
  const stateDir = join(dir.path, "state");
  const bundle = await makeBundle({ args: ["sleep", "1000"] });
  let child: ChildProcess | undefined;
  let output = "";
  try {
    await first.stop();
    const config = join(dir.path, "berthd.toml");
    writeFileSync(config, testConfig());
    const socket = join(dir.path, "activation.sock");
    child = socketActivated(socket, stateDir, config, first.address);
    child.stdout!.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.stderr!.on("data", (c: Buffer) => {
      output += c.toString();
    });
    const deadline = Date.now() + 20_000;
    while (!existsSync(socket)) {
      if (Date.now() > deadline) assert.fail(`no socket:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // systemd-socket-activate starts berthd on the first connection, as systemd would.
    const address = `unix:path=${socket}`;
    const tree = await busctl(address, ["tree", "org.berth.Supervisor1"]);
    assert.equal(tree.code, 0, `${tree.stderr}\n${output}`);
    assert.match(output, /socket activation/);
    const id = uniqueId("activated");
    const run = await berthctl(["run", "-d", id, bundle.path], { address });
    assert.equal(run.code, 0, run.stderr);
    const shimPid = Number(readFileSync(join(stateDir, "containers", id, "shim.pid"), "utf8"));
    const environ = readFileSync(`/proc/${shimPid}/environ`, "utf8").split("\0");
    assert.deepEqual(
      environ.filter((entry) => /^(LISTEN_|NOTIFY_SOCKET=|WATCHDOG_)/.test(entry)),
      [],
      "the shim inherited the service manager's variables",
    );
    const rm = await berthctl(["rm", "-f", id], { address });
    assert.equal(rm.code, 0, rm.stderr);
    child.kill("SIGTERM");
    await new Promise((resolve) => child!.once("exit", resolve));
    assert.ok(existsSync(socket), "berthd removed a socket it did not bind");
  } finally {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await new Promise((resolve) => child!.once("exit", resolve));
    }
    removeLeftovers(stateDir);
    await bundle.remove();
    await dir.remove();
    await first.cleanup();
  }
});
