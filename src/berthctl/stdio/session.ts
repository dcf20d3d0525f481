// An attached session (run, exec, attach): relay stdio until the process exits, pass signals on, and
// hand back the process's exit code once its last output is out.

import { constants } from "node:os";
import { describe } from "../cli/errors.js";
import { type RelayOptions, StdioRelay } from "./relay.js";

/** After the exit, how long the shim's last output may take to reach us (it drains for at most 2 s). */
const DRAIN_LIMIT_MS = 5000;
/** Signals berthctl passes on to a process without a terminal (with one, ^C is a byte on the pty). */
const PROXIED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;

export interface SessionOptions extends Omit<RelayOptions, "onError" | "onDetach"> {
  /** Runs once the relay is up (run: Start, so no output is missed and the tty has its size). */
  begin?: () => Promise<void>;
  /** Settles with the process's exit code; called after begin. */
  exitCode: () => Promise<number>;
  kill(signal: number): Promise<void>;
  warn(text: string): void;
}

export async function runAttached(options: SessionOptions): Promise<number> {
  const onError = (what: string, error: unknown) => options.warn(`${what}: ${describe(error)}`);
  let detach: () => void = () => {};
  const detached = new Promise<number>((resolve) => {
    detach = () => {
      options.warn("detached; the process keeps running");
      resolve(0);
    };
  });
  const relay = new StdioRelay({ ...options, onError, onDetach: () => detach() });
  const handlers: [NodeJS.Signals, () => void][] = [];
  // When a signal cannot be passed on (the process is gone, berthd is down), berthctl stops waiting
  // and exits as if that signal had ended it: it must never become unkillable.
  let giveUp: (code: number) => void = () => {};
  const gaveUp = new Promise<number>((resolve) => {
    giveUp = resolve;
  });
  if (!options.terminal) {
    for (const name of PROXIED_SIGNALS) {
      const handler = () => {
        const signal = constants.signals[name];
        options.kill(signal).catch((error) => {
          onError(`pass ${name} on`, error);
          giveUp(128 + signal);
        });
      };
      process.on(name, handler);
      handlers.push([name, handler]);
    }
  }
  try {
    await relay.start();
    await options.begin?.();
    const exitCode = options.exitCode();
    exitCode.catch(() => {});
    const code = await Promise.race([exitCode, gaveUp, detached.then((c) => ({ detachedWith: c }))]);
    if (typeof code === "object") return code.detachedWith;
    await relay.drained(DRAIN_LIMIT_MS);
    return code;
  } finally {
    relay.stop();
    for (const [name, handler] of handlers) process.off(name, handler);
  }
}
