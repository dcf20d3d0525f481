// A Supervisor on a temp state dir with real runc/crun and the real shim, for the supervisor's own
// tests (no D-Bus). Events are collected; cleanup kills and deletes every container the state dir
// still holds (through the runtime, then the shims by pid) and removes the dir, even on failure, and
// even when the test process is killed before its hooks run (exit-cleanup.ts).

import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { TestContext } from "node:test";
import winston from "winston";
import { Supervisor } from "../../src/berthd/supervisor/supervisor.js";
import type { BerthdConfig, SupervisorEvent } from "../../src/common/types.js";
import { atExit } from "../fixtures/exit-cleanup.js";
import { makeTempDir } from "../fixtures/temp.js";
import { crun, runc } from "../helpers/runtime.js";
import { SHIM_PATH } from "../helpers/shim.js";

export { processGone } from "../helpers/proc.js";

export interface Harness {
  sv: Supervisor;
  config: BerthdConfig;
  events: SupervisorEvent[];
  logs: string[];
  /**
   * A new Supervisor on the same state dir (a berthd restart), started; it delivers pending events
   * unless `deliver` is false (then the test calls sv.deliverPendingEvents() itself).
   */
  restart(deliver?: boolean): Promise<Harness>;
}

export function testConfig(stateDir: string, overrides: Partial<BerthdConfig> = {}): BerthdConfig {
  const r = runc();
  const c = crun();
  return {
    stateDir,
    runtimes: [
      { name: "runc", path: r.path, args: [...r.globalArgs] },
      { name: "crun", path: c.path, args: [...c.globalArgs] },
    ],
    defaultRuntime: "runc",
    defaultLogDriver: "file",
    maxConcurrentStarts: 10,
    cgroupDriver: "cgroupfs",
    shimPath: SHIM_PATH,
    ...overrides,
  };
}

function collectingLogger(logs: string[]): winston.Logger {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk).trim());
      done();
    },
  });
  return winston.createLogger({
    level: "debug",
    format: winston.format.printf((info) => `${info.level}: ${String(info.message)}`),
    transports: [new winston.transports.Stream({ stream })],
  });
}

/**
 * Kills and deletes every container under the state dir's containers/, whatever berthd thinks.
 * Synchronous, so it can also run as a last-resort exit cleanup (a test process killed mid-test).
 */
function destroyAll(config: BerthdConfig): void {
  const containersDir = join(config.stateDir, "containers");
  let ids: string[] = [];
  try {
    ids = readdirSync(containersDir);
  } catch {
    return;
  }
  for (const id of ids) {
    for (const runtime of config.runtimes) {
      const root = join(config.stateDir, "runtime", runtime.name);
      try {
        execFileSync(runtime.path, [...runtime.args, "--root", root, "delete", "-f", id], {
          stdio: "ignore",
          timeout: 30_000,
        });
      } catch {
        // not this runtime's container, or already gone
      }
    }
    const shimPids = [join(containersDir, id, "shim.pid")];
    try {
      for (const execId of readdirSync(join(containersDir, id, "processes"))) {
        shimPids.push(join(containersDir, id, "processes", execId, "shim.pid"));
      }
    } catch {
      // no exec'd processes
    }
    for (const file of shimPids) {
      try {
        process.kill(Number.parseInt(readFileSync(file, "utf8"), 10), "SIGKILL");
      } catch {
        // gone already
      }
    }
  }
}

export async function makeHarness(t: TestContext, overrides: Partial<BerthdConfig> = {}): Promise<Harness> {
  const dir = makeTempDir("sv");
  const config = testConfig(dir.path, overrides);
  const supervisors: Supervisor[] = [];
  const forget = atExit(() => destroyAll(config));
  t.after(async () => {
    for (const sv of supervisors) await sv.stop();
    destroyAll(config);
    forget();
    await dir.remove();
  });
  async function open(deliver = true): Promise<Harness> {
    const events: SupervisorEvent[] = [];
    const logs: string[] = [];
    const sv = new Supervisor(config, collectingLogger(logs));
    supervisors.push(sv);
    sv.onEvent((event) => events.push(event));
    await sv.start();
    if (deliver) sv.deliverPendingEvents();
    return { sv, config, events, logs, restart: open };
  }
  return open();
}

/** Resolves when `events` holds one matching `match` (polling: events arrive from the event loop). */
export async function waitForEvent(
  events: SupervisorEvent[],
  match: (event: SupervisorEvent) => boolean,
  timeoutMs = 15_000,
): Promise<SupervisorEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = events.find(match);
    if (found !== undefined) return found;
    if (Date.now() > deadline) {
      throw new Error(
        `no matching event within ${timeoutMs} ms; saw ${events.map((e) => e.kind).join(", ")}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The kinds of the events about container `id`, in order (manager events left out). */
export function kindsFor(events: SupervisorEvent[], id: string): string[] {
  return events
    .filter((e) => ("id" in e && e.id === id) || ("info" in e && e.info.id === id))
    .map((e) => (e.kind === "container-changed" ? `changed:${e.changed.status ?? "-"}` : e.kind));
}
