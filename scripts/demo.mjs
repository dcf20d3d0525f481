#!/usr/bin/env node
// The README's demo: berth doing its main job, shown with the commands an admin would type.
// It starts a private system-like dbus-daemon and a berthd on it (this machine's PID 1 is not
// systemd; the systemd-native demo arrives with the systemd sandbox), builds two busybox bundles,
// runs a container to completion through berthctl, runs a second one detached, shows it through
// berthctl and busctl, SIGKILLs berthd and starts a new one to show the container kept running
// with the same pid, then removes everything it made.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const dist = new URL("../dist/", import.meta.url).pathname;
const { makeBundle } = await import(join(dist, "test/fixtures/bundle.js"));
const { startBerthd } = await import(join(dist, "test/helpers/berthd.js"));
const berthctlMain = join(dist, "src/berthctl/main.js");

const bold = (text) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);

function say(text) {
  process.stdout.write(`\n${bold(`# ${text}`)}\n`);
}

/** Runs a command visibly, as the admin would type it, and returns its exit status. */
function show(display, argv, env = {}) {
  process.stdout.write(`${bold(`$ ${display}`)}\n`);
  const result = spawnSync(argv[0], argv.slice(1), { stdio: "inherit", env: { ...process.env, ...env } });
  if (result.error) throw result.error;
  return result.status ?? 128;
}

const cleanups = [];
let failed = false;
try {
  say("starting a private system-like D-Bus and berthd on it (state in a temp dir, not /run/berth)");
  const berthd = await startBerthd();
  cleanups.push(() => berthd.cleanup());
  const env = { BERTH_ADDRESS: berthd.address };
  const berthctl = (args) => show(`berthctl ${args.join(" ")}`, [process.execPath, berthctlMain, ...args], env);
  const busctl = (args) =>
    show(`busctl ${args.join(" ")}`, ["busctl", `--address=${berthd.address}`, "--no-pager", ...args]);
  console.log(`berthd pid ${berthd.pid}, bus ${berthd.address}`);

  const hello = await makeBundle({
    args: ["sh", "-c", 'echo "hello from $(hostname), pid $$"; echo "this line goes to stderr" >&2; exit 3'],
    hostname: "demo",
  });
  cleanups.push(() => hello.remove());
  const sleeper = await makeBundle({ args: ["sleep", "3600"] });
  cleanups.push(() => sleeper.remove());

  say("run a container to completion: its output, and berthctl exits with the container's exit code");
  const code = berthctl(["run", "--rm", "hello", hello.path]);
  console.log(`(berthctl exited ${code})`);
  if (code !== 3) throw new Error(`expected exit code 3 from the container, got ${code}`);

  say("run one detached, and look at it the ways an admin would");
  if (berthctl(["run", "-d", "--label", "app=demo", "web-1", sleeper.path]) !== 0) throw new Error("run -d failed");
  berthctl(["ps"]);
  busctl(["tree", "org.berth.Supervisor1"]);
  busctl([
    "get-property",
    "org.berth.Supervisor1",
    "/org/berth/Supervisor1/container/web_2d1",
    "org.berth.Supervisor1.Container",
    "Status",
    "Pid",
    "ShimPid",
  ]);
  berthctl(["status", "web-1"]);

  say("SIGKILL berthd: the container does not notice; a new berthd re-attaches it from /run state");
  await berthd.kill();
  await berthd.restart();
  console.log(`new berthd pid ${berthd.pid}`);
  berthctl(["ps"]);

  say("remove it: kill, wait, delete");
  berthctl(["rm", "-f", "web-1"]);
  berthctl(["ps", "-a"]);
} catch (error) {
  failed = true;
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
}
process.exit(failed ? 1 : 0);
