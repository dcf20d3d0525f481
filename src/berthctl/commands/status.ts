import { containerTarget, type Properties } from "../api/client.js";
import { integerValue } from "../cli/args.js";
import type { Command } from "../cli/command.js";
import { describe, step } from "../cli/errors.js";
import { formatAgo, formatMicros } from "../format/time.js";
import { lastLines } from "../logs/source.js";
import { positionals } from "./shared.js";

export const command: Command = {
  usage: "[OPTIONS] CONTAINER",
  description:
    "Shows a container like 'systemctl status' shows a unit: its status, pids, unit, runtime, bundle,\n" +
    "times, exit code, OOM kill, and the last lines of its output (from the journal or its log file).",
  options: [{ name: "lines", short: "n", value: "N", help: "how many log lines to show (default 10)" }],
  async run(ctx, args) {
    const [id] = positionals(args, 1, 1, "CONTAINER") as [string];
    const count = integerValue(args, "lines") ?? 10;
    const client = await ctx.client();
    const props = await step(`status ${id}`, client.properties(containerTarget(id)));
    ctx.out(render(props, Date.now()));
    if (count > 0) {
      try {
        const lines = await lastLines(props, count);
        if (lines.length > 0) ctx.out(`\n${lines.join("\n")}\n`);
      } catch (error) {
        ctx.out(`\n(no log lines: ${describe(error)})\n`);
      }
    }
    return 0;
  },
};

function when(micros: unknown, nowMs: number): string {
  const t = typeof micros === "bigint" ? micros : 0n;
  return t === 0n ? "-" : `${formatMicros(t)}; ${formatAgo(t, nowMs)}`;
}

export function render(p: Properties, nowMs: number): string {
  const status = String(p.Status);
  const since =
    status === "running" || status === "paused"
      ? ` since ${when(p.StartedAt, nowMs)}`
      : status === "stopped"
        ? ` since ${when(p.ExitedAt, nowMs)}`
        : "";
  const labels = Object.entries((p.Labels ?? {}) as Record<string, string>)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  const exitCode = Number(p.ExitCode);
  const rows: [string, string][] = [
    ["Status", `${status}${since}`],
    ["PID", p.Pid ? String(p.Pid) : "-"],
    ["Shim PID", p.ShimPid ? String(p.ShimPid) : "-"],
    ["Unit", p.Unit ? String(p.Unit) : "-"],
    ["Runtime", String(p.Runtime)],
    ["Bundle", String(p.Bundle)],
    ["Terminal", p.Terminal ? "yes" : "no"],
    ["Created", when(p.CreatedAt, nowMs)],
    ["Started", when(p.StartedAt, nowMs)],
    ["Exited", when(p.ExitedAt, nowMs)],
    [
      "Exit code",
      exitCode < 0 ? "-" : exitCode > 128 ? `${exitCode} (signal ${exitCode - 128})` : String(exitCode),
    ],
    ["OOM killed", p.OOMKilled ? "yes" : "no"],
    ["Labels", labels || "-"],
    ["Log", p.LogPath ? `${p.LogDriver} ${p.LogPath}` : String(p.LogDriver)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return `● ${p.Id} - ${status}\n${rows.map(([k, v]) => `${k.padStart(width + 2)}: ${v}`).join("\n")}\n`;
}
