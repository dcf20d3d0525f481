// The Context commands run in: a bus connection opened on first use and closed at the end.

import type { BerthClient } from "../api/client.js";
import type { Context } from "./command.js";
import { step } from "./errors.js";

export interface ContextOptions {
  address: string | undefined;
  timeoutSeconds: number;
  env: NodeJS.ProcessEnv;
}

export function openContext(options: ContextOptions): Context & { close(): void } {
  let opening: Promise<BerthClient> | undefined;
  let opened: BerthClient | undefined;
  return {
    env: options.env,
    client() {
      opening ??= (async () => {
        const [{ connectBus }, { BerthClient }] = await Promise.all([
          import("../bus/address.js"),
          import("../api/client.js"),
        ]);
        const bus = await step(
          "connect",
          connectBus(options.address, options.env, options.timeoutSeconds * 1000),
        );
        opened = new BerthClient(bus);
        return opened;
      })();
      return opening;
    },
    out(text: string) {
      process.stdout.write(text);
    },
    warn(text: string) {
      process.stderr.write(`berthctl: ${text}\n`);
    },
    close() {
      opened?.bus.close();
    },
  };
}
