#!/usr/bin/env node
// berthctl: the command-line client of berthd. Parses the command line, loads the one subcommand it
// runs, and turns every failure into one line on stderr and a documented exit code.

import { parseArgs, value } from "./cli/args.js";
import { type Context, GLOBAL_OPTIONS } from "./cli/command.js";
import { findCommand } from "./cli/commands.js";
import { openContext } from "./cli/context.js";
import { describe, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from "./cli/errors.js";
import { commandHelp, mainHelp } from "./cli/help.js";

/** The exit code for a failure of berthctl or berthd: 1, or 125 for commands that run a process. */
let failureExitCode = EXIT_FAILURE;

async function main(argv: string[]): Promise<number> {
  let commandName: string | undefined;
  let ctx: (Context & { close(): void }) | undefined;
  try {
    const top = parseArgs(argv, { options: GLOBAL_OPTIONS, stopAfterPositionals: 1 });
    commandName = top.positionals[0];
    if (commandName === undefined || commandName === "help") {
      const wanted = top.options.get("help") === true || commandName === "help";
      (wanted ? process.stdout : process.stderr).write(mainHelp());
      return wanted ? EXIT_OK : EXIT_USAGE;
    }
    const entry = findCommand(commandName);
    if (!entry) throw new UsageError(`unknown command "${commandName}"`);
    const command = await entry.load();
    failureExitCode = command.failureExitCode ?? EXIT_FAILURE;
    const args = parseArgs(top.positionals.slice(1), {
      options: [...command.options, ...GLOBAL_OPTIONS],
      stopAfterPositionals: command.stopAfterPositionals,
    });
    if (args.options.get("help") === true || top.options.get("help") === true) {
      process.stdout.write(commandHelp(commandName, command));
      return EXIT_OK;
    }
    const timeout = value(args, "timeout") ?? value(top, "timeout") ?? process.env.BERTH_TIMEOUT;
    ctx = openContext({
      address: value(args, "address") ?? value(top, "address"),
      timeoutSeconds: parseTimeout(timeout),
      env: process.env,
    });
    return await command.run(ctx, args);
  } catch (error) {
    if (error instanceof UsageError) {
      const where = commandName && findCommand(commandName) ? `${commandName}: ` : "";
      const help = where ? `berthctl ${commandName} --help` : "berthctl --help";
      process.stderr.write(`berthctl: ${where}${error.message} (see '${help}')\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`berthctl: ${describe(error)}\n`);
    return failureExitCode;
  } finally {
    ctx?.close();
  }
}

function parseTimeout(text: string | undefined): number {
  if (text === undefined) return 30;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new UsageError(`--timeout needs a positive number of seconds, not "${text}"`);
  return seconds;
}

// Last line of defence: a library throwing from an event handler still ends as one line, not a trace.
for (const event of ["uncaughtException", "unhandledRejection"] as const) {
  process.on(event, (error: unknown) => {
    process.stderr.write(`berthctl: internal error: ${describe(error)}\n`);
    process.exit(failureExitCode);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    // Unreachable by design (main catches everything); still no stack trace for the user.
    process.stderr.write(`berthctl: ${describe(error)}\n`);
    process.exit(EXIT_FAILURE);
  },
);
