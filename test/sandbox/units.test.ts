// The shipped systemd, D-Bus and polkit files, installed in the sandbox as the package will install
// them, with a stand-in berthd (berthd-standin.js) as /usr/lib/berth/berthd: they verify, D-Bus
// activation starts berthd.service, the socket is passed, and under berthd.service's settings a
// supervisor can put a shim in its scope and run a container that both outlive `systemctl restart`.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { cp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { makeBundle, uniqueId } from "../fixtures/bundle.js";
import { poll, show } from "../systemd/helpers.js";
import { CHECKOUT_FILES, reloadUnitsAndBus } from "../systemd/install.js";
import { CHECKOUT, Sandbox } from "./sandbox.js";

const sandbox = new Sandbox();

before(async () => {
  await sandbox.up();
  for (const [from, to] of CHECKOUT_FILES)
    await sandbox.execOk("install", ["-D", "-m", "0644", join(CHECKOUT, from), to]);
  await sandbox.execOk("sh", [
    "-c",
    `mkdir -p /usr/lib/berth && printf '#!/bin/sh\\nexec node ${CHECKOUT}/dist/test/sandbox/berthd-standin.js\\n' >/usr/lib/berth/berthd && chmod 755 /usr/lib/berth/berthd`,
  ]);
  await reloadUnitsAndBus(sandbox);
});
after(() => sandbox.down());

const CAP_SYS_RESOURCE = 24;

function hasCapability(bit: number): boolean {
  const line = readFileSync("/proc/self/status", "utf8").match(/^CapBnd:\s*([0-9a-f]+)$/m);
  return line !== null && ((BigInt(`0x${line[1]}`) >> BigInt(bit)) & 1n) === 1n;
}

test("systemd-analyze verify finds nothing to say about the units", async () => {
  const units = ["berthd.service", "berthd.socket", "berth.slice"].map(
    (unit) => `/etc/systemd/system/${unit}`,
  );
  const result = await sandbox.exec("systemd-analyze", ["verify", ...units]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr.trim(), "");
});

test("tmpfiles.d makes /run/berth root-only", async () => {
  await sandbox.execOk("systemd-tmpfiles", ["--create", "/etc/tmpfiles.d/berth.conf"]);
  const out = await sandbox.execOk("stat", [
    "-c",
    "%n %a %U",
    "/run/berth",
    "/run/berth/containers",
    "/run/berth/runtime",
  ]);
  assert.equal(out, "/run/berth 700 root\n/run/berth/containers 700 root\n/run/berth/runtime 700 root\n");
});

test("berthd.socket listens on /run/berth/private, mode 0600", async () => {
  await sandbox.execOk("systemctl", ["start", "berthd.socket"]);
  assert.equal(await sandbox.execOk("stat", ["-c", "%F %a %U", "/run/berth/private"]), "socket 600 root\n");
});

test("polkit knows org.berth.supervisor1.manage as auth_admin_keep", async () => {
  const out = await sandbox.execOk("pkaction", ["--action-id", "org.berth.supervisor1.manage", "--verbose"]);
  assert.match(out, /implicit any: +auth_admin_keep/);
  assert.match(out, /implicit active: +auth_admin_keep/);
  // The control: polkit really is asked (it does not know every action).
  assert.notEqual((await sandbox.exec("pkaction", ["--action-id", "org.berth.no-such-action"])).code, 0);
});

test("a call to org.berth.Supervisor1 starts berthd.service, which works with shims and containers across a restart", async (t) => {
  const id = uniqueId("unit");
  const bundle = await makeBundle({ args: ["sleep", "300"], cgroupsPath: `berth.slice:berth:${id}` });
  t.after(() => bundle.remove());
  const path = join(sandbox.sharedDir, id);
  await cp(bundle.path, path, { recursive: true, verbatimSymlinks: true });
  await sandbox.execOk("mkdir", ["-p", "/run/berth-standin"]);
  await writeFile(
    `/proc/${sandbox.pid}/root/run/berth-standin/job.json`,
    JSON.stringify({ id, bundle: path }),
  );

  assert.equal((await show(sandbox, "berthd.service", "ActiveState")).ActiveState, "inactive");
  // Bus activation: the bus asks systemd for berthd.service and holds the call until the name is owned.
  await sandbox.execOk("busctl", ["call", "org.berth.Supervisor1", "/", "org.freedesktop.DBus.Peer", "Ping"]);
  // The stand-in owns the name before it has done its work and sent READY=1.
  const first = await poll("berthd.service to be ready", async () => {
    const s = await show(sandbox, "berthd.service", "ActiveState", "SubState", "StatusText", "MainPID");
    return s.ActiveState === "activating" ? undefined : s;
  });
  assert.equal(first.ActiveState, "active");
  assert.equal(first.SubState, "running");
  assert.equal(first.StatusText, "listening fds: 1", "berthd.socket's fd was passed");
  assert.equal((await show(sandbox, "berthd.service", "OOMScoreAdjust")).OOMScoreAdjust, "-500");
  // Lowering oom_score_adj takes CAP_SYS_RESOURCE, which some hosts (this test machine's session) lack
  // even for root; systemd then leaves it at 0 without failing the start.
  if (hasCapability(CAP_SYS_RESOURCE)) {
    assert.equal((await sandbox.execOk("cat", [`/proc/${first.MainPID}/oom_score_adj`])).trim(), "-500");
  }

  const done = JSON.parse(await sandbox.execOk("cat", ["/run/berth-standin/done.json"])) as {
    unit: string;
    shimPid: number;
    runcStatus: number;
    runcLog: string;
    containerPid: number;
  };
  assert.equal(done.runcStatus, 0, done.runcLog);
  const shimScope = await show(sandbox, done.unit, "ActiveState", "Slice");
  assert.deepEqual(shimScope, { ActiveState: "active", Slice: "berth.slice" });
  const container = await show(sandbox, `berth-${id}.scope`, "ActiveState", "Slice");
  assert.deepEqual(container, { ActiveState: "active", Slice: "berth.slice" });

  await sandbox.execOk("systemctl", ["restart", "berthd.service"]);
  const second = await show(sandbox, "berthd.service", "ActiveState", "MainPID");
  assert.equal(second.ActiveState, "active");
  assert.notEqual(second.MainPID, first.MainPID, "berthd was restarted");
  // KillMode=process and the scopes: the restart touched berthd only.
  await sandbox.execOk("kill", ["-0", String(done.shimPid)]);
  await sandbox.execOk("kill", ["-0", String(done.containerPid)]);
  assert.equal((await show(sandbox, done.unit, "ActiveState")).ActiveState, "active");
  const state = JSON.parse(await sandbox.execOk("runc", ["state", id])) as { status: string; pid: number };
  assert.deepEqual([state.status, state.pid], ["running", done.containerPid]);

  await sandbox.execOk("runc", ["delete", "--force", id]);
  await sandbox.execOk("systemctl", ["stop", done.unit]);
});
