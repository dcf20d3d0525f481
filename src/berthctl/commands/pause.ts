import { perContainerCommand } from "./shared.js";

export const command = perContainerCommand(
  "pause",
  "Freezes every process of running containers (the runtime's pause) and prints each id.",
  (client, id) => client.pause(id),
);
