// What a subcommand module exports, and the context it runs in. The context opens the bus connection
// on first use, so `--help` and usage errors never load dbus-next or touch a socket.

import type { BerthClient } from "../api/client.js";
import type { OptionSpec, ParsedArgs } from "./args.js";

export interface Command {
  /** After "berthctl <name> ": e.g. "[OPTIONS] CONTAINER...". */
  usage: string;
  description: string;
  options: OptionSpec[];
  /** Options stop after this many positionals (exec: the container id; the rest is the command). */
  stopAfterPositionals?: number;
  /** The exit code when berthctl or the daemon fails (run/exec/attach: 125, like docker). */
  failureExitCode?: number;
  run(ctx: Context, args: ParsedArgs): Promise<number>;
}

export interface Context {
  /** The connected client; opened on first call. */
  client(): Promise<BerthClient>;
  readonly env: NodeJS.ProcessEnv;
  /** Writes to stdout. */
  out(text: string): void;
  /** Writes a one-line warning to stderr ("berthctl: ..."). */
  warn(text: string): void;
}

/** Options every subcommand accepts (also before the subcommand name). */
export const GLOBAL_OPTIONS: OptionSpec[] = [
  {
    name: "address",
    value: "ADDRESS",
    help: "D-Bus address of berthd's bus (default: $BERTH_ADDRESS, the system bus)",
  },
  { name: "timeout", value: "SECONDS", help: "give up on a D-Bus call after this long (default 30)" },
  { name: "help", short: "h", help: "show this help" },
];
