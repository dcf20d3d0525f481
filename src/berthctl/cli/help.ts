// --help text, generated from the option specs so it never drifts from what the parser accepts.

import type { OptionSpec } from "./args.js";
import type { Command } from "./command.js";
import { GLOBAL_OPTIONS } from "./command.js";
import { COMMANDS } from "./commands.js";

function optionLines(options: OptionSpec[]): string {
  const left = options.map((o) => {
    const names = `${o.short ? `-${o.short}, ` : "    "}--${o.name}`;
    return o.value ? `${names} ${o.value}` : names;
  });
  const width = Math.max(...left.map((l) => l.length));
  return options.map((o, i) => `  ${left[i]!.padEnd(width)}  ${o.help}`).join("\n");
}

export function commandHelp(name: string, command: Command): string {
  const own = command.options.length > 0 ? `Options:\n${optionLines(command.options)}\n\n` : "";
  return (
    `Usage: berthctl ${name} ${command.usage}\n\n${command.description}\n\n${own}` +
    `Global options:\n${optionLines(GLOBAL_OPTIONS)}\n`
  );
}

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const commands = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n");
  return (
    "Usage: berthctl [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\n" +
    "Control berthd, the berth container supervisor, over D-Bus.\n\n" +
    `Commands:\n${commands}\n\n` +
    `Global options:\n${optionLines(GLOBAL_OPTIONS)}\n\n` +
    "Exit codes: 0 ok, 1 the request failed, 2 usage error; run, exec and attach exit with the\n" +
    "container process's code, or 125 when berthctl or berthd failed.\n" +
    "Run 'berthctl COMMAND --help' for a command's options. See docs/berthctl.md.\n"
  );
}
