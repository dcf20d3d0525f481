import { randomBytes } from "node:crypto";
import { type ExecRequest, processTarget } from "../api/client.js";
import { flag, type ParsedArgs, value, values } from "../cli/args.js";
import type { Command } from "../cli/command.js";
import { BusError, EXIT_RUN_FAILURE, FailedError, step, UsageError } from "../cli/errors.js";
import { runAttached } from "../stdio/session.js";

export const command: Command = {
  usage: "[OPTIONS] CONTAINER COMMAND [ARG...]",
  description:
    "Runs a new process in a running container (the runtime's exec), relays its stdio and exits\n" +
    "with its exit code; 125 when berthctl or berthd failed. The process object is deleted after it\n" +
    "exits. Options end at CONTAINER: everything after it is the command.",
  options: [
    { name: "interactive", short: "i", help: "pass berthctl's stdin to the process; EOF closes its stdin" },
    {
      name: "tty",
      short: "t",
      help: "give the process a terminal (raw mode and window size when ours is a tty)",
    },
    {
      name: "env",
      short: "e",
      value: "KEY=VALUE",
      multiple: true,
      help: "set an environment variable (repeatable)",
    },
    { name: "workdir", short: "w", value: "DIR", help: "the working directory inside the container" },
    { name: "user", short: "u", value: "UID[:GID]", help: "run as this numeric user (and group)" },
  ],
  stopAfterPositionals: 1,
  failureExitCode: EXIT_RUN_FAILURE,
  async run(ctx, args) {
    const [id, ...argv] = args.positionals;
    if (id === undefined) throw new UsageError("missing CONTAINER");
    if (argv.length === 0) throw new UsageError("missing COMMAND");
    const request = execRequest(args, argv);
    const execId = `exec-${randomBytes(6).toString("hex")}`;
    const target = processTarget(id, execId);
    const client = await ctx.client();
    await step(`exec in ${id}`, client.exec(id, execId, request));
    try {
      const fds = await client.openStdio(target).catch((error: unknown) => {
        if (error instanceof BusError && error.shortName === "InvalidState") return undefined;
        throw new FailedError(`exec in ${id}`, error);
      });
      if (!fds) {
        // berthd keeps an exec's first output for its first OpenStdio, so this is a berthd that does
        // not (an older one) or another client that attached first: the code is still right.
        ctx.warn(`exec in ${id}: the process's output was not available to relay`);
        return await step(`wait for ${execId} in ${id}`, client.wait(target));
      }
      return await runAttached({
        fds,
        forwardStdin: request.stdin === true,
        closeStdinAtEof: true,
        terminal: request.terminal === true,
        resize: (columns, rows) => client.resize(target, columns, rows),
        closeStdin: () => client.closeStdin(target),
        kill: (signal) => client.killProcess(target, signal),
        warn: (text) => ctx.warn(text),
        exitCode: () => step(`wait for ${execId} in ${id}`, client.wait(target)),
      });
    } finally {
      await client.delete(target).catch(() => {});
    }
  },
};

function execRequest(args: ParsedArgs, argv: string[]): ExecRequest {
  const request: ExecRequest = { args: argv };
  const env = values(args, "env");
  for (const e of env) if (e.indexOf("=") <= 0) throw new UsageError(`-e needs KEY=VALUE, not "${e}"`);
  if (env.length > 0) request.env = env;
  const cwd = value(args, "workdir");
  if (cwd !== undefined) request.cwd = cwd;
  if (flag(args, "tty")) request.terminal = true;
  if (flag(args, "interactive")) request.stdin = true;
  const user = value(args, "user");
  if (user !== undefined) {
    const m = /^(\d+)(?::(\d+))?$/.exec(user);
    if (!m) throw new UsageError(`-u needs a numeric UID or UID:GID, not "${user}"`);
    request.uid = Number(m[1]);
    if (m[2] !== undefined) request.gid = Number(m[2]);
  }
  return request;
}
