// Delete(): only a created or stopped container. The runtime forgets it, its shims are gone, its
// state dir is removed, and container-removed is the last event it ever gets.

import { rm } from "node:fs/promises";
import { InvalidStateError } from "../../common/errors.js";
import { isNotFound } from "../runtime/client.js";
import type { Container } from "./container.js";
import type { SupervisorCore } from "./core.js";
import { removeScope } from "./shim-scope.js";

/** How long Delete waits for a killed created container's shim (or an exec's shim) to go. */
const SHIM_GONE_TIMEOUT_MS = 10_000;

async function gone(shimGone: Promise<void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), SHIM_GONE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([shimGone.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs inside the container's queue. */
export async function deleteContainer(core: SupervisorCore, container: Container): Promise<void> {
  const { id, status } = container.info;
  if (status === "running" || status === "paused") {
    throw new InvalidStateError(`container ${id} is ${status}: kill it and let it exit before deleting it`);
  }
  container.deleting = true;
  try {
    // A created container's init is waiting for start: delete -f kills it, and its shim then exits.
    await container.runtime.delete(id, status === "created");
  } catch (error) {
    if (!isNotFound(error)) {
      container.deleting = false;
      throw error;
    }
  }
  if (!(await gone(container.shimGone))) core.log.warn(`container ${id}: its shim did not exit after delete`);
  for (const process of container.processes.values()) {
    if (!(await gone(process.shimGone))) {
      core.log.warn(`container ${id} process ${process.info.id}: its shim did not exit after delete`);
    }
    await removeScope(core, process.record.unit);
    core.apply({ kind: "process-removed", container, process });
  }
  // Normally collected already (the shim exited); a shim that did not exit is killed with its scope.
  await removeScope(core, container.record.unit);
  container.closeWatches();
  await rm(container.dir, { recursive: true, force: true, maxRetries: 3 });
  core.log.info(`container ${id}: deleted`);
  core.apply({ kind: "container-removed", container });
}
