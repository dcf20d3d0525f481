// Run inside the sandbox as a systemd service by notify.test.ts: drives src/berthd/systemd/notify.ts
// against the real systemd. Usage: node notify-probe.js MODE
//   ready TEXT  STATUS=TEXT + READY=1, pings the watchdog for 3 s, STOPPING=1, exits 0
//   silent      READY=1, then no watchdog pings for 3 s (systemd must kill it)
//   pid         pidNotify() for a child of ours (systemd must see the child as the sender), prints the
//               child's pid, then READY=1
//   listen      prints listenFds() and the fds' types, and whether LISTEN_FDS is left set

import { spawn } from "node:child_process";
import { fstatSync } from "node:fs";
import { listenFds, notify, pidNotify, Watchdog, watchdogUsec } from "../../src/berthd/systemd/notify.js";

const mode = process.argv[2];
const hold = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

if (mode === "ready") {
  notify({ STATUS: process.argv[3] ?? "" });
  notify("READY=1");
  const watchdog = new Watchdog();
  watchdog.start();
  process.stdout.write(`watchdog usec=${watchdogUsec()} interval=${watchdog.intervalMs}\n`);
  await hold(3000);
  watchdog.stop();
  notify("STOPPING=1");
} else if (mode === "silent") {
  notify("READY=1");
  await hold(3000);
} else if (mode === "pid") {
  const child = spawn("sleep", ["10"], { stdio: "ignore" });
  pidNotify(child.pid as number, "STATUS=sent for the child");
  process.stdout.write(`child pid=${child.pid}\n`);
  child.kill();
  notify("READY=1");
} else if (mode === "listen") {
  const fds = listenFds();
  const kinds = fds.map((fd) => (fstatSync(fd).isSocket() ? "socket" : "other"));
  process.stdout.write(`${JSON.stringify({ fds, kinds, left: process.env.LISTEN_FDS ?? null })}\n`);
} else {
  process.stderr.write(`notify-probe: unknown mode ${mode}\n`);
  process.exit(2);
}
