import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { containerTarget, type Properties } from "../api/client.js";
import { watchExit } from "../api/exit-watch.js";
import { flag, integerValue } from "../cli/args.js";
import type { Command } from "../cli/command.js";
import { ClientError, step } from "../cli/errors.js";
import { CriParser, type LogLine } from "../logs/cri.js";
import { journalctlArgs, logDriver, readLogFile, readLogTail } from "../logs/source.js";
import { positionals } from "./shared.js";

/** How often a followed log file is read again. */
const FOLLOW_INTERVAL_MS = 200;
/** After the container exits, how long journalctl -f gets to print the last records. */
const JOURNAL_SETTLE_MS = 500;

export const command: Command = {
  usage: "[OPTIONS] CONTAINER",
  description:
    'Prints a container\'s output. With LogDriver "file" it reads the CRI-format file at LogPath\n' +
    '(stdout lines to stdout, stderr lines to stderr); with "journald" it runs\n' +
    "'journalctl CONTAINER_ID=<id> -o cat' (both streams to stdout). \"none\" keeps no output.\n" +
    "-f follows new output until the container exits.",
  options: [
    { name: "follow", short: "f", help: "keep printing new output until the container exits" },
    { name: "tail", short: "n", value: "N", help: "print only the last N lines" },
  ],
  async run(ctx, args) {
    const [id] = positionals(args, 1, 1, "CONTAINER") as [string];
    const tail = integerValue(args, "tail");
    const follow = flag(args, "follow");
    const client = await ctx.client();
    // Subscribe before reading the status, so an exit between the two is not missed.
    const exited = follow ? (await step(`logs ${id}`, watchExit(client, id))).exited : undefined;
    const props = await step(`logs ${id}`, client.properties(containerTarget(id)));
    const stillRunning = exited && props.Status !== "stopped" ? exited : undefined;
    const driver = logDriver(props);
    if (driver === "journald") return followJournal(id, tail, stillRunning);
    if (driver === "file") return printFile(props, tail, stillRunning);
    throw new ClientError(`logs ${id}: the container keeps no output (LogDriver "${driver}")`);
  },
};

function printLines(lines: LogLine[]): void {
  for (const line of lines)
    (line.stream === "stderr" ? process.stderr : process.stdout).write(`${line.text}\n`);
}

async function printFile(
  props: Properties,
  tail: number | undefined,
  exited: Promise<unknown> | undefined,
): Promise<number> {
  const path = String(props.LogPath);
  // One parser for the whole run: it carries a record cut at the end of one read over to the next.
  let parser = new CriParser();
  let offset = 0;
  if (tail === undefined) {
    const all = await readLogFile(path, 0, parser);
    printLines(all.lines);
    offset = all.offset;
  } else {
    const last = await readLogTail(path, tail);
    printLines(last.lines);
    ({ parser, offset } = last);
  }
  if (!exited) return 0;
  let done = false;
  void exited.then(() => {
    done = true;
  });
  while (!done) {
    await sleep(FOLLOW_INTERVAL_MS);
    const next = await readLogFile(path, offset, parser);
    offset = next.offset;
    printLines(next.lines);
  }
  // The shim has drained and written everything before the exit is reported: one last read.
  printLines((await readLogFile(path, offset, parser)).lines);
  return 0;
}

function followJournal(
  id: string,
  tail: number | undefined,
  exited: Promise<unknown> | undefined,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("journalctl", journalctlArgs(id, tail, exited !== undefined), {
      stdio: ["ignore", "inherit", "inherit"],
    });
    child.on("error", (error) => reject(new ClientError(`cannot run journalctl: ${error.message}`)));
    child.on("close", (code, signal) => resolve(signal === "SIGTERM" ? 0 : (code ?? 1)));
    void exited?.then(async () => {
      await sleep(JOURNAL_SETTLE_MS);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    });
  });
}
