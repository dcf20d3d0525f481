// Kill(): a signal to the container's init, or to all its processes, through the runtime.

import { InvalidStateError } from "../../common/errors.js";
import type { KillWhom } from "../../common/types.js";
import type { Container } from "./container.js";

export async function killContainer(container: Container, whom: KillWhom, signal: number): Promise<void> {
  if (container.info.status === "stopped") {
    throw new InvalidStateError(`container ${container.id} is stopped: there is nothing to kill`);
  }
  await container.runtime.kill(container.id, signal, whom === "all");
}
