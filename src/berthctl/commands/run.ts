import { closeSync } from "node:fs";
import { type BerthClient, containerTarget, type StdioFds } from "../api/client.js";
import { watchExit } from "../api/exit-watch.js";
import { flag } from "../cli/args.js";
import type { Command } from "../cli/command.js";
import { ClientError, EXIT_RUN_FAILURE, step, UsageError } from "../cli/errors.js";
import { runAttached } from "../stdio/session.js";
import { bundlePath, CREATE_OPTIONS, createRequest } from "./create-options.js";
import { positionals } from "./shared.js";

export const command: Command = {
  usage: "[OPTIONS] CONTAINER BUNDLE",
  description:
    "Creates and starts a container from an OCI bundle. Attached (the default) it relays the\n" +
    "container's output, with -i also berthctl's stdin, and exits with the container's exit code\n" +
    "(128+N when signal N killed it); SIGINT, SIGTERM and SIGHUP are passed on to the container.\n" +
    "With -d it prints the id once the container runs and exits 0.\n" +
    "Terminal: a container has a terminal when its bundle's config.json says process.terminal: true;\n" +
    "berthctl then puts its own tty in raw mode (with -i) and passes window size changes on.\n" +
    "-t only checks that the container has one. Ctrl-P Ctrl-Q detaches from a terminal session\n" +
    "(exit 0; the container keeps running). Exit 125: berthctl or berthd failed.",
  options: [
    ...CREATE_OPTIONS,
    { name: "tty", short: "t", help: "attach as a terminal; fails unless the bundle sets process.terminal" },
    { name: "detach", short: "d", help: "start it in the background and print its id" },
  ],
  failureExitCode: EXIT_RUN_FAILURE,
  async run(ctx, args) {
    const [id, bundle] = positionals(args, 2, 2, "CONTAINER BUNDLE") as [string, string];
    const request = createRequest(args);
    const wantTty = flag(args, "tty");
    const path = bundlePath(bundle);
    if (flag(args, "detach")) {
      if (wantTty) throw new UsageError("-t needs an attached session; it cannot go with -d");
      const client = await ctx.client();
      await step(`run ${id}`, client.runContainer(id, path, request));
      ctx.out(`${id}\n`);
      return 0;
    }
    const client = await ctx.client();
    // Subscribe before anything can exit: an AutoRemove container may be gone before Wait replies.
    const { exited } = await step(`run ${id}`, watchExit(client, id));
    await step(`run ${id}`, client.createContainer(id, path, request));
    const target = containerTarget(id);
    let fds: StdioFds | undefined;
    let terminal = false;
    try {
      // Open stdio before the start, so the first output is not missed (both calls in one round trip).
      const props = client.properties(target);
      props.catch(() => {});
      fds = await step(`run ${id}`, client.openStdio(target));
      terminal = (await step(`run ${id}`, props)).Terminal === true;
      if (wantTty && !terminal)
        throw new ClientError(
          `run ${id}: -t: the container has no terminal (set process.terminal to true in ${path}/config.json)`,
        );
    } catch (error) {
      await discard(client, id, fds);
      throw error;
    }
    return runAttached({
      begin: async () => {
        try {
          await step(`start ${id}`, client.start(id));
        } catch (error) {
          await client.delete(target).catch(() => {});
          throw error;
        }
      },
      fds: fds!,
      forwardStdin: request.stdin === true,
      closeStdinAtEof: true,
      terminal,
      resize: (columns, rows) => client.resize(target, columns, rows),
      closeStdin: () => client.closeStdin(target),
      kill: (signal) => client.kill(id, "init", signal),
      warn: (text) => ctx.warn(text),
      exitCode: () => exitCodeOf(client, id, exited),
    });
  },
};

/** The exit code from Wait, or from the Exited signal when the container removed itself first. */
async function exitCodeOf(
  client: BerthClient,
  id: string,
  exited: Promise<{ exitCode: number | undefined }>,
) {
  const fromSignal = exited.then((notice) => {
    if (notice.exitCode === undefined)
      throw new ClientError(`run ${id}: the container was removed before it exited`);
    return notice.exitCode;
  });
  fromSignal.catch(() => {});
  const fromWait = client.wait(containerTarget(id));
  fromWait.catch(() => {});
  try {
    return await Promise.any([fromWait, fromSignal]);
  } catch {
    return step(`wait ${id}`, fromWait);
  }
}

/** A run that failed before its container ran leaves no container behind. */
async function discard(client: BerthClient, id: string, fds: StdioFds | undefined): Promise<void> {
  if (fds) for (const fd of [fds.stdin, fds.stdout, fds.stderr]) closeSync(fd);
  await client.delete(containerTarget(id)).catch(() => {});
}
