// The Debian package end to end (docs/packaging.md). packaging/build.sh builds two versions of it into
// a private dir under packaging/out (the checkout is visible inside the sandbox at the same path);
// the first one's contents are checked with dpkg-deb; then, in a fresh systemd sandbox: `apt-get
// install ./berth_*.deb` offline, `systemctl start berthd`, containers run with berthctl and seen in
// `busctl tree` and `systemctl status`, an upgrade to the second version restarts berthd and nothing
// else, and `apt-get remove` stops and deletes every container through the runtime and leaves no
// /run/berth and no unit behind. Each step is its own test, so a berthd feature that is missing shows
// as the step that needs it.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { containerPath } from "../../src/common/bus-path.js";
import { type Bundle, makeBundle, uniqueId } from "../fixtures/bundle.js";
import { atExit } from "../fixtures/exit-cleanup.js";
import { CHECKOUT, Sandbox } from "../sandbox/sandbox.js";
import { show } from "../systemd/helpers.js";

const VERSION = (JSON.parse(readFileSync(join(CHECKOUT, "package.json"), "utf8")) as { version: string })
  .version;
const UPGRADE_VERSION = `${VERSION}+upgradetest1`;
/** berthctl over the system bus (the bus policy and D-Bus activation are the package's files). */
const SYSTEM_BUS = "unix:path=/run/dbus/system_bus_socket";
const BUS = "org.berth.Supervisor1";
/** The package's remove-all-containers waits this long for SIGTERM to work (default 10 s). */
const GRACE_SECONDS = 2;

const sandbox = new Sandbox();
mkdirSync(join(CHECKOUT, "packaging/out"), { recursive: true });
const outDir = mkdtempSync(join(CHECKOUT, "packaging/out/test-"));
const bundles: Bundle[] = [];
let deb = "";
let upgradeDeb: Promise<string> = Promise.resolve("");

/** Builds still running: killed (with their npm, tsc, dpkg-deb) if this process ends before they do. */
const builds = new Set<number>();
atExit(() => {
  for (const pid of builds) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {}
  }
  rmSync(outDir, { recursive: true, force: true });
});

/** Runs packaging/build.sh; resolves with the .deb's path (its last line on stdout). */
function build(version: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const script = join(CHECKOUT, "packaging/build.sh");
    const child = spawn("bash", [script, "--version", version, "--out", outDir], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so that the kill above reaches all of it
    });
    if (child.pid !== undefined) builds.add(child.pid);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (child.pid !== undefined) builds.delete(child.pid);
      const path = stdout.trim().split("\n").pop() ?? "";
      if (code === 0 && path.endsWith(".deb")) resolve(path);
      else reject(new Error(`packaging/build.sh ${version} exited ${code}:\n${stderr}`));
    });
  });
}

function dpkgDeb(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("dpkg-deb", args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`dpkg-deb ${args[0]}: ${code}`)),
    );
  });
}

/** The names the sandbox's system bus can start services for, as busctl prints them. */
function activatableNames(): Promise<string> {
  return sandbox.execOk("busctl", [
    "call",
    "org.freedesktop.DBus",
    "/org/freedesktop/DBus",
    "org.freedesktop.DBus",
    "ListActivatableNames",
  ]);
}

/** A property of a container object through the system bus, busctl's text ("s \"running\"" → running). */
async function containerProperty(id: string, property: string): Promise<string> {
  const out = await sandbox.execOk("busctl", [
    "get-property",
    BUS,
    containerPath(id),
    "org.berth.Supervisor1.Container",
    property,
  ]);
  return out
    .trim()
    .replace(/^[a-z]+ /, "")
    .replace(/^"(.*)"$/, "$1");
}

/** apt-get with every network fetch sent to a closed port: it must find everything it needs locally. */
function aptGet(args: string[], env: Record<string, string> = {}) {
  return sandbox.exec(
    "apt-get",
    [
      "-o",
      "Acquire::http::Proxy=http://127.0.0.1:9",
      "-o",
      "Acquire::https::Proxy=http://127.0.0.1:9",
      "-o",
      "Acquire::Retries=0",
      "-y",
      ...args,
    ],
    { env: { DEBIAN_FRONTEND: "noninteractive", ...env }, timeoutMs: 90_000 },
  );
}

async function runningBundle(script: string): Promise<{ id: string; path: string }> {
  const id = uniqueId("pkg");
  const bundle = await makeBundle({ args: ["sh", "-c", script] });
  bundles.push(bundle);
  const path = join(sandbox.sharedDir, id);
  await cp(bundle.path, path, { recursive: true, verbatimSymlinks: true });
  return { id, path };
}

/** The containers this file runs; pids are the sandbox's. */
const containers: { id: string; runtime: string; graceful: boolean; pid: number; shimPid: number }[] = [];
/** Every container berthctl was asked to run, whether or not it said yes: id → handles SIGTERM. */
const launched = new Map<string, boolean>();

before(async () => {
  // The upgrade build runs while the first version is checked and installed.
  const first = build(VERSION);
  upgradeDeb = first.then(() => build(UPGRADE_VERSION));
  upgradeDeb.catch(() => {});
  await Promise.all([first.then((path) => (deb = path)), sandbox.up()]);
});

after(async () => {
  await upgradeDeb.catch(() => {});
  await sandbox.down();
  for (const bundle of bundles) await bundle.remove();
  rmSync(outDir, { recursive: true, force: true });
});

test("the .deb puts every file at its place, with honest dependencies and checksums", async () => {
  const listing = await dpkgDeb("--contents", deb);
  const entries = new Map(
    listing
      .trim()
      .split("\n")
      .map((line) => {
        const fields = line.split(/\s+/);
        return [
          fields
            .slice(5)
            .join(" ")
            .replace(/^\.\//, "/")
            .replace(/ -> .*$/, ""),
          fields[0],
        ] as const;
      }),
  );
  const expected: [string, string][] = [
    ["/usr/lib/berth/berthd", "-rwxr-xr-x"],
    ["/usr/lib/berth/berth-shim", "-rwxr-xr-x"],
    ["/usr/lib/berth/remove-all-containers", "-rwxr-xr-x"],
    ["/usr/lib/berth/runtimes.mjs", "-rw-r--r--"],
    ["/usr/lib/berth/package.json", "-rw-r--r--"],
    ["/usr/lib/berth/dist/src/berthd/main.js", "-rwxr-xr-x"],
    ["/usr/lib/berth/dist/src/berthctl/main.js", "-rwxr-xr-x"],
    // The launchers run the bundles (scripts/bundle.mjs); their maps come along for stack traces.
    ["/usr/lib/berth/dist/berthd.mjs", "-rwxr-xr-x"],
    ["/usr/lib/berth/dist/berthd.mjs.map", "-rw-r--r--"],
    ["/usr/lib/berth/dist/berthctl.mjs", "-rwxr-xr-x"],
    ["/usr/lib/berth/dist/berthctl.mjs.map", "-rw-r--r--"],
    ["/usr/bin/berthctl", "-rwxr-xr-x"],
    ["/lib/systemd/system/berthd.service", "-rw-r--r--"],
    ["/lib/systemd/system/berthd.socket", "-rw-r--r--"],
    ["/lib/systemd/system/berth.slice", "-rw-r--r--"],
    ["/usr/lib/tmpfiles.d/berth.conf", "-rw-r--r--"],
    ["/usr/share/dbus-1/system.d/org.berth.Supervisor1.conf", "-rw-r--r--"],
    ["/usr/share/dbus-1/system-services/org.berth.Supervisor1.service", "-rw-r--r--"],
    ["/usr/share/dbus-1/interfaces/org.berth.Supervisor1.Manager.xml", "-rw-r--r--"],
    ["/usr/share/dbus-1/interfaces/org.berth.Supervisor1.Container.xml", "-rw-r--r--"],
    ["/usr/share/dbus-1/interfaces/org.berth.Supervisor1.Process.xml", "-rw-r--r--"],
    ["/usr/share/polkit-1/actions/org.berth.supervisor1.policy", "-rw-r--r--"],
    ["/usr/share/doc/berth/copyright", "-rw-r--r--"],
    ["/usr/share/doc/berth/changelog.gz", "-rw-r--r--"],
    ["/usr/share/doc/berth/systemd.md", "-rw-r--r--"],
    ["/usr/share/bash-completion/completions/berthctl", "-rw-r--r--"],
    ["/usr/lib/berth/node_modules/usocket/build/Release/uwrap.node", "-rw-r--r--"],
    ["/usr/lib/berth/node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node", "-rw-r--r--"],
  ];
  for (const [path, mode] of expected) assert.equal(entries.get(path), mode, path);

  // Native addons for this machine only; no build tool shipped; nothing but root-owned files.
  const natives = [...entries.keys()].filter((path) => path.endsWith(".node"));
  assert.equal(natives.length, 2, natives.join(", "));
  for (const gone of ["node-gyp", "nan", ".bin"]) {
    assert.ok(!entries.has(`/usr/lib/berth/node_modules/${gone}/`), `${gone} is not shipped`);
  }
  // berthd prefers <its tree>/shim/berth-shim (a checkout's) over /usr/lib/berth/berth-shim.
  const shims = [...entries.keys()].filter((path) => path.endsWith("/berth-shim"));
  assert.deepEqual(shims, ["/usr/lib/berth/berth-shim"]);
  for (const line of listing.trim().split("\n")) assert.match(line, /^\S+ root\/root /, line);

  const control = await dpkgDeb(
    "--field",
    deb,
    "Package",
    "Version",
    "Architecture",
    "Depends",
    "Recommends",
  );
  assert.match(control, new RegExp(`^Version: ${VERSION.replace(/[.+]/g, "\\$&")}$`, "m"));
  const depends = control.match(/^Depends: (.*)$/m)?.[1].split(", ") ?? [];
  const major = process.versions.node.split(".")[0];
  for (const dep of [`nodejs (>= ${major})`, `nodejs (<< ${Number(major) + 1})`, "runc | crun", "dbus"]) {
    assert.ok(depends.includes(dep), `Depends has ${dep}: ${depends.join(", ")}`);
  }
  assert.ok(
    depends.some((dep) => dep.startsWith("libc6 (>= ")),
    "dpkg-shlibdeps added libc6",
  );
  assert.match(control, /^Recommends: polkitd$/m);

  // Every regular file has a checksum (dpkg --verify, debsums); every bundled package a copyright stanza.
  const work = mkdtempSync(join(outDir, "extract-"));
  await dpkgDeb("--raw-extract", deb, work);
  const sums = readFileSync(join(work, "DEBIAN/md5sums"), "utf8");
  const files = listing
    .trim()
    .split("\n")
    .filter((line) => line.startsWith("-"))
    .map((line) => line.split(/\s+/).slice(5).join(" ").replace(/^\.\//, ""));
  for (const file of files) assert.ok(sums.includes(`  ${file}\n`), `md5sums has ${file}`);
  const copyright = readFileSync(join(work, "usr/share/doc/berth/copyright"), "utf8");
  for (const dir of ["dbus-next", "koffi", "usocket", "winston", "smol-toml", "@koromix/koffi-linux-x64"]) {
    assert.ok(copyright.includes(`Files: usr/lib/berth/node_modules/${dir}/*`), `copyright covers ${dir}`);
  }
  const pkg = JSON.parse(readFileSync(join(work, "usr/lib/berth/package.json"), "utf8")) as Record<
    string,
    unknown
  >;
  assert.equal(pkg.type, "module");
  assert.equal(pkg.version, VERSION);
});

test("apt-get install ./berth_*.deb works offline: socket enabled and listening, berthd not started yet", async () => {
  // This machine's image has a docker-style /usr/sbin/policy-rc.d (exit 101: start nothing), and the
  // sandbox is an overlay of it; a real host has none. It goes inside the sandbox only.
  await sandbox.execOk("rm", ["-f", "/usr/sbin/policy-rc.d"]);
  const install = await aptGet(["install", deb]);
  assert.equal(install.code, 0, install.stdout + install.stderr);
  assert.match(install.stdout, /Need to get 0 B/);
  assert.equal(
    await sandbox.execOk("dpkg-query", ["-W", `-f=\${db:Status-Abbrev} \${Version}`, "berth"]),
    `ii  ${VERSION}`,
  );
  const verify = await sandbox.exec("dpkg", ["--verify", "berth"]);
  assert.equal(verify.code, 0, verify.stdout);
  assert.equal(verify.stdout, "", "every installed file matches its checksum");

  assert.equal((await sandbox.exec("systemctl", ["is-enabled", "berthd.socket"])).stdout, "enabled\n");
  assert.equal((await show(sandbox, "berthd.socket", "ActiveState")).ActiveState, "active");
  assert.equal((await show(sandbox, "berthd.service", "ActiveState")).ActiveState, "inactive");
  assert.equal(
    await sandbox.execOk("stat", [
      "-c",
      "%F %a",
      "/run/berth",
      "/run/berth/containers",
      "/run/berth/private",
    ]),
    "directory 700\ndirectory 700\nsocket 600\n",
  );
  const activatable = await activatableNames();
  assert.ok(activatable.includes(`"${BUS}"`), "the bus knows the activation file");
  assert.match(
    await sandbox.execOk("pkaction", ["--action-id", "org.berth.supervisor1.manage", "--verbose"]),
    /implicit any: +auth_admin_keep/,
  );

  // The pruned node_modules still loads: koffi (libsystemd through FFI) and usocket (fd passing).
  await sandbox.execOk("node", [
    "--input-type=module",
    "-e",
    "const k = (await import('/usr/lib/berth/node_modules/koffi/index.js')).default; k.load('libsystemd.so.0').func('int sd_booted()');",
  ]);
  await sandbox.execOk("node", ["-e", "require('/usr/lib/berth/node_modules/usocket')"]);
  // The removal helper reads berthd's own configuration: runc with the systemd cgroup driver here.
  const runtimes = await sandbox.execOk("node", ["/usr/lib/berth/runtimes.mjs"]);
  assert.match(runtimes, /^runc\t\/\S*runc\t--systemd-cgroup$/m);
  assert.match(await sandbox.execOk("berthctl", ["--help"]), /^Usage: berthctl /);
  // The completion file defines berthctl's completion when bash(-completion) loads it by name.
  assert.match(
    await sandbox.execOk("bash", [
      "--norc",
      "-c",
      ". /usr/share/bash-completion/completions/berthctl && complete -p berthctl",
    ]),
    /^complete .* berthctl$/m,
  );
});

test("systemctl start berthd: berthd.service becomes active (Type=notify: berthd sends READY=1)", async () => {
  const start = await sandbox.exec("timeout", ["20", "systemctl", "start", "berthd.service"], {
    timeoutMs: 30_000,
  });
  const state = await show(
    sandbox,
    "berthd.service",
    "ActiveState",
    "SubState",
    "MainPID",
    "ExecMainPID",
    "StatusText",
  );
  assert.equal(
    start.code,
    0,
    `systemctl start berthd did not return within 20 s (state ${state.ActiveState}/${state.SubState}, ` +
      `MainPID ${state.MainPID}): berthd.service is Type=notify, so berthd must send READY=1 ` +
      `(sd_notify, docs/systemd.md "For the lead" item 1). ${start.stderr}`,
  );
  assert.equal(state.ActiveState, "active");
  assert.equal(state.SubState, "running");
  const status = await sandbox.exec("systemctl", ["status", "--no-pager", "berthd.service"]);
  assert.equal(status.code, 0, status.stdout);
  assert.match(status.stdout, /TriggeredBy: .*berthd\.socket/);
  assert.match(status.stdout, /\/usr\/bin\/node \/usr\/lib\/berth\/dist\/berthd\.mjs/);
});

test("berthctl runs containers; busctl tree and systemctl status show them", async () => {
  // Both runtimes (the removal finds each one's containers in its own root); one container ignores SIGTERM.
  const plan = [
    { runtime: "runc", graceful: true, script: "trap 'exit 0' TERM; sleep 300 & wait" },
    { runtime: "runc", graceful: false, script: "trap '' TERM; sleep 300" },
    { runtime: "crun", graceful: true, script: "trap 'exit 0' TERM; sleep 300 & wait" },
  ];
  for (const { runtime, graceful, script } of plan) {
    const { id, path } = await runningBundle(script);
    launched.set(id, graceful);
    const args = ["--address", SYSTEM_BUS, "run", "-d", "--runtime", runtime, id, path];
    const run = await sandbox.exec("berthctl", args, { timeoutMs: 40_000 });
    assert.equal(run.code, 0, `berthctl run -d ${id}: ${run.stderr}`);
    assert.equal(run.stdout, `${id}\n`);
    assert.equal(await containerProperty(id, "Status"), "running");
    const pid = Number(await containerProperty(id, "Pid"));
    const shimPid = Number(await containerProperty(id, "ShimPid"));
    assert.ok(pid > 0 && shimPid > 0);
    containers.push({ id, runtime, graceful, pid, shimPid });
  }

  const tree = await sandbox.execOk("busctl", ["tree", "--list", BUS]);
  for (const { id } of containers)
    assert.ok(tree.includes(containerPath(id)), `${containerPath(id)} in:\n${tree}`);
  const ps = await sandbox.execOk("berthctl", ["--address", SYSTEM_BUS, "ps"]);
  for (const { id } of containers) assert.match(ps, new RegExp(`^${id} +running`, "m"));

  // The container itself: runc's systemd cgroup driver puts it in berth-<id>.scope in berth.slice.
  for (const { id, pid } of containers) {
    const status = await sandbox.exec("systemctl", ["status", "--no-pager", `berth-${id}.scope`]);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /Active: active \(running\)/);
    assert.match(status.stdout, new RegExp(`CGroup: /berth\\.slice/berth-${id}\\.scope`));
    assert.match(status.stdout, new RegExp(`\\b${pid} `));
  }
  for (const { id, runtime } of containers) {
    const listed = await sandbox.execOk(runtime, ["--root", `/run/berth/runtime/${runtime}`, "list", "-q"]);
    assert.match(listed, new RegExp(`^${id}$`, "m"), `${runtime} lists ${id}`);
  }
});

test("each shim runs in its own berth-shim-<id>.scope in berth.slice", async () => {
  assert.ok(containers.length > 0, "needs the containers of the previous test");
  for (const { id, shimPid } of containers) {
    const status = await sandbox.exec("systemctl", ["status", "--no-pager", `berth-shim-${id}.scope`]);
    assert.equal(
      status.code,
      0,
      `berth-shim-${id}.scope: ${status.stderr.trim()} (berthd must put each shim in its scope: ` +
        `Scopes.create, docs/systemd.md "For the lead" item 4)`,
    );
    assert.match(status.stdout, new RegExp(`CGroup: /berth\\.slice/berth-shim-${id}\\.scope`));
    assert.match(status.stdout, new RegExp(`\\b${shimPid} `));
  }
});

test("as root, /run/berth/private answers the same API without the bus (socket activation)", async () => {
  assert.ok(containers.length > 0, "needs the containers of an earlier test");
  const call = await sandbox.exec(
    "timeout",
    [
      "10",
      "busctl",
      "--address=unix:path=/run/berth/private",
      "call",
      BUS,
      "/org/berth/Supervisor1",
      "org.berth.Supervisor1.Manager",
      "ListContainers",
    ],
    { timeoutMs: 20_000 },
  );
  assert.equal(
    call.code,
    0,
    `busctl on /run/berth/private: exit ${call.code} ${call.stderr.trim()} (berthd must serve the ` +
      `socket-activated fd 3: listenFds(), docs/systemd.md "For the lead" item 2)`,
  );
  for (const { id } of containers) assert.ok(call.stdout.includes(`"${id}"`), call.stdout);
});

test("upgrading the package restarts berthd and nothing else", async () => {
  const before = await show(sandbox, "berthd.service", "ActiveState", "MainPID");
  assert.equal(
    before.ActiveState,
    "active",
    "berthd.service must be active to be restarted by the upgrade (see the READY=1 test): not trying, " +
      "the postinst's restart would wait TimeoutStartSec=300 for READY=1",
  );
  assert.ok(containers.length > 0, "needs the containers of an earlier test");
  const upgrade = await aptGet(["install", await upgradeDeb]);
  assert.equal(upgrade.code, 0, upgrade.stdout + upgrade.stderr);
  assert.match(
    upgrade.stdout,
    new RegExp(`Unpacking berth \\(${UPGRADE_VERSION.replace(/[.+]/g, "\\$&")}\\) over`),
  );

  const afterUpgrade = await show(sandbox, "berthd.service", "ActiveState", "MainPID");
  assert.equal(afterUpgrade.ActiveState, "active");
  assert.notEqual(afterUpgrade.MainPID, before.MainPID, "berthd was restarted");
  const version = await sandbox.execOk("busctl", [
    "get-property",
    BUS,
    "/org/berth/Supervisor1",
    "org.berth.Supervisor1.Manager",
    "Version",
  ]);
  assert.equal(version.trim(), `s "${UPGRADE_VERSION}"`, "the new berthd answers");
  for (const { id, pid, shimPid } of containers) {
    assert.equal(await containerProperty(id, "Status"), "running", id);
    assert.equal(Number(await containerProperty(id, "Pid")), pid, `${id} kept its process`);
    assert.equal(Number(await containerProperty(id, "ShimPid")), shimPid, `${id} kept its shim`);
  }
});

test("apt-get remove stops and deletes every container through the runtime and leaves no unit behind", async () => {
  // What is there to remove: every container in berth's runc root (also one whose RunContainer failed
  // half way), with its init and shim pids.
  const victims: { id: string; pids: number[] }[] = [];
  for (const runtime of ["runc", "crun"]) {
    const root = `/run/berth/runtime/${runtime}`;
    const ids = (await sandbox.exec(runtime, ["--root", root, "list", "-q"])).stdout
      .split("\n")
      .filter(Boolean);
    for (const id of ids) {
      const state = JSON.parse(await sandbox.execOk(runtime, ["--root", root, "state", id])) as {
        pid: number;
      };
      const shim = await sandbox.exec("cat", [`/run/berth/containers/${id}/shim.pid`]);
      victims.push({ id, pids: [state.pid, ...(shim.code === 0 ? [Number(shim.stdout)] : [])] });
    }
  }
  const ids = victims.map((victim) => victim.id);
  assert.ok(ids.length > 0, "berthctl run left no container in a runtime to remove (see the earlier tests)");

  const remove = await aptGet(["remove", "berth"], { BERTH_STOP_GRACE: String(GRACE_SECONDS) });
  assert.equal(remove.code, 0, remove.stdout + remove.stderr);
  const said = remove.stdout + remove.stderr;
  assert.match(said, new RegExp(`berth: stopping ${ids.length} container\\(s\\)`));
  for (const [id, graceful] of launched) {
    // SIGTERM first; only the container that ignores it is killed after the grace period.
    const killed = new RegExp(`berth: ${id}: still running after ${GRACE_SECONDS}s, killing it`);
    if (graceful) assert.doesNotMatch(said, killed);
    else if (ids.includes(id)) assert.match(said, killed);
  }

  // Containers, shims, berthd: gone. State: gone.
  for (const { id, pids } of victims) {
    for (const pid of pids) {
      assert.notEqual(
        (await sandbox.exec("test", ["-d", `/proc/${pid}`])).code,
        0,
        `${id}: process ${pid} is gone`,
      );
    }
  }
  const leftovers = (await sandbox.execOk("ps", ["-e", "-o", "comm="])).split("\n");
  for (const name of ["berth-shim", "runc", "sleep", "node"]) {
    assert.ok(!leftovers.includes(name), `no ${name} process left`);
  }
  assert.notEqual((await sandbox.exec("test", ["-e", "/run/berth"])).code, 0, "/run/berth is gone");

  // No unit: not loaded, not installed, not enabled, not masked, no transient scope.
  assert.equal(
    await sandbox.execOk("systemctl", ["list-units", "--all", "--plain", "--no-legend", "berth*"]),
    "",
  );
  // (list-unit-files exits 1 when nothing matches)
  assert.equal((await sandbox.exec("systemctl", ["list-unit-files", "--no-legend", "berth*"])).stdout, "");
  assert.equal(
    await sandbox.execOk("find", [
      "/etc/systemd/system",
      "/run/systemd/system",
      "/run/systemd/transient",
      "/lib/systemd/system",
      "-name",
      "berth*",
    ]),
    "",
  );
  const activatable = await activatableNames();
  assert.ok(!activatable.includes(`"${BUS}"`), "the bus no longer knows org.berth.Supervisor1");
  // Removed; dpkg keeps the postrm for a purge ("rc").
  assert.equal(await sandbox.execOk("dpkg-query", ["-W", `-f=\${db:Status-Abbrev}`, "berth"]), "rc ");

  const purge = await aptGet(["purge", "berth"]);
  assert.equal(purge.code, 0, purge.stdout + purge.stderr);
  assert.notEqual((await sandbox.exec("dpkg-query", ["-W", "berth"])).code, 0, "purged");
  // deb-systemd-helper's record of what it enabled goes too.
  assert.equal(await sandbox.execOk("find", ["/var/lib/systemd", "-name", "*berth*"]), "");
});
