#!/usr/bin/env node
// The README's demo (`npm run demo`): berth as a systemd service, shown with the commands an admin
// would type. On a machine whose PID 1 is not systemd it boots a throwaway systemd sandbox
// (test/sandbox/, real systemd + dbus + journald); when PID 1 IS systemd it uses the host's.
// It installs berth (the .deb that `npm run package` builds; BERTH_INSTALL=checkout uses the
// checkout's units and dist/ instead), runs a container, shows it through busctl, berthctl, systemctl
// and journalctl, restarts berthd and shows the container still running with the same pid, then
// removes everything it made (the sandbox, or on a host the container and the package it installed),
// also when a step fails.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dist = new URL("../dist/", import.meta.url).pathname;
const { Sandbox } = await import(join(dist, "test/sandbox/sandbox.js"));
const { makeBundle } = await import(join(dist, "test/fixtures/bundle.js"));
const { installBerth, defaultSource } = await import(join(dist, "test/systemd/install.js"));

const bold = (text) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const dim = (text) => (process.stdout.isTTY ? `\x1b[2m${text}\x1b[0m` : text);
const say = (text) => process.stdout.write(`\n${bold(`# ${text}`)}\n`);

/** The host itself, with the same exec()/execOk() as a Sandbox. */
class Host {
  constructor() {
    this.sharedDir = mkdtempSync(join(tmpdir(), "berth-demo-"));
  }
  async exec(cmd, args = [], options = {}) {
    const r = spawnSync(cmd, args, {
      encoding: "utf8",
      input: options.input ?? "",
      env: { ...process.env, ...options.env },
      timeout: options.timeoutMs ?? 60_000,
    });
    if (r.error) throw r.error;
    return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
  }
  async execOk(cmd, args = [], options = {}) {
    const r = await this.exec(cmd, args, options);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }
  async down() {
    rmSync(this.sharedDir, { recursive: true, force: true });
  }
}

function pid1IsSystemd() {
  try {
    return readlinkSync("/proc/1/exe").endsWith("/systemd");
  } catch {
    return readFileSync("/proc/1/comm", "utf8").trim() === "systemd";
  }
}

let system;
/** Runs a command visibly in the system, as an admin would type it; returns its result. */
async function show(cmd, args = [], { quiet = false, tail = 0 } = {}) {
  process.stdout.write(`${bold(`$ ${[cmd, ...args].join(" ")}`)}\n`);
  const result = await system.exec(cmd, args, { timeoutMs: 120_000 });
  let out = result.stdout + result.stderr;
  if (tail > 0) {
    const lines = out.trimEnd().split("\n");
    if (lines.length > tail)
      out = `${dim(`[… ${lines.length - tail} lines]`)}\n${lines.slice(-tail).join("\n")}\n`;
  }
  if (!quiet) process.stdout.write(out.endsWith("\n") || out === "" ? out : `${out}\n`);
  return result;
}
async function showOk(cmd, args = [], options = {}) {
  const result = await show(cmd, args, options);
  if (result.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${result.code}`);
  return result.stdout;
}
const property = async (name) =>
  (
    await showOk("busctl", [
      "get-property",
      "org.berth.Supervisor1",
      "/org/berth/Supervisor1/container/web_2d1",
      "org.berth.Supervisor1.Container",
      name,
    ])
  )
    .trim()
    .split(" ")
    .pop();

const cleanups = [];
let failed = false;
try {
  if (pid1IsSystemd()) {
    say("PID 1 is systemd: using this host's systemd");
    system = new Host();
  } else {
    say("PID 1 is not systemd here: booting a throwaway systemd (its own pid, mount and cgroup namespaces)");
    system = new Sandbox();
    await system.up();
  }
  cleanups.push(() => system.down());
  await showOk("systemctl", ["is-system-running"]).catch(() => {});

  const source = defaultSource();
  say(source === "deb" ? "install berth from its .deb (npm run package)" : "install berth from the checkout");
  const host = system instanceof Host;
  const wasInstalled = host && (await system.exec("dpkg-query", ["-W", "berth"])).code === 0;
  if (source === "deb")
    process.stdout.write(`${bold("$ npm run package && apt-get install ./berth_*.deb")}\n`);
  const installed = await installBerth(system, source);
  if (host && source === "deb" && !wasInstalled) {
    cleanups.push(() => system.exec("apt-get", ["-y", "remove", "berth"], { timeoutMs: 120_000 }));
  }
  console.log(
    dim(`(berth ${installed.version}${installed.deb ? `, ${installed.deb.split("/").pop()}` : ""})`),
  );
  await show("systemctl", ["start", "berthd"]);
  await showOk("systemctl", ["status", "--no-pager", "--lines=0", "berthd"]);

  say("run a container (a busybox bundle) with its output going to the journal");
  const bundle = await makeBundle({
    args: [
      "sh",
      "-c",
      'echo "hello from $(hostname)"; i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 1; done',
    ],
    hostname: "web-1",
  });
  const bundlePath = join(system.sharedDir, "web-1-bundle");
  cpSync(bundle.path, bundlePath, { recursive: true, verbatimSymlinks: true });
  await bundle.remove();
  cleanups.push(() => system.exec("berthctl", ["rm", "-f", "web-1"]));
  await showOk("berthctl", [
    "run",
    "-d",
    "--log-driver",
    "journald",
    "--label",
    "app=demo",
    "web-1",
    bundlePath,
  ]);

  say("the container as the bus, berthctl, systemd and the journal see it");
  await showOk("busctl", ["tree", "org.berth.Supervisor1"]);
  await showOk("berthctl", ["ps"]);
  const pid = await property("Pid");
  await property("Unit");
  await show("systemctl", ["status", "--no-pager", "--lines=0", "berth-web-1.scope"]);
  await show("systemctl", ["status", "--no-pager", "--lines=0", "berth-shim-web-1.scope"]);
  await new Promise((done) => setTimeout(done, 1500));
  await showOk("journalctl", ["--no-pager", "-o", "short-monotonic", "CONTAINER_ID=web-1"]);

  say(
    "restart berthd: the container does not notice (KillMode=process, its own scopes, state in /run/berth)",
  );
  const before = (await system.execOk("systemctl", ["show", "-p", "MainPID", "--value", "berthd"])).trim();
  const started = Date.now();
  await showOk("systemctl", ["restart", "berthd"]);
  console.log(
    dim(
      `(returned after ${Date.now() - started} ms: Type=notify, so berthd had re-attached everything and sent READY=1)`,
    ),
  );
  const after = (await system.execOk("systemctl", ["show", "-p", "MainPID", "--value", "berthd"])).trim();
  console.log(`berthd pid ${before} -> ${after}`);
  await showOk("berthctl", ["ps"]);
  const pidAfter = await property("Pid");
  if (pidAfter !== pid || before === after)
    throw new Error(`container pid ${pid} -> ${pidAfter}, berthd ${before} -> ${after}`);
  console.log(`same container, same pid: ${pid}`);
  await showOk("journalctl", ["--no-pager", "-o", "cat", "-n", "4", "-u", "berthd"]);

  say("remove it: kill, wait, delete; no unit is left behind");
  await showOk("berthctl", ["rm", "-f", "web-1"]);
  cleanups.pop();
  await showOk("berthctl", ["ps", "-a"]);
  await show("systemctl", ["list-units", "--all", "--no-pager", "berth*"]);
} catch (error) {
  failed = true;
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      console.error(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
process.exit(failed ? 1 : 0);
