// Installs berth into a systemd sandbox the way an admin would, for the tests in test/systemd/, the
// demo and bench/restart.ts.
//
//   const installed = await installBerth(sandbox);          // the .deb (default) or the checkout
//   await sandbox.execOk("systemctl", ["start", "berthd"]);
//   await upgradeBerth(sandbox, installed, "0.1.0+up1");     // a different build, same code
//
// Two sources (env BERTH_INSTALL=deb|checkout picks one; default: the .deb when packaging/build.sh
// exists, since that is what users install):
// - deb: `packaging/build.sh` builds the package from the checkout once per content of the files it
//   packs (cached in $TMPDIR/berth-test-debs/<hash>/, shared by concurrent test files through a lock
//   dir), then `apt-get install` it offline inside the sandbox; the package's postinst enables and
//   starts berthd.socket.
// - checkout: the shipped units, D-Bus and polkit files copied to /etc and /usr/share, with
//   /usr/lib/berth/berthd and /usr/bin/berthctl launching the checkout's bundles, dist/berthd.mjs and
//   dist/berthctl.mjs, as the package's launchers do (npm run build first).
//
// The upgrade is a different build of the same code with another version string: the .deb repacked
// with its version (control and /usr/lib/berth/package.json) changed and installed over the first
// one (its postinst restarts berthd), or a copy of the checkout's dist/ with a bumped package.json that
// the launcher then points at (and `systemctl restart berthd` by the caller).

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { cp, mkdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { CHECKOUT, type ExecOptions, type ExecResult, Sandbox } from "../sandbox/sandbox.js";

/**
 * Where berth is installed: a Sandbox, or (the demo on a host whose PID 1 is systemd) the host itself.
 * sharedDir is a directory both this process and the system's commands see at the same path.
 */
export interface System {
  readonly sharedDir: string;
  exec(cmd: string, args?: string[], options?: ExecOptions): Promise<ExecResult>;
  execOk(cmd: string, args?: string[], options?: ExecOptions): Promise<string>;
}

export type InstallSource = "deb" | "checkout";

export interface Installed {
  source: InstallSource;
  /** The version berthd reports (the Version property). */
  version: string;
  /** The .deb installed (source "deb"). */
  deb?: string;
}

/** The checkout's package.json version. */
export const CHECKOUT_VERSION = (
  JSON.parse(readFileSync(join(CHECKOUT, "package.json"), "utf8")) as { version: string }
).version;

/** Where the sandbox's system bus is, for commands inside (berthctl's --address). */
export const SYSTEM_BUS = "unix:path=/run/dbus/system_bus_socket";

/** Tools packaging/build.sh needs beyond what ensure-deps.sh installs (package dpkg-dev). */
const PACKAGING_TOOLS = ["dpkg-deb", "dpkg-shlibdeps", "dpkg-architecture", "strip"];

/** What scripts/bundle.mjs makes in dist/ (npm run build): the launchers run the .mjs files. */
const BUNDLES = ["berthd.mjs", "berthd.mjs.map", "berthctl.mjs", "berthctl.mjs.map"];

function onPath(tool: string): boolean {
  return (process.env.PATH ?? "/usr/bin:/bin")
    .split(":")
    .some((dir) => dir !== "" && existsSync(join(dir, tool)));
}

export function defaultSource(): InstallSource {
  const chosen = process.env.BERTH_INSTALL;
  if (chosen === "deb" || chosen === "checkout") return chosen;
  if (!existsSync(join(CHECKOUT, "packaging/build.sh"))) return "checkout";
  const missing = PACKAGING_TOOLS.filter((tool) => !onPath(tool));
  if (missing.length > 0) {
    process.stderr.write(
      `install: ${missing.join(", ")} missing (apt-get install dpkg-dev): installing from the checkout instead of the .deb\n`,
    );
    return "checkout";
  }
  return "deb";
}

/** Installs berth (berthd not started: the socket is, as after a package installation). */
export async function installBerth(sandbox: System, source = defaultSource()): Promise<Installed> {
  if (source === "deb") {
    const deb = await buildDeb();
    await aptInstall(sandbox, deb);
    return { source, version: CHECKOUT_VERSION, deb };
  }
  await installFromCheckout(sandbox);
  return { source, version: CHECKOUT_VERSION };
}

/**
 * Installs a different build of berthd with version `version` while berthd may be running. For the
 * .deb the package's postinst restarts berthd (if it runs); for the checkout the caller restarts it.
 */
export async function upgradeBerth(
  sandbox: System,
  installed: Installed,
  version: string,
): Promise<Installed> {
  if (installed.source === "deb") {
    if (installed.deb === undefined) throw new Error("install: no .deb to upgrade from");
    const deb = await repackDeb(installed.deb, version);
    await aptInstall(sandbox, deb);
    return { source: "deb", version, deb };
  }
  const tree = join(sandbox.sharedDir, `berth-${version}`);
  await mkdir(join(tree, "shim"), { recursive: true });
  await cp(join(CHECKOUT, "dist/src"), join(tree, "dist/src"), { recursive: true });
  for (const file of BUNDLES) await cp(join(CHECKOUT, "dist", file), join(tree, "dist", file));
  await cp(join(CHECKOUT, "shim/berth-shim"), join(tree, "shim/berth-shim"));
  await symlink(join(CHECKOUT, "node_modules"), join(tree, "node_modules"));
  const pkg = JSON.parse(await readFile(join(CHECKOUT, "package.json"), "utf8")) as Record<string, unknown>;
  await writeFile(join(tree, "package.json"), JSON.stringify({ ...pkg, version }, null, 2));
  await writeLaunchers(sandbox, tree);
  return { source: "checkout", version };
}

/** Adds a drop-in to `unit` and reloads systemd (no restart). */
export async function dropIn(sandbox: System, unit: string, name: string, text: string): Promise<void> {
  await sandbox.execOk("mkdir", ["-p", `/etc/systemd/system/${unit}.d`]);
  await sandbox.execOk("sh", ["-c", `cat >/etc/systemd/system/${unit}.d/${name}.conf`], { input: text });
  await sandbox.execOk("systemctl", ["daemon-reload"]);
}

// ---- the .deb ----

/** Files packaging/build.sh reads: the cache key. */
const PACKED = [
  "src",
  "scripts/bundle.mjs",
  "shim",
  "systemd",
  "dbus",
  "packaging",
  "docs",
  "package.json",
  "package-lock.json",
  "README.md",
];
const DEB_ROOT = join(tmpdir(), "berth-test-debs");

function contentHash(): string {
  const hash = createHash("sha256");
  const walk = (path: string): void => {
    const info = statSync(path, { throwIfNoEntry: false });
    if (info === undefined) return;
    const rel = relative(CHECKOUT, path);
    if (rel === "packaging/out" || rel.endsWith(".o") || rel === "shim/berth-shim") return;
    if (info.isDirectory()) {
      for (const name of readdirSync(path).sort()) walk(join(path, name));
    } else if (info.isFile()) {
      hash.update(`${rel}\0`);
      hash.update(readFileSync(path));
    }
  };
  for (const top of PACKED) walk(join(CHECKOUT, top));
  return hash.digest("hex").slice(0, 16);
}

/** The checkout's .deb, built once per content (concurrent callers wait for one build). */
export async function buildDeb(): Promise<string> {
  const dir = join(DEB_ROOT, contentHash());
  const deb = join(dir, `berth_${CHECKOUT_VERSION}.deb`);
  const lock = `${dir}.lock`;
  await mkdir(DEB_ROOT, { recursive: true });
  for (;;) {
    if (existsSync(deb)) return deb;
    try {
      await mkdir(lock);
      break;
    } catch {
      // Someone builds it: wait, unless the builder died (its pid file names it).
      const owner = Number(await readFile(join(lock, "pid"), "utf8").catch(() => "0"));
      const age = Date.now() - ((await stat(lock).catch(() => undefined))?.mtimeMs ?? Date.now());
      if (owner !== 0 && !existsSync(`/proc/${owner}`)) await rm(lock, { recursive: true, force: true });
      else if (owner === 0 && age > 10_000) await rm(lock, { recursive: true, force: true });
      await new Promise((done) => setTimeout(done, 500));
    }
  }
  try {
    await writeFile(join(lock, "pid"), String(process.pid));
    await pruneOldDebs();
    const out = join(lock, "out");
    await mkdir(out);
    // npm's production node_modules are cached by build.sh under <out>/cache: one for all builds.
    await mkdir(join(DEB_ROOT, "cache"), { recursive: true });
    await symlink(join(DEB_ROOT, "cache"), join(out, "cache"));
    const built = (await run("bash", [join(CHECKOUT, "packaging/build.sh"), "--out", out]))
      .trim()
      .split("\n")
      .pop();
    if (built === undefined || !built.endsWith(".deb"))
      throw new Error(`packaging/build.sh printed no .deb: ${built}`);
    await mkdir(dir, { recursive: true });
    await rename(built, deb);
    return deb;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** The same package with another version: control's Version and the version berthd reports. */
async function repackDeb(deb: string, version: string): Promise<string> {
  const target = deb.replace(/berth_[^/]*\.deb$/, `berth_${version}.deb`);
  if (existsSync(target)) return target;
  const work = `${target}.work-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  try {
    await run("dpkg-deb", ["--raw-extract", deb, work]);
    const controlPath = join(work, "DEBIAN/control");
    const control = await readFile(controlPath, "utf8");
    await writeFile(controlPath, control.replace(/^Version: .*$/m, `Version: ${version}`));
    const pkgPath = join(work, "usr/lib/berth/package.json");
    const pkg = JSON.parse(await readFile(pkgPath, "utf8")) as Record<string, unknown>;
    await writeFile(pkgPath, `${JSON.stringify({ ...pkg, version }, null, 2)}\n`);
    const sum = createHash("md5")
      .update(await readFile(pkgPath))
      .digest("hex");
    const sumsPath = join(work, "DEBIAN/md5sums");
    const sums = await readFile(sumsPath, "utf8");
    await writeFile(sumsPath, sums.replace(/^\S+( {2}usr\/lib\/berth\/package\.json)$/m, `${sum}$1`));
    await run("dpkg-deb", ["--root-owner-group", "-Zxz", "--build", work, `${target}.tmp`]);
    await rename(`${target}.tmp`, target);
    return target;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Cached builds of older content go after a day. */
async function pruneOldDebs(): Promise<void> {
  const dayAgo = Date.now() - 24 * 3600_000;
  for (const name of readdirSync(DEB_ROOT)) {
    if (!/^[0-9a-f]{16}$/.test(name)) continue;
    const info = await stat(join(DEB_ROOT, name)).catch(() => undefined);
    if (info !== undefined && info.mtimeMs < dayAgo)
      await rm(join(DEB_ROOT, name), { recursive: true, force: true });
  }
}

/** apt-get install of a local .deb, with every network fetch sent to a closed port (offline). */
async function aptInstall(sandbox: System, deb: string): Promise<void> {
  const inside = join(sandbox.sharedDir, deb.split("/").pop() ?? "berth.deb");
  await cp(deb, inside);
  // This machine's image has a docker-style policy-rc.d (exit 101: start nothing), which the sandbox's
  // overlay shows too; inside the throwaway sandbox it goes. A host's is the admin's business.
  if (sandbox instanceof Sandbox) await sandbox.execOk("rm", ["-f", "/usr/sbin/policy-rc.d"]);
  const result = await sandbox.exec(
    "apt-get",
    [
      "-o",
      "Acquire::http::Proxy=http://127.0.0.1:9",
      "-o",
      "Acquire::https::Proxy=http://127.0.0.1:9",
      "-o",
      "Acquire::Retries=0",
      "-y",
      "--allow-downgrades",
      "install",
      inside,
    ],
    { env: { DEBIAN_FRONTEND: "noninteractive" }, timeoutMs: 120_000 },
  );
  if (result.code !== 0) {
    throw new Error(`apt-get install ${inside} exited ${result.code}:\n${result.stdout}${result.stderr}`);
  }
}

// ---- the checkout ----

/** Where each shipped file goes (the package installs them to the same places). */
export const CHECKOUT_FILES: [string, string][] = [
  ["systemd/berthd.service", "/etc/systemd/system/berthd.service"],
  ["systemd/berthd.socket", "/etc/systemd/system/berthd.socket"],
  ["systemd/berth.slice", "/etc/systemd/system/berth.slice"],
  ["systemd/tmpfiles.d/berth.conf", "/etc/tmpfiles.d/berth.conf"],
  ["dbus/org.berth.Supervisor1.service", "/usr/share/dbus-1/system-services/org.berth.Supervisor1.service"],
  ["dbus/org.berth.Supervisor1.conf", "/usr/share/dbus-1/system.d/org.berth.Supervisor1.conf"],
  [
    "packaging/polkit/org.berth.supervisor1.policy",
    "/usr/share/polkit-1/actions/org.berth.supervisor1.policy",
  ],
];

async function installFromCheckout(sandbox: System): Promise<void> {
  const missing = BUNDLES.filter((file) => !existsSync(join(CHECKOUT, "dist", file)));
  if (missing.length > 0) {
    throw new Error(`install: dist/${missing.join(", dist/")} missing: npm run build first`);
  }
  for (const [from, to] of CHECKOUT_FILES) {
    await sandbox.execOk("install", ["-D", "-m", "0644", join(CHECKOUT, from), to]);
  }
  await writeLaunchers(sandbox, CHECKOUT);
  await sandbox.execOk("systemd-tmpfiles", ["--create", "/etc/tmpfiles.d/berth.conf"]);
  await reloadUnitsAndBus(sandbox);
  await sandbox.execOk("systemctl", ["enable", "--now", "berthd.socket"]);
}

/** systemd and the system bus read the unit and policy files just installed. */
export async function reloadUnitsAndBus(sandbox: System): Promise<void> {
  await sandbox.execOk("systemctl", ["daemon-reload"]);
  await sandbox.execOk("busctl", [
    "call",
    "org.freedesktop.DBus",
    "/org/freedesktop/DBus",
    "org.freedesktop.DBus",
    "ReloadConfig",
  ]);
}

/** /usr/lib/berth/berthd and /usr/bin/berthctl running the bundles of the tree at `root` (a checkout or a copy). */
async function writeLaunchers(sandbox: System, root: string): Promise<void> {
  const launcher = (main: string) => `#!/bin/sh\nexec /usr/bin/node ${root}/dist/${main}.mjs "$@"\n`;
  await sandbox.execOk("mkdir", ["-p", "/usr/lib/berth"]);
  await sandbox.execOk("sh", ["-c", "cat >/usr/lib/berth/berthd && chmod 755 /usr/lib/berth/berthd"], {
    input: launcher("berthd"),
  });
  await sandbox.execOk("sh", ["-c", "cat >/usr/bin/berthctl && chmod 755 /usr/bin/berthctl"], {
    input: launcher("berthctl"),
  });
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${stderr}`)),
    );
  });
}
