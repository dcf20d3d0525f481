// Pause(), Resume(): the runtime freezes and thaws the container's cgroup.

import { InvalidStateError } from "../../common/errors.js";
import type { Container } from "./container.js";
import type { SupervisorCore } from "./core.js";

export async function pauseContainer(core: SupervisorCore, container: Container): Promise<void> {
  if (container.info.status !== "running") {
    throw new InvalidStateError(
      `container ${container.id} is ${container.info.status}: only a running one can be paused`,
    );
  }
  await container.runtime.pause(container.id);
  core.log.info(`container ${container.id}: paused`);
  core.apply({ kind: "container-paused", container });
}

export async function resumeContainer(core: SupervisorCore, container: Container): Promise<void> {
  if (container.info.status !== "paused") {
    throw new InvalidStateError(
      `container ${container.id} is ${container.info.status}: only a paused one can be resumed`,
    );
  }
  await container.runtime.resume(container.id);
  core.log.info(`container ${container.id}: resumed`);
  core.apply({ kind: "container-resumed", container });
}
