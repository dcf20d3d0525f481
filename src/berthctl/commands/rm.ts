import { type BerthClient, containerTarget } from "../api/client.js";
import { flag } from "../cli/args.js";
import type { Command } from "../cli/command.js";
import { BusError } from "../cli/errors.js";
import { forEachContainer, positionals } from "./shared.js";

const SIGKILL = 9;

export const command: Command = {
  usage: "[OPTIONS] CONTAINER...",
  description:
    "Deletes containers that are created or stopped, and prints each id. With -f a running or paused\n" +
    "container is killed first (SIGKILL to all its processes, thawed if paused), waited for, then\n" +
    "deleted; -f also succeeds for a container that removed itself meanwhile (--rm).",
  options: [{ name: "force", short: "f", help: "kill running containers first" }],
  async run(ctx, args) {
    const ids = positionals(args, 1, Number.POSITIVE_INFINITY, "CONTAINER");
    const force = flag(args, "force");
    const client = await ctx.client();
    return forEachContainer(ctx, ids, "rm", async (id) => {
      if (force) await forceRemove(client, id);
      else await client.delete(containerTarget(id));
      ctx.out(`${id}\n`);
    });
  },
};

function isGone(error: unknown): boolean {
  return error instanceof BusError && error.shortName === "NoSuchContainer";
}

/** The container changed state under us (it exited on its own): carry on with the removal. */
function tolerateStateChange(error: unknown): void {
  if (!(error instanceof BusError && error.shortName === "InvalidState")) throw error;
}

async function forceRemove(client: BerthClient, id: string): Promise<void> {
  const target = containerTarget(id);
  try {
    const { Status: status } = await client.properties(target);
    if (status === "running" || status === "paused") {
      await client.kill(id, "all", SIGKILL).catch(tolerateStateChange);
      // A frozen process cannot die: thaw it so the SIGKILL lands. runc's kill --all thaws by itself,
      // so "not paused" is no failure; whether the kill landed is what the bounded Wait tells.
      if (status === "paused") await client.resume(id).catch(() => {});
      await client.wait(target, true);
    }
    await client.delete(target);
  } catch (error) {
    // Removed by someone else, or by itself (AutoRemove) once it exited: what -f asked for.
    if (!isGone(error)) throw error;
  }
}
