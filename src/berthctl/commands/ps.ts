import { CONTAINER_INTERFACE } from "../../common/bus-path.js";
import type { Properties } from "../api/client.js";
import { flag } from "../cli/args.js";
import type { Command } from "../cli/command.js";
import { step } from "../cli/errors.js";
import { toJson } from "../format/json.js";
import { renderTable } from "../format/table.js";
import { formatAgo } from "../format/time.js";
import { describeStatus } from "./container-status.js";
import { positionals } from "./shared.js";

export const command: Command = {
  usage: "[OPTIONS]",
  description:
    "Lists containers: created, running and paused ones, and with -a stopped ones too, oldest first.\n" +
    "--json prints every property of each container (an array of objects); -q prints ids only.",
  options: [
    { name: "all", short: "a", help: "include stopped containers" },
    { name: "quiet", short: "q", help: "print container ids only, one a line" },
    { name: "json", help: "print a JSON array of containers with all their properties" },
  ],
  async run(ctx, args) {
    positionals(args, 0, 0, "no arguments");
    const all = flag(args, "all");
    const client = await ctx.client();
    if (flag(args, "quiet")) {
      // ListContainers is the cheapest call: id, status, pid only.
      const list = await step("list containers", client.listContainers());
      for (const c of list) if (all || c.status !== "stopped") ctx.out(`${c.id}\n`);
      return 0;
    }
    const objects = await step("list containers", client.managedObjects());
    const containers: Properties[] = [];
    for (const ifaces of objects.values()) {
      const props = ifaces.get(CONTAINER_INTERFACE);
      if (props && (all || props.Status !== "stopped")) containers.push(props);
    }
    containers.sort((a, b) => Number(BigInt(a.CreatedAt as bigint) - BigInt(b.CreatedAt as bigint)));
    if (flag(args, "json")) {
      ctx.out(`${toJson(containers)}\n`);
      return 0;
    }
    const now = Date.now();
    const rows = containers.map((c) => [
      String(c.Id),
      describeStatus(c, now),
      c.Pid ? String(c.Pid) : "-",
      String(c.Runtime),
      formatAgo(c.CreatedAt as bigint, now),
      String(c.Bundle),
    ]);
    ctx.out(renderTable(["CONTAINER", "STATUS", "PID", "RUNTIME", "CREATED", "BUNDLE"], rows));
    return 0;
  },
};
