// What happens when a shim is gone: its exit.fifo reported EOF. The exit recorded in exit.json
// becomes container-exited (process-exited) exactly once; a shim that vanished without exit.json
// leaves a process nobody supervises, so it is killed through the runtime and recorded as exit 255.

import { isNotFound } from "../runtime/client.js";
import { ExitWatch } from "../shim/exit-watch.js";
import { OomWatch } from "../shim/oom-watch.js";
import { type ExitStatus, LOST_EXIT_CODE, readExit, writeLostExit } from "../state/exit.js";
import { nowMicros } from "./clock.js";
import type { Container, ExecProcess } from "./container.js";
import type { SupervisorCore } from "./core.js";
import { deleteContainer } from "./delete.js";

/** What the exit code alone does not say: the signal, an OOM kill, or that berthd had to record it. */
function exitDetail(exit: ExitStatus): string {
  if (exit.recordedByBerthd) return " (recorded by berthd: the shim was lost)";
  const notes = [exit.signal > 0 ? `signal ${exit.signal}` : "", exit.oomKilled ? "OOM-killed" : ""].filter(
    Boolean,
  );
  return notes.length > 0 ? ` (${notes.join(", ")})` : "";
}

function logFailure(core: SupervisorCore, what: string): (error: unknown) => void {
  return (error) => core.log.error(`${what}: ${(error as Error).message}`);
}

/** Starts watching a container's shim (exit and OOM). Exits seen before delivery wait for it. */
export function watchContainer(core: SupervisorCore, container: Container): void {
  container.oomWatch = new OomWatch(container.dir, () =>
    core.whenDelivered(() => core.apply({ kind: "container-oom", container })),
  );
  container.oomWatch.start();
  const exitWatch = new ExitWatch(container.dir);
  container.exitWatch = exitWatch;
  exitWatch.start();
  void exitWatch.gone.then(() =>
    core.whenDelivered(() => {
      container.queue
        .run(() => containerShimGone(core, container))
        .catch(logFailure(core, `container ${container.id}: handling its exit failed`));
    }),
  );
}

/**
 * Kills (through the runtime) a container whose shim is gone without an exit.json and records exit
 * 255 for it: a container is never left running unsupervised.
 */
export async function settleLostShim(core: SupervisorCore, container: Container): Promise<ExitStatus> {
  core.log.error(
    `container ${container.id}: its shim died without recording an exit; killing the container ` +
      `and recording exit ${LOST_EXIT_CODE}`,
  );
  try {
    await container.runtime.kill(container.id, 9, true);
  } catch (error) {
    if (!isNotFound(error)) core.log.warn(`container ${container.id}: ${(error as Error).message}`);
  }
  await writeLostExit(container.dir, container.info.pid, nowMicros());
  return readExit(container.dir)!;
}

async function containerShimGone(core: SupervisorCore, container: Container): Promise<void> {
  if (!core.current(container) || container.deleting || container.record.exitReported) return;
  container.oomWatch?.check();
  container.oomWatch?.close();
  const exit = readExit(container.dir) ?? (await settleLostShim(core, container));
  core.log.info(`container ${container.id}: exited with code ${exit.exitCode}${exitDetail(exit)}`);
  core.apply({ kind: "container-exited", container, exit });
  if (container.request.autoRemove) await deleteContainer(core, container);
}

export function watchProcess(core: SupervisorCore, container: Container, process: ExecProcess): void {
  const exitWatch = new ExitWatch(process.dir);
  process.exitWatch = exitWatch;
  exitWatch.start();
  void exitWatch.gone.then(() =>
    core.whenDelivered(() => {
      container.queue
        .run(() => processShimGone(core, container, process))
        .catch(
          logFailure(core, `container ${container.id} process ${process.info.id}: handling its exit failed`),
        );
    }),
  );
}

async function processShimGone(
  core: SupervisorCore,
  container: Container,
  process: ExecProcess,
): Promise<void> {
  const current = core.current(container) && container.processes.get(process.info.id) === process;
  if (!current || process.record.exitReported) return;
  let exit = readExit(process.dir);
  if (exit === undefined) {
    core.log.error(
      `container ${container.id} process ${process.info.id}: its shim died without recording an exit; ` +
        `killing pid ${process.info.pid} and recording exit ${LOST_EXIT_CODE}`,
    );
    killQuietly(process.info.pid);
    await writeLostExit(process.dir, process.info.pid, nowMicros());
    exit = readExit(process.dir)!;
  }
  core.log.info(
    `container ${container.id} process ${process.info.id}: exited with code ${exit.exitCode}${exitDetail(exit)}`,
  );
  core.apply({ kind: "process-exited", container, process, exit });
}

function killQuietly(pid: number): void {
  if (pid <= 0) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
