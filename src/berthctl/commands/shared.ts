// Pieces several subcommands share: positional checks and per-container loops.

import type { BerthClient } from "../api/client.js";
import type { ParsedArgs } from "../cli/args.js";
import type { Command, Context } from "../cli/command.js";
import { describe, EXIT_FAILURE, EXIT_OK, step, UsageError } from "../cli/errors.js";

/** The positionals, after checking their count; `names` name them in the error ("CONTAINER", ...). */
export function positionals(args: ParsedArgs, min: number, max: number, names: string): string[] {
  const got = args.positionals;
  if (got.length < min) throw new UsageError(`missing ${names}`);
  if (got.length > max) throw new UsageError(`too many arguments (expected ${names})`);
  return got;
}

/**
 * Does `work` for each container in turn, like docker: a failure is reported on its own line and the
 * rest still run; the exit code is 1 when any failed.
 */
export async function forEachContainer(
  ctx: Context,
  ids: string[],
  verb: string,
  work: (id: string) => Promise<void>,
): Promise<number> {
  let failed = false;
  for (const id of ids) {
    try {
      await step(`${verb} ${id}`, work(id));
    } catch (error) {
      failed = true;
      ctx.warn(describe(error));
    }
  }
  return failed ? EXIT_FAILURE : EXIT_OK;
}

/** A command that does one call per container and prints each id it succeeded for (start, pause, ...). */
export function perContainerCommand(
  verb: string,
  description: string,
  call: (client: BerthClient, id: string) => Promise<void>,
): Command {
  return {
    usage: "CONTAINER...",
    description,
    options: [],
    async run(ctx, args) {
      const ids = positionals(args, 1, Number.POSITIVE_INFINITY, "CONTAINER");
      const client = await ctx.client();
      return forEachContainer(ctx, ids, verb, async (id) => {
        await call(client, id);
        ctx.out(`${id}\n`);
      });
    },
  };
}
