// The subcommands, each loaded only when it runs (start-up cost: `berthctl ps` loads ps alone).

import type { Command } from "./command.js";

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

const entry = (name: string, summary: string, load: () => Promise<{ command: Command }>): CommandEntry => ({
  name,
  summary,
  load: async () => (await load()).command,
});

export const COMMANDS: CommandEntry[] = [
  entry(
    "create",
    "create a container from an OCI bundle (not started)",
    () => import("../commands/create.js"),
  ),
  entry("start", "start created containers", () => import("../commands/start.js")),
  entry("run", "create and start a container, attached unless -d", () => import("../commands/run.js")),
  entry("ps", "list containers", () => import("../commands/ps.js")),
  entry("status", "show a container's state and its last log lines", () => import("../commands/status.js")),
  entry("inspect", "show every property of a container", () => import("../commands/inspect.js")),
  entry("kill", "send a signal to containers", () => import("../commands/kill.js")),
  entry("pause", "freeze containers", () => import("../commands/pause.js")),
  entry("resume", "thaw paused containers", () => import("../commands/resume.js")),
  entry("rm", "delete containers (-f: kill running ones first)", () => import("../commands/rm.js")),
  entry("exec", "run a process in a running container", () => import("../commands/exec.js")),
  entry("attach", "attach to a running container's stdio", () => import("../commands/attach.js")),
  entry("logs", "show a container's output (journal or log file)", () => import("../commands/logs.js")),
  entry("wait", "wait for containers to exit; print their exit codes", () => import("../commands/wait.js")),
  entry("stats", "show containers' memory, CPU and process counts", () => import("../commands/stats.js")),
  entry("events", "follow berthd's signals, one line each", () => import("../commands/events.js")),
  entry("version", "show berthctl's and berthd's versions", () => import("../commands/version.js")),
];

export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}
