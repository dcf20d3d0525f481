// Authorization: an unprivileged caller (nobody, through setpriv) may read everything but is refused
// every change with AccessDenied when no polkit is on the bus; with polkit, berthd asks it about
// org.berth.supervisor1.manage and honours its answer (InteractiveAuthorizationRequired when the caller
// did not allow interaction). polkitd itself cannot grant anything here without installing an action
// and a rule on the host, so the second part uses a TEST DOUBLE of the polkit authority on the private
// bus: a dbus-next service that answers CheckAuthorization and records what berthd asked.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { connectBus, Message, MessageType } from "../../src/common/bus.js";
import {
  BUS_NAME,
  CONTAINER_INTERFACE,
  containerPath,
  MANAGER_INTERFACE,
  MANAGER_PATH,
} from "../../src/common/bus-path.js";
import { type Bundle, uniqueId } from "../fixtures/bundle.js";
import { type SharedBerthd, sharedBerthd, waitForName } from "../helpers/berthd.js";
import { asNobody, busctl, gdbusCall, runCommand } from "../helpers/cli.js";
import { startBus, type TestBus } from "../helpers/dbus.js";

const DENIED = "org.freedesktop.DBus.Error.AccessDenied";
/** The compiled bus module, for a client run as another user. */
const BUS_MODULE = new URL("../../src/common/bus.js", import.meta.url).pathname;
const POLKITD = "/usr/lib/polkit-1/polkitd";
const POLKIT_BUS_POLICY = "/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf";
const INTERACTIVE = "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired";

/** Runs container `id` (sleep 60) as root through gdbus, for the tests to act on as nobody; returns its bundle. */
async function runAsRoot(daemon: SharedBerthd, id: string): Promise<Bundle> {
  const bundle = await daemon.bundle({ args: ["sleep", "60"] });
  const result = await gdbusCall(daemon.address, MANAGER_PATH, `${MANAGER_INTERFACE}.RunContainer`, [
    id,
    bundle.path,
    "{}",
  ]);
  assert.equal(result.code, 0, result.stderr);
  return bundle;
}

describe("authorization without polkit: root only", () => {
  const daemon = sharedBerthd();
  let bundle: Bundle;
  const id = uniqueId("access");
  const path = containerPath(id);

  before(async () => {
    bundle = await runAsRoot(daemon, id);
  });

  test("nobody can introspect, read properties, list and get containers", async () => {
    const read = (...args: string[]) => busctl(daemon.address, args, true);
    for (const args of [
      ["introspect", BUS_NAME, MANAGER_PATH],
      ["introspect", BUS_NAME, path],
      ["get-property", BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "Version"],
      ["get-property", BUS_NAME, path, CONTAINER_INTERFACE, "Status"],
      ["call", BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll", "s", CONTAINER_INTERFACE],
      ["call", BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "ListContainers"],
      ["call", BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "GetContainer", "s", id],
      ["call", BUS_NAME, MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"],
      ["call", BUS_NAME, path, CONTAINER_INTERFACE, "GetStats"],
    ]) {
      const result = await read(...args);
      assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
    }
    const status = await read("get-property", BUS_NAME, path, CONTAINER_INTERFACE, "Status");
    assert.equal(status.stdout.trim(), 's "running"');
  });

  test("nobody cannot own org.berth.Supervisor1 (the bus policy)", async () => {
    const script = `
      import { callBusDaemon, connectBus } from ${JSON.stringify(BUS_MODULE)};
      const bus = await connectBus(process.argv[1]);
      try {
        await callBusDaemon(bus, "RequestName", "su", ["org.berth.Supervisor1", 4]);
        console.log("owned");
      } catch (error) {
        console.log(error.type);
      }
      bus.disconnect();`;
    const result = await runCommand(
      ...asNobody(process.execPath, ["--input-type=module", "-e", script, daemon.address]),
    );
    assert.equal(result.stdout.trim(), DENIED, result.stderr);
  });

  test("nobody receives berth's signals", async () => {
    const [command, args] = asNobody("gdbus", ["monitor", "--address", daemon.address, "--dest", BUS_NAME]);
    const monitor = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let seen = "";
    monitor.stdout.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
    });
    try {
      await new Promise((r) => setTimeout(r, 500)); // gdbus subscribes asynchronously
      const other = uniqueId("seen");
      const result = await gdbusCall(daemon.address, MANAGER_PATH, `${MANAGER_INTERFACE}.CreateContainer`, [
        other,
        bundle.path,
        "{}",
      ]);
      assert.equal(result.code, 0, result.stderr);
      await gdbusCall(daemon.address, containerPath(other), `${CONTAINER_INTERFACE}.Delete`);
      const deadline = Date.now() + 10_000;
      while (!seen.includes("ContainerRemoved") && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.ok(seen.includes(".ContainerNew ") && seen.includes(".ContainerRemoved "), seen);
    } finally {
      monitor.kill("SIGTERM");
    }
  });

  test("nobody is refused every change with AccessDenied, and nothing changes", async () => {
    const address = daemon.address;
    const m = (member: string) => `${MANAGER_INTERFACE}.${member}`;
    const c = (member: string) => `${CONTAINER_INTERFACE}.${member}`;
    const calls: Array<[string, string, string[]]> = [
      [MANAGER_PATH, m("CreateContainer"), [uniqueId("n"), bundle.path, "{}"]],
      [MANAGER_PATH, m("RunContainer"), [uniqueId("n"), bundle.path, "{}"]],
      [path, c("Start"), []],
      [path, c("Kill"), ["all", "9"]],
      [path, c("Pause"), []],
      [path, c("Resume"), []],
      [path, c("Delete"), []],
      [path, c("Exec"), ["e1", "{'Args': <['true']>}"]],
      [path, c("Resize"), ["80", "24"]],
      [path, c("CloseStdin"), []],
      [path, c("OpenStdio"), []],
      [
        MANAGER_PATH,
        "org.freedesktop.DBus.Properties.Set",
        [MANAGER_INTERFACE, "MaxConcurrentStarts", "<uint32 2>"],
      ],
    ];
    for (const [objectPath, method, args] of calls) {
      const result = await gdbusCall(address, objectPath, method, args, true);
      assert.equal(result.code, 1, `${method} must be refused`);
      assert.ok(result.stderr.includes(DENIED), `${method}: ${result.stderr}`);
      assert.match(result.stderr, /only root/);
    }
    // The shape of a call is checked before authorization: a malformed one is refused alike for everyone.
    const malformed = await gdbusCall(
      address,
      MANAGER_PATH,
      m("CreateContainer"),
      [uniqueId("n"), bundle.path, "{'Bogus': <1>}"],
      true,
    );
    assert.ok(malformed.stderr.includes("org.berth.Supervisor1.Error.InvalidArgument"), malformed.stderr);
    const status = await gdbusCall(address, path, "org.freedesktop.DBus.Properties.Get", [
      CONTAINER_INTERFACE,
      "Status",
    ]);
    assert.equal(status.stdout.trim(), "(<'running'>,)");
    const max = await gdbusCall(address, MANAGER_PATH, "org.freedesktop.DBus.Properties.Get", [
      MANAGER_INTERFACE,
      "MaxConcurrentStarts",
    ]);
    assert.equal(max.stdout.trim(), "(<uint32 10>,)");
  });
});

interface PolkitQuestion {
  subjectKind: string;
  subjectName: unknown;
  action: string;
  flags: number;
}

/** The test double of org.freedesktop.PolicyKit1: grants when the caller allows interaction, else challenges. */
async function startFakePolkit(bus: TestBus, answer: () => "grant-if-interactive" | "deny") {
  const connection = await connectBus(bus.address);
  const questions: PolkitQuestion[] = [];
  connection.addMethodHandler((message: Message) => {
    if (message.type !== MessageType.METHOD_CALL || message.member !== "CheckAuthorization") return false;
    const [[subjectKind, subject], action, , flags] = message.body as [
      [string, Record<string, { value: unknown }>],
      string,
      unknown,
      number,
    ];
    questions.push({ subjectKind, subjectName: subject.name?.value, action, flags });
    const interactive = (flags & 1) !== 0;
    const reply =
      answer() === "deny" ? [false, false, {}] : interactive ? [true, false, {}] : [false, true, {}];
    connection.send(Message.newMethodReturn(message, "(bba{ss})", [reply]));
    return true;
  });
  await connection.requestName("org.freedesktop.PolicyKit1", 4);
  return { questions, stop: () => connection.disconnect() };
}

describe("authorization through polkit (test double of the authority)", () => {
  let bus: TestBus;
  let polkit: Awaited<ReturnType<typeof startFakePolkit>>;
  let mode: "grant-if-interactive" | "deny" = "grant-if-interactive";
  const id = uniqueId("polkit");
  const path = containerPath(id);

  before(async () => {
    bus = await startBus({
      extraConfig: `<policy user="root">
    <allow own="org.freedesktop.PolicyKit1"/>
    <allow send_destination="org.freedesktop.PolicyKit1"/>
  </policy>`,
    });
    polkit = await startFakePolkit(bus, () => mode);
  });
  // Registered after the bus's before() and before its after(): berthd starts on that bus and stops first.
  const daemon = sharedBerthd(() => ({ bus }));
  before(() => runAsRoot(daemon, id));
  after(async () => {
    polkit?.stop();
    await bus?.stop();
  });

  test("root is never asked about; nobody is asked with the right action and subject", async () => {
    assert.equal(polkit.questions.length, 0, "root's RunContainer did not consult polkit");
    const notInteractive = await gdbusCall(bus.address, path, `${CONTAINER_INTERFACE}.Pause`, [], true);
    assert.equal(notInteractive.code, 1);
    assert.ok(notInteractive.stderr.includes(INTERACTIVE), notInteractive.stderr);
    assert.equal(polkit.questions.length, 1);
    const question = polkit.questions[0]!;
    assert.equal(question.subjectKind, "system-bus-name");
    assert.match(String(question.subjectName), /^:\d+\.\d+$/);
    assert.equal(question.action, "org.berth.supervisor1.manage");
    assert.equal(question.flags, 0);

    const allowed = await runInteractive(bus.address, path, "Pause");
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(polkit.questions.at(-1)!.flags, 1, "AllowUserInteraction passed on");
    const status = await gdbusCall(bus.address, path, "org.freedesktop.DBus.Properties.Get", [
      CONTAINER_INTERFACE,
      "Status",
    ]);
    assert.equal(status.stdout.trim(), "(<'paused'>,)");
    assert.equal((await runInteractive(bus.address, path, "Resume")).code, 0);
  });

  test("polkit saying no is AccessDenied", async () => {
    mode = "deny";
    const refused = await runInteractive(bus.address, path, "Kill", ["all", "9"]);
    assert.equal(refused.code, 1);
    assert.ok(refused.stderr.includes(DENIED), refused.stderr);
    mode = "grant-if-interactive";
  });
});

/** gdbus call -i as nobody: the call allows interactive authorization. */
function runInteractive(address: string, path: string, member: string, args: string[] = []) {
  return gdbusCall(address, path, `${CONTAINER_INTERFACE}.${member}`, ["--interactive", ...args], true);
}

describe("authorization through the real polkitd", () => {
  let bus: TestBus;
  let polkitd: ChildProcess | undefined;
  let polkitOutput = "";

  before(async () => {
    bus = await startBus({ extraConfig: `<include>${POLKIT_BUS_POLICY}</include>` });
    // polkitd starts as root and switches to its own user; it finds the bus through the environment.
    polkitd = spawn(POLKITD, ["--no-debug"], {
      env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: bus.address },
      stdio: ["ignore", "pipe", "pipe"],
    });
    polkitd.stdout!.on("data", (chunk: Buffer) => {
      polkitOutput += chunk.toString();
    });
    polkitd.stderr!.on("data", (chunk: Buffer) => {
      polkitOutput += chunk.toString();
    });
  });
  // As above: berthd on that bus, stopped before it.
  const daemon = sharedBerthd(() => ({ bus }));
  before(() => waitForName(daemon.client, polkitd, () => polkitOutput, 20_000, "org.freedesktop.PolicyKit1"));
  after(async () => {
    polkitd?.kill("SIGTERM");
    await bus?.stop();
  });

  test("polkit is asked, and without the action installed on this host the answer is AccessDenied", async () => {
    const refused = await gdbusCall(
      bus.address,
      MANAGER_PATH,
      `${MANAGER_INTERFACE}.CreateContainer`,
      ["--interactive", uniqueId("pk"), "/nonexistent", "{}"],
      true,
    );
    assert.equal(refused.code, 1);
    assert.ok(refused.stderr.includes(DENIED), refused.stderr);
    // polkitd's own answer is passed on: the action is not registered on this (test) host.
    assert.match(refused.stderr, /polkit: Action org\.berth\.supervisor1\.manage is not registered/);
  });
});
