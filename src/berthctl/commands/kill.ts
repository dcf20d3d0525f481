import { flag, value } from "../cli/args.js";
import type { Command } from "../cli/command.js";
import { parseSignal } from "../cli/signals.js";
import { forEachContainer, positionals } from "./shared.js";

export const command: Command = {
  usage: "[OPTIONS] CONTAINER...",
  description:
    "Sends a signal (default SIGTERM) to each container's init process, or with --all to every\n" +
    "process in the container. Prints each id. A container's init ignores signals it has no\n" +
    "handler for (it is PID 1 of its namespace): use -s KILL to stop it for sure.",
  options: [
    {
      name: "signal",
      short: "s",
      value: "SIGNAL",
      help: "signal name or number: TERM, SIGKILL, 9, ... (default TERM)",
    },
    { name: "all", short: "a", help: "signal every process of the container, not only its init" },
  ],
  async run(ctx, args) {
    const ids = positionals(args, 1, Number.POSITIVE_INFINITY, "CONTAINER");
    const signal = parseSignal(value(args, "signal") ?? "TERM");
    const whom = flag(args, "all") ? "all" : "init";
    const client = await ctx.client();
    return forEachContainer(ctx, ids, "kill", async (id) => {
      await client.kill(id, whom, signal);
      ctx.out(`${id}\n`);
    });
  },
};
