import { VERSION } from "../../common/version.js";
import type { Command } from "../cli/command.js";
import { describe } from "../cli/errors.js";
import { positionals } from "./shared.js";

export const command: Command = {
  usage: "",
  description:
    "Prints berthctl's version and berthd's (its Version property). When berthd cannot be reached,\n" +
    "the client version is still printed, the reason goes to stderr, and the exit code is 1.",
  options: [],
  async run(ctx, args) {
    positionals(args, 0, 0, "no arguments");
    ctx.out(`berthctl ${VERSION}\n`);
    try {
      const props = await (await ctx.client()).managerProperties();
      ctx.out(`berthd ${String(props.Version)}\n`);
      return 0;
    } catch (error) {
      ctx.warn(`berthd version: ${describe(error)}`);
      return 1;
    }
  },
};
