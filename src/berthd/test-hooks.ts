// Hooks that exist only for tests of berthd under a real service manager (test/systemd/). They are
// off unless berthd runs with BERTHD_TEST_HOOKS=1 in its environment (a drop-in for berthd.service in
// the test's sandbox), so a production berthd never reacts to them.
//
// SIGUSR2: block the event loop for good (Atomics.wait on a never-notified word: no CPU burnt), as a
// deadlocked berthd would. Nothing answers and no WATCHDOG=1 is sent, so systemd's watchdog
// (WatchdogSec=) must kill and restart it: test/systemd/faults.test.ts checks that it does.

import type { Logger } from "./log.js";

export function installTestHooks(log: Logger, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.BERTHD_TEST_HOOKS !== "1") return false;
  log.warn("test hooks enabled (BERTHD_TEST_HOOKS=1): SIGUSR2 hangs berthd on purpose");
  process.on("SIGUSR2", () => {
    log.warn("SIGUSR2 (test hook): hanging the event loop until the watchdog acts");
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  });
  return true;
}
