// Start(): the runtime's start runs the user process of a created container.

import { InvalidStateError } from "../../common/errors.js";
import { nowMicros } from "./clock.js";
import type { Container } from "./container.js";
import type { SupervisorCore } from "./core.js";

/**
 * Runs inside the container's queue. `holdsSlot`: the caller (RunContainer) already holds a start
 * slot; otherwise this takes one, so the runtime start counts against MaxConcurrentStarts.
 */
export async function startContainer(
  core: SupervisorCore,
  container: Container,
  holdsSlot: boolean,
): Promise<void> {
  const { id, status } = container.info;
  if (status !== "created") {
    throw new InvalidStateError(`container ${id} is ${status}: only a created container can be started`);
  }
  let startedAt = 0n;
  const start = () => {
    // Taken before the call: the process may run (and even exit) before the runtime returns.
    startedAt = nowMicros();
    return container.runtime.start(id);
  };
  await (holdsSlot ? start() : core.limiter.run(start));
  core.log.info(`container ${id}: started, pid ${container.info.pid}`);
  core.apply({ kind: "container-started", container, startedAt });
}
