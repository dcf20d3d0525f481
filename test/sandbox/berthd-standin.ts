// A stand-in for berthd, run inside the sandbox by units.test.ts under the real systemd/berthd.service
// (as /usr/lib/berth/berthd), to prove that the unit's settings let a supervisor do its work: it takes
// the socket-activated fd, owns org.berth.Supervisor1 on the system bus (so D-Bus activation works),
// and, once per sandbox, starts a stand-in shim in its own scope and a runc container with the systemd
// cgroup driver, as berthd will. Then READY=1, watchdog pings, and STOPPING=1 on SIGTERM.
//
// Input: /run/berth-standin/job.json ({ "id", "bundle" }); output: /run/berth-standin/done.json.

import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { childEnvironment, listenFds, notify, Watchdog } from "../../src/berthd/systemd/notify.js";
import { Scopes } from "../../src/berthd/systemd/scope.js";
import { callBusDaemon, connectBus, SYSTEM_BUS_ADDRESS } from "../../src/common/bus.js";

const JOB = "/run/berth-standin/job.json";
const DONE = "/run/berth-standin/done.json";
const DBUS_NAME_FLAG_DO_NOT_QUEUE = 4;

const watchdog = new Watchdog();
watchdog.start();
const fds = listenFds();
const bus = await connectBus(SYSTEM_BUS_ADDRESS);
await callBusDaemon(bus, "RequestName", "su", ["org.berth.Supervisor1", DBUS_NAME_FLAG_DO_NOT_QUEUE]);

if (existsSync(JOB) && !existsSync(DONE)) {
  const job = JSON.parse(readFileSync(JOB, "utf8")) as { id: string; bundle: string };
  const shim = spawn("sleep", ["infinity"], { detached: true, stdio: "ignore", env: childEnvironment() });
  shim.unref();
  const scopes = new Scopes(bus);
  await scopes.start();
  const unit = await scopes.create(job.id, [shim.pid as number], `berth shim for container ${job.id}`);
  await scopes.stop();
  // The detached container keeps runc's stdio, so a file, never a pipe that would not close.
  const log = openSync("/run/berth-standin/runc.log", "w");
  const run = spawnSync("runc", ["--systemd-cgroup", "run", "-d", "--bundle", job.bundle, job.id], {
    stdio: ["ignore", log, log],
    env: childEnvironment(),
  });
  closeSync(log);
  const state = spawnSync("runc", ["state", job.id], { encoding: "utf8" });
  const containerPid = run.status === 0 ? (JSON.parse(state.stdout) as { pid: number }).pid : 0;
  writeFileSync(
    DONE,
    JSON.stringify({
      unit,
      shimPid: shim.pid,
      runcStatus: run.status,
      runcLog: readFileSync("/run/berth-standin/runc.log", "utf8"),
      containerPid,
    }),
  );
}

notify({ STATUS: `listening fds: ${fds.length}` });
notify("READY=1");
process.on("SIGTERM", () => {
  notify("STOPPING=1");
  watchdog.stop();
  bus.disconnect();
  process.exit(0);
});
