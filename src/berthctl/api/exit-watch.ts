// Learning that a container has exited from berthd's signals: Exited on its object, or
// ContainerRemoved (an AutoRemove container may be gone before a Wait call could reply).

import { CONTAINER_INTERFACE, containerPath, MANAGER_INTERFACE } from "../../common/bus-path.js";
import type { BerthClient } from "./client.js";

export interface ExitNotice {
  /** The exit code when the Exited signal carried it; undefined when only the removal was seen. */
  exitCode: number | undefined;
}

/**
 * Subscribes (resolves once the match is in place) and hands back a promise of the container's exit.
 * Subscribe before starting the container, or check its status after subscribing: a signal sent
 * before the match existed is not delivered.
 */
export async function watchExit(client: BerthClient, id: string): Promise<{ exited: Promise<ExitNotice> }> {
  const path = containerPath(id);
  let notify: (notice: ExitNotice) => void = () => {};
  const exited = new Promise<ExitNotice>((resolve) => {
    notify = resolve;
  });
  await client.subscribe((signal) => {
    if (signal.path === path && signal.interface === CONTAINER_INTERFACE && signal.member === "Exited")
      notify({ exitCode: Number(signal.body[0]) });
    else if (
      signal.interface === MANAGER_INTERFACE &&
      signal.member === "ContainerRemoved" &&
      signal.body[0] === id
    )
      notify({ exitCode: undefined });
  });
  return { exited };
}
