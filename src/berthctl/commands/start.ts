import { perContainerCommand } from "./shared.js";

export const command = perContainerCommand(
  "start",
  "Starts containers that were created (berthctl create) and prints each id.\n" +
    "To see a container's output as it starts, use 'berthctl run' or 'berthctl attach'.",
  (client, id) => client.start(id),
);
