import { perContainerCommand } from "./shared.js";

export const command = perContainerCommand(
  "resume",
  "Thaws paused containers (the runtime's resume) and prints each id.",
  (client, id) => client.resume(id),
);
