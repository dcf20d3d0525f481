// Start(): the runtime's start runs the user process of a created container. (RunContainer's start
// runs inside its shim instead: create.ts.)

import { InvalidStateError } from "../../common/errors.js";
import { nowMicros } from "./clock.js";
import type { Container } from "./container.js";
import type { SupervisorCore } from "./core.js";

/** Runs in the container's queue and in a start slot (the start counts against MaxConcurrentStarts). */
export async function startContainer(core: SupervisorCore, container: Container): Promise<void> {
  const { id, status } = container.info;
  if (status !== "created") {
    throw new InvalidStateError(`container ${id} is ${status}: only a created container can be started`);
  }
  let startedAt = 0n;
  await core.limiter.run(() => {
    // Taken before the call: the process may run (and even exit) before the runtime returns.
    startedAt = nowMicros();
    return container.runtime.start(id);
  });
  core.log.info(`container ${id}: started, pid ${container.info.pid}`);
  core.apply({ kind: "container-started", container, startedAt });
}
