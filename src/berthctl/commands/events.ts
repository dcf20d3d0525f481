import {
  CONTAINER_INTERFACE,
  MANAGER_INTERFACE,
  PROCESS_INTERFACE,
  parseObjectPath,
} from "../../common/bus-path.js";
import type { Signal } from "../bus/connection.js";
import { flag } from "../cli/args.js";
import type { Command } from "../cli/command.js";
import { step } from "../cli/errors.js";
import { toJson } from "../format/json.js";
import { positionals } from "./shared.js";

const PROPERTIES = "org.freedesktop.DBus.Properties";

export interface BerthEvent {
  time: string;
  event: string;
  container?: string;
  exec?: string;
  /** The event's own values (exit code, changed properties, ...). */
  details: Record<string, unknown>;
}

export const command: Command = {
  usage: "[OPTIONS]",
  description:
    "Follows berthd's signals and prints one line per event until interrupted:\n" +
    "  created / removed            ContainerNew, ContainerRemoved\n" +
    "  status                       a Status property change (running, paused, stopped)\n" +
    "  exited / oom                 a container's Exited (exit code, OOM kill) and OOM signals\n" +
    "  exec-exited                  an exec'd process's Exited\n" +
    "  changed                      any other property change (the manager's start queue, ...)\n" +
    "--json prints one JSON object a line: {time, event, container, exec, details}.",
  options: [{ name: "json", help: "one JSON object a line" }],
  async run(ctx, args) {
    positionals(args, 0, 0, "no arguments");
    const json = flag(args, "json");
    const client = await ctx.client();
    await step(
      "subscribe to berthd's signals",
      client.subscribe((signal) => {
        const event = toEvent(signal, new Date());
        if (event) ctx.out(json ? `${toJson(event, 0)}\n` : `${formatEvent(event)}\n`);
      }),
    );
    // Follows until the connection ends or the user interrupts.
    return new Promise<number>((resolve) => {
      process.once("SIGINT", () => resolve(0));
      process.once("SIGTERM", () => resolve(0));
      client.bus.ended.then(() => resolve(1));
    });
  },
};

function unwrapDict(dict: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(dict as Record<string, { value: unknown }>)) out[k] = v.value;
  return out;
}

export function toEvent(signal: Signal, now: Date): BerthEvent | undefined {
  const where = parseObjectPath(signal.path);
  const base = { time: now.toISOString(), container: where?.containerId, exec: where?.execId };
  const b = signal.body;
  if (signal.interface === MANAGER_INTERFACE && signal.member === "ContainerNew")
    return { ...base, event: "created", container: String(b[0]), details: {} };
  if (signal.interface === MANAGER_INTERFACE && signal.member === "ContainerRemoved")
    return { ...base, event: "removed", container: String(b[0]), details: {} };
  if (signal.interface === CONTAINER_INTERFACE && signal.member === "Exited")
    return { ...base, event: "exited", details: { ExitCode: b[0], ExitedAt: b[1], OOMKilled: b[2] } };
  if (signal.interface === CONTAINER_INTERFACE && signal.member === "OOM")
    return { ...base, event: "oom", details: {} };
  if (signal.interface === PROCESS_INTERFACE && signal.member === "Exited")
    return { ...base, event: "exec-exited", details: { ExitCode: b[0], ExitedAt: b[1] } };
  if (signal.interface === PROPERTIES && signal.member === "PropertiesChanged") {
    const changed = unwrapDict(b[1]);
    const event = "Status" in changed ? "status" : "changed";
    return { ...base, event, details: { interface: b[0], ...changed } };
  }
  return undefined;
}

export function formatEvent(event: BerthEvent): string {
  const who = event.container ? ` ${event.container}${event.exec ? `/${event.exec}` : ""}` : "";
  const details = Object.entries(event.details)
    .filter(([k]) => k !== "interface")
    .map(([k, v]) => `${k}=${typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)}`)
    .join(" ");
  return `${event.time} ${event.event}${who}${details ? ` ${details}` : ""}`;
}
