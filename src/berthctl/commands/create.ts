import type { Command } from "../cli/command.js";
import { step } from "../cli/errors.js";
import { bundlePath, CREATE_OPTIONS, createRequest } from "./create-options.js";
import { positionals } from "./shared.js";

export const command: Command = {
  usage: "[OPTIONS] CONTAINER BUNDLE",
  description:
    "Creates a container from an OCI bundle (a directory with config.json and rootfs/) and prints\n" +
    "its id. The container is in status \"created\": its process has not run yet; 'berthctl start'\n" +
    "runs it. Whether it has a terminal comes from the bundle's config.json (process.terminal).",
  options: CREATE_OPTIONS,
  async run(ctx, args) {
    const [id, bundle] = positionals(args, 2, 2, "CONTAINER BUNDLE") as [string, string];
    const request = createRequest(args);
    const client = await ctx.client();
    await step(`create ${id}`, client.createContainer(id, bundlePath(bundle), request));
    ctx.out(`${id}\n`);
    return 0;
  },
};
