import { containerTarget } from "../api/client.js";
import { flag } from "../cli/args.js";
import type { Command } from "../cli/command.js";
import { step } from "../cli/errors.js";
import { toJson } from "../format/json.js";
import { positionals } from "./shared.js";

export const command: Command = {
  usage: "[OPTIONS] CONTAINER",
  description:
    "Prints every property of the container's D-Bus object (org.berth.Supervisor1.Container), as\n" +
    "Key=Value lines like 'systemctl show', or with --json as one JSON object. Times are µs since\n" +
    "the epoch (0 = not yet); ExitCode is -1 until the container has exited.",
  options: [{ name: "json", help: "print one JSON object" }],
  async run(ctx, args) {
    const [id] = positionals(args, 1, 1, "CONTAINER") as [string];
    const client = await ctx.client();
    const props = await step(`inspect ${id}`, client.properties(containerTarget(id)));
    if (flag(args, "json")) {
      ctx.out(`${toJson(props)}\n`);
      return 0;
    }
    for (const [key, v] of Object.entries(props)) ctx.out(`${key}=${showValue(v)}\n`);
    return 0;
  },
};

function showValue(v: unknown): string {
  if (Array.isArray(v)) return v.map(String).join(" ");
  if (v !== null && typeof v === "object")
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}=${String(x)}`)
      .join(" ");
  return String(v);
}
