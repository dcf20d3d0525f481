// Journald and authorization under a real systemd, dbus-daemon, journald and polkitd (issue 4,
// "Journald and authorization"): container output with the journald log driver is found by
// `journalctl CONTAINER_ID=<id>` at the right priorities, berthd's own lines are in `journalctl -u
// berthd` at theirs; a non-root user of the sandbox may read but not change anything until a polkit
// rule grants it org.berth.supervisor1.manage.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Variant } from "../../src/common/bus.js";
import { containerPath } from "../../src/common/bus-path.js";
import { CHECKOUT, Sandbox } from "../sandbox/sandbox.js";
import {
  BUS_NAME,
  BundleFarm,
  CONTAINER_INTERFACE,
  listContainers,
  MANAGER_INTERFACE,
  MANAGER_PATH,
  poll,
  property,
  runMany,
  systemBus,
} from "./helpers.js";
import { installBerth } from "./install.js";

const sandbox = new Sandbox();
let farm: BundleFarm;
const USER = "ops";

before(async () => {
  await sandbox.up();
  await installBerth(sandbox);
  const start = await sandbox.exec("systemctl", ["start", "berthd.service"], { timeoutMs: 60_000 });
  assert.equal(start.code, 0, `systemctl start berthd: ${start.stderr}`);
  farm = await BundleFarm.create(sandbox);
  await sandbox.execOk("useradd", ["--create-home", USER]);
});

after(() => sandbox.down());

type Entry = Record<string, string>;

async function journal(args: string[]): Promise<Entry[]> {
  const out = await sandbox.execOk("journalctl", ["--no-pager", "-o", "json", ...args]);
  return out
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Entry);
}

test("container output with the journald driver: journalctl CONTAINER_ID=<id>, stdout at 6, stderr at 3", async () => {
  const id = "journaled";
  const bus = await systemBus(sandbox);
  try {
    await runMany(bus, farm, [id], ["sh", "-c", "echo to-stdout; echo to-stderr >&2; sleep 100000"], 1, {
      LogDriver: new Variant("s", "journald"),
    });
    assert.equal(await property(bus, containerPath(id), CONTAINER_INTERFACE, "LogDriver"), "journald");
  } finally {
    bus.disconnect();
  }
  const entries = await poll("both lines in the journal", async () => {
    const found = await journal([`CONTAINER_ID=${id}`]);
    return found.length >= 2 ? found : undefined;
  });
  const byText = new Map(entries.map((e) => [e.MESSAGE, e]));
  assert.equal(byText.get("to-stdout")?.PRIORITY, "6", JSON.stringify(entries));
  assert.equal(byText.get("to-stderr")?.PRIORITY, "3", JSON.stringify(entries));
  for (const e of entries) {
    assert.equal(e.CONTAINER_ID, id);
    assert.equal(e.CONTAINER_NAME, id);
    assert.ok((e.SYSLOG_IDENTIFIER ?? "") !== "", "SYSLOG_IDENTIFIER is set");
  }
  // The plain text, as an admin reads it.
  const text = await sandbox.execOk("journalctl", ["--no-pager", "-o", "cat", `CONTAINER_ID=${id}`]);
  assert.deepEqual(text.trim().split("\n").sort(), ["to-stderr", "to-stdout"]);
});

test("berthd's own lines are in journalctl -u berthd with their priorities, no <N> prefix left", async () => {
  // An error on purpose: SIGHUP with a configuration file that does not parse (the old one stays).
  await sandbox.execOk("mkdir", ["-p", "/etc/berth"]);
  await sandbox.execOk("sh", ["-c", "echo 'this is = = not toml' >/etc/berth/berthd.toml"]);
  try {
    await sandbox.execOk("systemctl", ["reload", "berthd.service"]);
    const entries = await poll("the refused reload in the journal", async () => {
      const found = await journal(["-u", "berthd.service"]);
      return found.some((e) => /reload refused/.test(e.MESSAGE ?? "")) ? found : undefined;
    });
    const berthd = entries.filter((e) => e._COMM === "node");
    assert.ok(berthd.length > 0, "berthd (node) wrote lines");
    const ready = entries.find((e) => /^ready: /.test(e.MESSAGE ?? ""));
    assert.equal(ready?.PRIORITY, "6", "info lines at priority 6");
    const refused = entries.find((e) => /reload refused/.test(e.MESSAGE ?? ""));
    assert.equal(refused?.PRIORITY, "3", "error lines at priority 3");
    for (const e of berthd) assert.doesNotMatch(e.MESSAGE ?? "", /^<\d>/, "journald took the prefix");
    assert.equal((await sandbox.exec("systemctl", ["is-active", "berthd.service"])).stdout.trim(), "active");
  } finally {
    await sandbox.execOk("rm", ["-f", "/etc/berth/berthd.toml"]);
  }
});

/** busctl as USER; returns the exit code and stderr (the D-Bus error's text). */
function busctlAs(args: string[], interactive: boolean) {
  return sandbox.exec(
    "busctl",
    [`--allow-interactive-authorization=${interactive ? "yes" : "no"}`, "--timeout=20", ...args],
    { user: USER },
  );
}

interface CallReply {
  ok: boolean;
  error?: string;
  message?: string;
  body?: unknown[];
}

/** One call as USER through call-as.js (dbus-next inside the sandbox), with the exact error name. */
async function callAs(request: Record<string, unknown>): Promise<CallReply> {
  const out = await sandbox.execOk(
    "node",
    [join(CHECKOUT, "dist/test/systemd/call-as.js"), JSON.stringify(request)],
    {
      user: USER,
    },
  );
  return JSON.parse(out) as CallReply;
}

test("a non-root user reads everything, changes nothing; a polkit rule lets it create, start, kill, delete", async () => {
  const bus = await systemBus(sandbox);
  try {
    // A container of root's for the user to try to change.
    await runMany(bus, farm, ["roots"], ["sleep", "100000"], 1);
    const rootsPath = containerPath("roots");
    const bundle = await farm.bundle("users", ["sleep", "100000"]);

    // Reads work.
    const introspect = await busctlAs(["introspect", BUS_NAME, MANAGER_PATH], false);
    assert.equal(introspect.code, 0, introspect.stderr);
    assert.match(introspect.stdout, /\.ListContainers +method/);
    const version = await busctlAs(
      ["get-property", BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "Version"],
      false,
    );
    assert.equal(version.code, 0, version.stderr);
    const list = await busctlAs(["call", BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "ListContainers"], false);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /"roots" "running"/);
    const status = await busctlAs(
      ["get-property", BUS_NAME, rootsPath, CONTAINER_INTERFACE, "Status"],
      false,
    );
    assert.equal(status.stdout.trim(), 's "running"');

    // Every change is refused: InteractiveAuthorizationRequired when the caller does not allow
    // interaction (auth_admin_keep is a challenge polkit could put), AccessDenied when it does (there is
    // no agent here to ask the user). busctl shows the message; call-as.js the exact error name.
    const changes: [string, string, string, string, unknown[]][] = [
      ["CreateContainer", MANAGER_PATH, MANAGER_INTERFACE, "ssa{sv}", ["users", bundle, {}]],
      ["RunContainer", MANAGER_PATH, MANAGER_INTERFACE, "ssa{sv}", ["users", bundle, {}]],
      ["Kill", rootsPath, CONTAINER_INTERFACE, "si", ["all", 9]],
      ["Pause", rootsPath, CONTAINER_INTERFACE, "", []],
      ["Start", rootsPath, CONTAINER_INTERFACE, "", []],
      ["Delete", rootsPath, CONTAINER_INTERFACE, "", []],
      ["Exec", rootsPath, CONTAINER_INTERFACE, "sa{sv}", ["x", { Args: { $variant: ["as", ["true"]] } }]],
      ["CloseStdin", rootsPath, CONTAINER_INTERFACE, "", []],
      ["Resize", rootsPath, CONTAINER_INTERFACE, "uu", [80, 24]],
    ];
    for (const [member, path, iface, signature, body] of changes) {
      for (const interactive of [false, true]) {
        const reply = await callAs({ path, iface, member, signature, body, interactive });
        assert.deepEqual(
          [reply.ok, reply.error],
          [
            false,
            interactive
              ? "org.freedesktop.DBus.Error.AccessDenied"
              : "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
          ],
          `${member} (interaction ${interactive ? "allowed" : "not allowed"}): ${reply.message}`,
        );
      }
    }
    const setMax = await callAs({
      path: MANAGER_PATH,
      iface: "org.freedesktop.DBus.Properties",
      member: "Set",
      signature: "ssv",
      body: [MANAGER_INTERFACE, "MaxConcurrentStarts", { $variant: ["u", 1] }],
      interactive: false,
    });
    assert.deepEqual(
      [setMax.ok, setMax.error],
      [false, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"],
    );
    // And as an admin sees it with busctl (which allows interaction unless told not to).
    for (const interactive of [false, true]) {
      const kill = await busctlAs(
        ["call", BUS_NAME, rootsPath, CONTAINER_INTERFACE, "Kill", "si", "all", "9"],
        interactive,
      );
      assert.notEqual(kill.code, 0);
      assert.match(
        kill.stderr,
        interactive ? /not authorized|Access denied/ : /needs interactive authorization/,
        kill.stderr,
      );
    }
    // Refused calls left nothing behind and changed nothing.
    const after = await listContainers(bus);
    assert.ok(!after.has("users"), "no container made by a refused call");
    assert.equal(after.get("roots")?.status, "running");
    assert.notEqual(await property(bus, MANAGER_PATH, MANAGER_INTERFACE, "MaxConcurrentStarts"), 1);

    // A polkit rule for the user: the same calls now work.
    await sandbox.execOk("sh", ["-c", "cat >/etc/polkit-1/rules.d/50-berth-ops.rules"], {
      input: `polkit.addRule(function (action, subject) {\n  if (action.id == "org.berth.supervisor1.manage" && subject.user == "${USER}") return polkit.Result.YES;\n});\n`,
    });
    const usersPath = containerPath("users");
    await poll(
      "polkitd to load the rule",
      async () => {
        const r = await busctlAs(
          [
            "call",
            BUS_NAME,
            MANAGER_PATH,
            MANAGER_INTERFACE,
            "CreateContainer",
            "ssa{sv}",
            "users",
            bundle,
            "0",
          ],
          false,
        );
        return r.code === 0 ? r : undefined;
      },
      20_000,
    );
    assert.equal(await property(bus, usersPath, CONTAINER_INTERFACE, "Status"), "created");
    const start = await busctlAs(["call", BUS_NAME, usersPath, CONTAINER_INTERFACE, "Start"], false);
    assert.equal(start.code, 0, start.stderr);
    assert.equal(await property(bus, usersPath, CONTAINER_INTERFACE, "Status"), "running");
    const kill = await busctlAs(
      ["call", BUS_NAME, usersPath, CONTAINER_INTERFACE, "Kill", "si", "all", "9"],
      false,
    );
    assert.equal(kill.code, 0, kill.stderr);
    const wait = await busctlAs(["call", BUS_NAME, usersPath, CONTAINER_INTERFACE, "Wait"], false);
    assert.equal(wait.stdout.trim(), "i 137");
    const del = await busctlAs(["call", BUS_NAME, usersPath, CONTAINER_INTERFACE, "Delete"], false);
    assert.equal(del.code, 0, del.stderr);
    assert.ok(!(await listContainers(bus)).has("users"), "deleted by the user");
  } finally {
    bus.disconnect();
  }
});
