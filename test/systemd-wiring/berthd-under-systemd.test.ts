// The real berthd (dist/src/berthd/main.js from this checkout, bind-mounted into the sandbox at the same
// path) as berthd.service under the sandbox's systemd 252, with the shipped units: Type=notify start
// (READY=1), a transient scope per shim in berth.slice (exec shims too), containers in berth-<id>.scope
// through runc's systemd cgroup driver, runc start that does not hang on NOTIFY_SOCKET, the container's
// oom_score_adj reset, `systemctl restart berthd` touching berthd only, the peer-to-peer socket through
// berthd.socket, and a delete that leaves no unit behind.
//
// A drop-in gives berthd.service OOMScoreAdjust=300 instead of the shipped -500: lowering the value
// takes CAP_SYS_RESOURCE, which this machine's root lacks (systemd would silently leave 0, and the
// reset would prove nothing); raising it needs no privilege. The shim must keep 300, the container 0.

import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { connectBus, type MessageBus, Variant } from "../../src/common/bus.js";
import { containerPath, MANAGER_INTERFACE, MANAGER_PATH } from "../../src/common/bus-path.js";
import { makeBundle, uniqueId } from "../fixtures/bundle.js";
import { callMethod, getProperty } from "../helpers/dbus.js";
import { CHECKOUT, Sandbox } from "../sandbox/sandbox.js";
import { show } from "../systemd/helpers.js";
import { CHECKOUT_FILES, reloadUnitsAndBus } from "../systemd/install.js";

const CONTAINER = "org.berth.Supervisor1.Container";
const PROCESS = "org.berth.Supervisor1.Process";

const sandbox = new Sandbox();
let bus: MessageBus | undefined;
let bundlePath = "";

const DROP_IN = `[Service]
OOMScoreAdjust=300
`;

async function waitGone(unit: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await show(sandbox, unit, "LoadState")).LoadState !== "not-found") {
    if (Date.now() > deadline) assert.fail(`${unit} is still loaded`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** The process's cgroup path in the systemd (name=systemd) hierarchy, as the sandbox sees it. */
async function cgroupOf(pid: number): Promise<string> {
  const lines = (await sandbox.execOk("cat", [`/proc/${pid}/cgroup`])).split("\n");
  const line = lines.find((l) => l.includes(":name=systemd:")) ?? lines.find((l) => l.startsWith("0::"));
  // "ID:controllers:path"; the path itself may hold ':' (an exec shim's scope).
  return line?.split(":").slice(2).join(":") ?? "";
}

async function oomScoreAdj(pid: number): Promise<number> {
  return Number((await sandbox.execOk("cat", [`/proc/${pid}/oom_score_adj`])).trim());
}

/**
 * Waits until berthd.service's cgroup (sub-cgroups included) holds berthd and its launcher only:
 * "pid ppid cmdline" lines of every other process when it does not in time. A launcher of a killed
 * berthd may stay a moment, until the shims it started have reported.
 */
async function othersInService(mainPid: string, cgroup: string, timeoutMs = 15_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const procs = await sandbox.execOk("sh", [
      "-c",
      `for p in $(cat /sys/fs/cgroup/systemd${cgroup}/cgroup.procs; ` +
        `find /sys/fs/cgroup/systemd${cgroup} -mindepth 2 -name cgroup.procs -exec cat {} +); do ` +
        `echo "$p $(cut -d' ' -f4 /proc/$p/stat 2>/dev/null) $(cat /proc/$p/cmdline 2>/dev/null | tr '\\0' ' ')"; ` +
        "done; true",
    ]);
    const others = procs
      .trim()
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith(`${mainPid} `))
      .filter((line) => !(line.split(" ")[1] === mainPid && line.includes("berth-shim --launcher")));
    if (others.length === 0 || Date.now() > deadline) return others;
    await new Promise((done) => setTimeout(done, 200));
  }
}

async function journal(): Promise<string> {
  return (await sandbox.exec("journalctl", ["-u", "berthd", "--no-pager", "-o", "cat"])).stdout;
}

before(async () => {
  await sandbox.up();
  for (const [from, to] of CHECKOUT_FILES) {
    await sandbox.execOk("install", ["-D", "-m", "0644", join(CHECKOUT, from), to]);
  }
  // The checkout's berthd as the package's launcher would run it; exec keeps it the main process.
  await sandbox.execOk("sh", [
    "-c",
    `mkdir -p /usr/lib/berth /etc/systemd/system/berthd.service.d && ` +
      `printf '#!/bin/sh\\nexec node ${CHECKOUT}/dist/src/berthd/main.js "$@"\\n' >/usr/lib/berth/berthd && ` +
      `chmod 755 /usr/lib/berth/berthd && ` +
      `printf '${DROP_IN.replace(/\n/g, "\\n")}' >/etc/systemd/system/berthd.service.d/test.conf`,
  ]);
  await sandbox.execOk("systemd-tmpfiles", ["--create", "/etc/tmpfiles.d/berth.conf"]);
  await reloadUnitsAndBus(sandbox);
  const bundle = await makeBundle({ args: ["sleep", "1000"] });
  bundlePath = join(sandbox.sharedDir, "bundle");
  await cp(bundle.path, bundlePath, { recursive: true, verbatimSymlinks: true });
  await bundle.remove();
});

after(async () => {
  bus?.disconnect();
  // Everything berthd started lives in the sandbox and dies with it.
  await sandbox.down();
});

test("berthd.service starts (READY=1 after the name), shims get scopes, containers run under systemd", async () => {
  // Type=notify: systemctl start returns once READY=1 has arrived, and fails if it never does.
  await sandbox.execOk("systemctl", ["start", "berthd.service"], { timeoutMs: 60_000 });
  const service = await show(sandbox, "berthd.service", "ActiveState", "StatusText", "MainPID");
  assert.equal(service.ActiveState, "active", await journal());
  assert.match(service.StatusText ?? "", /^0 containers, 0 starting, 0 queued$/);
  assert.match(await journal(), /socket activation/, "berthd.socket's fd was served");
  bus = await connectBus(sandbox.busAddress);

  // RunContainer: runc --systemd-cgroup create (in the shim) and start (from berthd) must both return.
  const id = uniqueId("wired");
  const [path] = await callMethod(
    bus,
    MANAGER_PATH,
    MANAGER_INTERFACE,
    "RunContainer",
    "ssa{sv}",
    [id, bundlePath, { LogDriver: new Variant("s", "journald") }],
    { timeoutMs: 60_000 },
  );
  assert.equal(path, containerPath(id));
  const unit = await getProperty(bus, containerPath(id), CONTAINER, "Unit");
  assert.equal(unit, `berth-shim-${id}.scope`);
  const shimPid = (await getProperty(bus, containerPath(id), CONTAINER, "ShimPid")) as number;
  const pid = (await getProperty(bus, containerPath(id), CONTAINER, "Pid")) as number;

  // The shim is in its scope, not in berthd.service's cgroup; the container in berth-<id>.scope.
  assert.deepEqual(await show(sandbox, unit as string, "ActiveState", "Slice", "CollectMode"), {
    ActiveState: "active",
    Slice: "berth.slice",
    CollectMode: "inactive-or-failed",
  });
  assert.equal(await cgroupOf(shimPid), `/berth.slice/${unit}`);
  assert.equal(await cgroupOf(pid), `/berth.slice/berth-${id}.scope`);
  const status = await sandbox.exec("systemctl", ["status", "--no-pager", `berth-${id}.scope`]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, new RegExp(`${pid} sleep 1000`), "systemctl status shows the container");

  // OOMScoreAdjust is berthd's and its shims', never the container's.
  assert.equal(await oomScoreAdj(Number(service.MainPID)), 300);
  assert.equal(await oomScoreAdj(shimPid), 300);
  assert.equal(await oomScoreAdj(pid), 0);

  // An exec'd process's shim gets its own scope; ':' keeps the unit name unambiguous.
  const [processPath] = await callMethod(bus, containerPath(id), CONTAINER, "Exec", "sa{sv}", [
    "probe",
    { Args: new Variant("as", ["sleep", "1000"]) },
  ]);
  const execShim = Number(
    (await sandbox.execOk("cat", [`/run/berth/containers/${id}/processes/probe/shim.pid`])).trim(),
  );
  const execUnit = `berth-shim-${id}:probe.scope`;
  assert.equal(await cgroupOf(execShim), `/berth.slice/${execUnit}`);
  assert.equal((await show(sandbox, execUnit, "ActiveState")).ActiveState, "active");

  // The peer-to-peer socket, socket-activated through berthd.socket.
  const tree = await sandbox.execOk("busctl", [
    "--address=unix:path=/run/berth/private",
    "tree",
    "org.berth.Supervisor1",
  ]);
  assert.match(tree, new RegExp(containerPath(id).replace(/[.]/g, "\\.")));

  // `systemctl restart berthd` touches berthd only; the new one re-attaches with the same pids and unit.
  await sandbox.execOk("systemctl", ["restart", "berthd.service"], { timeoutMs: 60_000 });
  const restarted = await show(sandbox, "berthd.service", "ActiveState", "MainPID", "StatusText");
  assert.equal(restarted.ActiveState, "active");
  assert.notEqual(restarted.MainPID, service.MainPID, "berthd was restarted");
  assert.equal(restarted.StatusText, "1 containers, 0 starting, 0 queued");
  bus.disconnect();
  bus = await connectBus(sandbox.busAddress);
  assert.equal(await getProperty(bus, containerPath(id), CONTAINER, "Status"), "running");
  assert.equal(await getProperty(bus, containerPath(id), CONTAINER, "Pid"), pid);
  assert.equal(await getProperty(bus, containerPath(id), CONTAINER, "ShimPid"), shimPid);
  assert.equal(await getProperty(bus, containerPath(id), CONTAINER, "Unit"), unit);
  assert.equal(await getProperty(bus, processPath as string, PROCESS, "Status"), "running");
  await sandbox.execOk("kill", ["-0", String(shimPid), String(pid), String(execShim)]);

  // Kill, wait, delete: no unit is left behind (scopes collected or stopped).
  await callMethod(bus, containerPath(id), CONTAINER, "Kill", "si", ["all", 9]);
  assert.deepEqual(await callMethod(bus, containerPath(id), CONTAINER, "Wait"), [137]);
  await callMethod(bus, containerPath(id), CONTAINER, "Delete");
  await waitGone(unit as string);
  await waitGone(execUnit);
  await waitGone(`berth-${id}.scope`);
});

test("a created container deleted at once leaves no unit either", async () => {
  assert.ok(bus, "the previous test connected");
  const id = uniqueId("created");
  await callMethod(bus, MANAGER_PATH, MANAGER_INTERFACE, "CreateContainer", "ssa{sv}", [id, bundlePath, {}], {
    timeoutMs: 60_000,
  });
  const unit = (await getProperty(bus, containerPath(id), CONTAINER, "Unit")) as string;
  assert.equal(unit, `berth-shim-${id}.scope`);
  await callMethod(bus, containerPath(id), CONTAINER, "Delete");
  await waitGone(unit);
  await waitGone(`berth-${id}.scope`);
});

for (const runtime of ["runc", "crun"]) {
  test(`${runtime} with the systemd cgroup driver: berth-<id>.scope, GetStats, delete`, async () => {
    assert.ok(bus, "the first test connected");
    const id = uniqueId(runtime);
    await callMethod(
      bus,
      MANAGER_PATH,
      MANAGER_INTERFACE,
      "RunContainer",
      "ssa{sv}",
      [id, bundlePath, { Runtime: new Variant("s", runtime) }],
      { timeoutMs: 60_000 },
    );
    const pid = (await getProperty(bus, containerPath(id), CONTAINER, "Pid")) as number;
    // crun puts the process in a "container" sub-cgroup of the scope it makes.
    assert.match(await cgroupOf(pid), new RegExp(`^/berth\\.slice/berth-${id}\\.scope(/container)?$`));
    assert.equal((await show(sandbox, `berth-${id}.scope`, "ActiveState")).ActiveState, "active");
    const [stats] = (await callMethod(bus, containerPath(id), CONTAINER, "GetStats")) as [
      Record<string, Variant<bigint>>,
    ];
    assert.ok((stats.MemoryCurrent?.value ?? 0n) > 0n, "memory is accounted to the container");
    assert.equal(stats.Pids?.value, 1n);
    await callMethod(bus, containerPath(id), CONTAINER, "Kill", "si", ["all", 9]);
    await callMethod(bus, containerPath(id), CONTAINER, "Wait");
    await callMethod(bus, containerPath(id), CONTAINER, "Delete");
    await waitGone(`berth-shim-${id}.scope`);
    await waitGone(`berth-${id}.scope`);
  });
}

for (const how of ["systemctl restart", "SIGKILL"] as const) {
  test(`${how} in the middle of creates leaves no shim in berthd.service's cgroup`, async (t) => {
    assert.ok(bus, "the first test connected");
    const client = bus;
    const ids = Array.from({ length: 8 }, () => uniqueId("race"));
    // Creates in flight when berthd is restarted fail for their caller (the connection goes); that is fine.
    const creates = ids.map((id) =>
      callMethod(client, MANAGER_PATH, MANAGER_INTERFACE, "RunContainer", "ssa{sv}", [id, bundlePath, {}], {
        timeoutMs: 60_000,
      }).catch(() => undefined),
    );
    await new Promise((done) => setTimeout(done, 150));
    const before = (await show(sandbox, "berthd.service", "MainPID")).MainPID;
    if (how === "SIGKILL") {
      // The main process only (as a crash would): shims still in the service's cgroup must survive it.
      await sandbox.execOk("systemctl", ["kill", "--kill-whom=main", "--signal=SIGKILL", "berthd.service"]);
      const deadline = Date.now() + 30_000;
      for (;;) {
        const now = await show(sandbox, "berthd.service", "ActiveState", "MainPID");
        if (now.ActiveState === "active" && now.MainPID !== before && now.MainPID !== "0") break;
        if (Date.now() > deadline) assert.fail(`berthd was not restarted: ${JSON.stringify(now)}`);
        await new Promise((done) => setTimeout(done, 100));
      }
    } else {
      await sandbox.execOk("systemctl", ["restart", "berthd.service"], { timeoutMs: 60_000 });
    }
    await Promise.all(creates);
    bus.disconnect();
    bus = await connectBus(sandbox.busAddress);
    const { MainPID, ControlGroup } = await show(sandbox, "berthd.service", "MainPID", "ControlGroup");
    assert.deepEqual(
      await othersInService(MainPID, ControlGroup),
      [],
      "only berthd and its launcher are in berthd.service",
    );
    const [list] = (await callMethod(bus, MANAGER_PATH, MANAGER_INTERFACE, "ListContainers")) as [
      [string, string, number, string][],
    ];
    const ours = list.filter(([id]) => ids.includes(id));
    const log = await journal();
    t.diagnostic(
      `${ours.length} of ${ids.length} containers exist after the ${how}; ` +
        `${log.split("still in berthd's cgroup; moved").length - 1} shim(s) moved into their scope by recovery`,
    );
    for (const [id, status] of ours) {
      if (status !== "stopped") {
        const shimPid = (await getProperty(bus, containerPath(id), CONTAINER, "ShimPid")) as number;
        assert.equal(await cgroupOf(shimPid), `/berth.slice/berth-shim-${id}.scope`, `shim of ${id}`);
        assert.equal(
          await getProperty(bus, containerPath(id), CONTAINER, "Unit"),
          `berth-shim-${id}.scope`,
          `${id}: ${await journal()}`,
        );
        if (status !== "created")
          await callMethod(bus, containerPath(id), CONTAINER, "Kill", "si", ["all", 9]);
        if (status !== "created") await callMethod(bus, containerPath(id), CONTAINER, "Wait");
      }
      await callMethod(bus, containerPath(id), CONTAINER, "Delete");
      await waitGone(`berth-shim-${id}.scope`);
    }
  });
}
