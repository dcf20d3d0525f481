import type { Properties } from "../api/client.js";
import { flag } from "../cli/args.js";
import type { Command } from "../cli/command.js";
import { step } from "../cli/errors.js";
import { toJson } from "../format/json.js";
import { renderTable } from "../format/table.js";
import { positionals } from "./shared.js";

export const command: Command = {
  usage: "[OPTIONS] CONTAINER...",
  description:
    "Prints one sample of each container's resource use (GetStats): memory in use, CPU time consumed,\n" +
    "and the number of processes. --json prints an object per container id with every field berthd\n" +
    "reports (MemoryCurrent in bytes, CPUUsageNSec in ns, Pids, and any extra fields).",
  options: [{ name: "json", help: "print a JSON object keyed by container id" }],
  async run(ctx, args) {
    const ids = positionals(args, 1, Number.POSITIVE_INFINITY, "CONTAINER");
    const client = await ctx.client();
    const samples: Record<string, Properties> = {};
    for (const id of ids) samples[id] = await step(`stats ${id}`, client.stats(id));
    if (flag(args, "json")) {
      ctx.out(`${toJson(samples)}\n`);
      return 0;
    }
    const rows = ids.map((id) => {
      const s = samples[id]!;
      return [id, formatBytes(s.MemoryCurrent), formatCpu(s.CPUUsageNSec), String(s.Pids ?? "-")];
    });
    ctx.out(renderTable(["CONTAINER", "MEMORY", "CPU", "PIDS"], rows));
    return 0;
  },
};

function formatBytes(v: unknown): string {
  if (typeof v !== "bigint" && typeof v !== "number") return "-";
  const n = Number(v);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let x = n;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${x.toFixed(1)} ${units[i]}`;
}

function formatCpu(v: unknown): string {
  if (typeof v !== "bigint" && typeof v !== "number") return "-";
  return `${(Number(v) / 1e9).toFixed(3)} s`;
}
