import { containerTarget } from "../api/client.js";
import { flag } from "../cli/args.js";
import type { Command } from "../cli/command.js";
import { ClientError, EXIT_RUN_FAILURE, step } from "../cli/errors.js";
import { runAttached } from "../stdio/session.js";
import { positionals } from "./shared.js";

export const command: Command = {
  usage: "[OPTIONS] CONTAINER",
  description:
    "Attaches to a running (or created, not yet started) container's stdio: relays its output from\n" +
    "now on (earlier output: 'berthctl logs') and berthctl's stdin until the container exits, then\n" +
    "exits with its exit code.\n" +
    "Reaching EOF on berthctl's stdin stops forwarding but leaves the container's stdin open.\n" +
    "With a terminal container and a tty, berthctl's tty goes raw and window sizes are passed on;\n" +
    "Ctrl-P Ctrl-Q detaches (exit 0, the container keeps running).\n" +
    "Without a terminal, SIGINT, SIGTERM and SIGHUP are passed on to the container.",
  options: [{ name: "no-stdin", help: "do not forward berthctl's stdin" }],
  failureExitCode: EXIT_RUN_FAILURE,
  async run(ctx, args) {
    const [id] = positionals(args, 1, 1, "CONTAINER") as [string];
    const target = containerTarget(id);
    const client = await ctx.client();
    const props = await step(`attach ${id}`, client.properties(target));
    if (props.Status === "stopped") throw new ClientError(`attach ${id}: the container has already exited`);
    const fds = await step(`attach ${id}`, client.openStdio(target));
    return runAttached({
      fds,
      forwardStdin: !flag(args, "no-stdin"),
      closeStdinAtEof: false,
      terminal: props.Terminal === true,
      resize: (columns, rows) => client.resize(target, columns, rows),
      closeStdin: () => client.closeStdin(target),
      kill: (signal) => client.kill(id, "init", signal),
      warn: (text) => ctx.warn(text),
      exitCode: () => step(`wait ${id}`, client.wait(target)),
    });
  },
};
