// The systemd sandbox itself: it boots a real systemd 252 with journald and a system bus, scopes and
// runc's systemd cgroup driver work inside, two sandboxes do not see each other, and down() leaves
// nothing behind.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { callWithTimeout, connectBus, Message } from "../../src/common/bus.js";
import { makeBundle, uniqueId } from "../fixtures/bundle.js";
import { poll } from "../systemd/helpers.js";
import { CHECKOUT, Sandbox } from "./sandbox.js";

const sandbox = new Sandbox();

before(async () => {
  const started = Date.now();
  await sandbox.up();
  process.stderr.write(`sandbox: booted in ${Date.now() - started} ms\n`);
});
after(() => sandbox.down());

/** Host paths of the sandbox's cgroups (one per hierarchy). */
function cgroupsOf(dir: string): string[] {
  return readFileSync(join(dir, "cgroups"), "utf8").trim().split("\n");
}

test("systemd is PID 1 inside and the system is running", async () => {
  assert.equal((await sandbox.execOk("systemctl", ["is-system-running"])).trim(), "running");
  assert.equal((await sandbox.execOk("cat", ["/proc/1/comm"])).trim(), "systemd");
  // The sandbox's mounts live in its own mount namespace only.
  assert.ok(!readFileSync("/proc/self/mounts", "utf8").includes(sandbox.dir));
});

test("exec() runs in the sandbox's root, in the given directory, with the given input", async () => {
  const result = await sandbox.exec("sh", ["-c", "pwd; cat; test -e /run/systemd/private"], {
    cwd: "/run/systemd",
    input: "from stdin\n",
  });
  assert.deepEqual(result, { code: 0, stdout: "/run/systemd\nfrom stdin\n", stderr: "" });
});

test("exec() runs as a user made in the sandbox, whom systemd then asks polkit about", async () => {
  // useradd wants a short name that starts with a letter.
  const user = `u${uniqueId("x").slice(2, 12)}`;
  await sandbox.execOk("useradd", ["--create-home", user]);
  const who = await sandbox.exec("sh", ["-c", "id -un; pwd"], { user, cwd: `/home/${user}` });
  assert.deepEqual(who, { code: 0, stdout: `${user}\n/home/${user}\n`, stderr: "" });
  const refused = await sandbox.exec("systemctl", ["--no-ask-password", "start", "dbus.service"], { user });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /[Ii]nteractive authentication required|[Aa]ccess denied/);
});

test("journald stores what systemd-cat sends", async () => {
  const marker = uniqueId("journal");
  await sandbox.execOk("systemd-cat", ["-t", "berth-sandbox-test", "-p", "warning", "echo", marker]);
  const found = await poll(
    "the journal line",
    async () => {
      const out = await sandbox.execOk("journalctl", [
        "-t",
        "berth-sandbox-test",
        "-o",
        "json",
        "--no-pager",
      ]);
      return out
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Record<string, string>)
        .find((entry) => entry.MESSAGE === marker);
    },
    10_000,
  );
  assert.equal(found.PRIORITY, "4");
});

test("systemd-run --scope puts a command in a transient scope", async () => {
  const unit = `${uniqueId("scope")}.scope`;
  const out = await sandbox.execOk("systemd-run", [
    "--scope",
    `--unit=${unit}`,
    "--",
    "cat",
    "/proc/self/cgroup",
  ]);
  assert.match(out, new RegExp(`^\\d+:name=systemd:/system\\.slice/${unit.replace(/\./g, "\\.")}$`, "m"));
});

test("the system bus is reachable from the host at busAddress", async () => {
  const bus = await connectBus(sandbox.busAddress);
  try {
    const reply = await callWithTimeout(
      bus,
      new Message({
        destination: "org.freedesktop.systemd1",
        path: "/org/freedesktop/systemd1",
        interface: "org.freedesktop.DBus.Properties",
        member: "Get",
        signature: "ss",
        body: ["org.freedesktop.systemd1.Manager", "Virtualization"],
      }),
    );
    // What container=other makes systemd detect: proof that this is the sandbox's systemd.
    assert.equal(reply?.body[0].value, "container-other");
  } finally {
    bus.disconnect();
  }
});

test("runc runs a busybox container with the systemd cgroup driver in berth.slice", async (t) => {
  const id = uniqueId("sbx");
  const bundle = await makeBundle({ args: ["sleep", "300"], cgroupsPath: `berth.slice:berth:${id}` });
  t.after(() => bundle.remove());
  const path = join(sandbox.sharedDir, id);
  await cp(bundle.path, path, { recursive: true, verbatimSymlinks: true });
  // The detached container keeps runc's stdio: a pipe to us would never close.
  const run = await sandbox.exec("sh", [
    "-c",
    `runc --systemd-cgroup run -d --bundle ${path} ${id} </dev/null >${path}/runc.log 2>&1`,
  ]);
  assert.equal(run.code, 0, readFileSync(join(path, "runc.log"), "utf8"));
  const state = JSON.parse(await sandbox.execOk("runc", ["state", id])) as { status: string };
  assert.equal(state.status, "running");
  const unit = `berth-${id}.scope`;
  const show = await sandbox.execOk("systemctl", ["show", "-p", "ActiveState,Slice,ControlGroup", unit]);
  assert.match(show, /^ActiveState=active$/m);
  assert.match(show, /^Slice=berth\.slice$/m);
  assert.match(show, new RegExp(`^ControlGroup=/berth\\.slice/${unit.replace(/\./g, "\\.")}$`, "m"));
  await sandbox.execOk("runc", ["delete", "--force", id]);
  // Once its last process is gone the scope is collected.
  await poll(
    "the scope to go",
    async () => {
      const r = await sandbox.exec("systemctl", ["is-active", unit]);
      return r.stdout.trim() === "active" ? undefined : true;
    },
    10_000,
  );
});

test("the CLI boots a sandbox that outlives it, runs commands in it and tears it down", async () => {
  const cli = join(CHECKOUT, "dist/test/sandbox/cli.js");
  const up = spawnSync(process.execPath, [cli, "up"], { encoding: "utf8" });
  assert.equal(up.status, 0, up.stderr);
  const dir = up.stdout.trim();
  try {
    const running = spawnSync(process.execPath, [cli, "exec", dir, "systemctl", "is-system-running"], {
      encoding: "utf8",
    });
    assert.deepEqual([running.status, running.stdout], [0, "running\n"]);
    const failing = spawnSync(process.execPath, [cli, "exec", dir, "sh", "-c", "echo oops >&2; exit 7"], {
      encoding: "utf8",
    });
    assert.deepEqual([failing.status, failing.stderr], [7, "oops\n"]);
  } finally {
    const down = spawnSync(process.execPath, [cli, "down", dir], { encoding: "utf8" });
    assert.equal(down.status, 0, down.stderr);
  }
  assert.equal(existsSync(dir), false);
});

test("a sandbox whose owner was SIGKILLed is collected by the next up()", async () => {
  const owner = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import { Sandbox } from ${JSON.stringify(join(CHECKOUT, "dist/test/sandbox/sandbox.js"))};
       const s = new Sandbox(); await s.up(); console.log(JSON.stringify({ dir: s.dir, pid: s.pid }));
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    owner.stdout.setEncoding("utf8").once("data", resolve);
    owner.once("exit", () => reject(new Error("the owner died before its sandbox was up")));
  });
  const { dir, pid } = JSON.parse(line) as { dir: string; pid: number };
  owner.kill("SIGKILL");
  await new Promise((done) => owner.once("exit", done));
  assert.ok(existsSync(`/proc/${pid}`), "SIGKILL left the orphan running");
  // Another test file's up() may collect it first: either way it must be gone.
  await Sandbox.collectOrphans();
  assert.equal(existsSync(`/proc/${pid}`), false);
  assert.equal(existsSync(dir), false);
});

test("a second sandbox at the same time sees nothing of the first, and down() leaves nothing", async () => {
  const other = new Sandbox();
  await other.up();
  const { dir, pid } = other;
  let downed = false;
  try {
    const unit = `${uniqueId("only-here")}.service`;
    await other.execOk("systemd-run", [`--unit=${unit}`, "sleep", "300"]);
    assert.equal((await other.exec("systemctl", ["is-active", unit])).stdout.trim(), "active");
    assert.notEqual((await sandbox.exec("systemctl", ["is-active", unit])).stdout.trim(), "active");
    // The service's host pid, from the host's view of the second sandbox's cgroups.
    const systemdCgroup = cgroupsOf(dir).find((cg) => cg.startsWith("/sys/fs/cgroup/systemd/"));
    assert.ok(systemdCgroup !== undefined);
    const sleepPid = Number(
      readFileSync(join(systemdCgroup, "system.slice", unit, "cgroup.procs"), "utf8").trim(),
    );
    assert.ok(sleepPid > 0);

    await other.down();
    downed = true;
    assert.equal(existsSync(`/proc/${pid}`), false, "PID 1 is gone");
    assert.equal(existsSync(`/proc/${sleepPid}`), false, "the service's process is gone");
    assert.equal(existsSync(systemdCgroup), false, "the cgroups are gone");
    assert.equal(existsSync(dir), false, "the temp dir is gone");
    assert.ok(!readFileSync("/proc/self/mounts", "utf8").includes(dir), "no mount is left");
    // The first sandbox is untouched.
    assert.equal((await sandbox.execOk("systemctl", ["is-system-running"])).trim(), "running");
  } finally {
    if (!downed) await other.down();
  }
});
