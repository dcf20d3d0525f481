import { containerTarget } from "../api/client.js";
import type { Command } from "../cli/command.js";
import { forEachContainer, positionals } from "./shared.js";

export const command: Command = {
  usage: "CONTAINER...",
  description:
    "Waits until each container has exited and prints its exit code (128+N for signal N), one line\n" +
    "per container in the order given. Returns at once for containers that have already exited.\n" +
    "Exits 0 when every wait succeeded (the codes are printed, not returned).",
  options: [],
  async run(ctx, args) {
    const ids = positionals(args, 1, Number.POSITIVE_INFINITY, "CONTAINER");
    const client = await ctx.client();
    return forEachContainer(ctx, ids, "wait", async (id) => {
      ctx.out(`${await client.wait(containerTarget(id))}\n`);
    });
  },
};
