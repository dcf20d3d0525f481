// The service manager's notification protocol, through libsystemd itself (koffi FFI), so berthd speaks
// it exactly as systemd's own daemons do. Messages are passed as data: sd_notify() takes no format
// string (unlike the sd-notify npm package, which hands the text to a printf: '%n' crashes it).
// Without NOTIFY_SOCKET (berthd started by hand, no systemd) every call is a no-op that never even
// loads libsystemd.

import koffi from "koffi";

export class NotifyError extends Error {}

interface LibSystemd {
  sdNotify(unsetEnvironment: number, state: string): number;
  sdPidNotify(pid: number, unsetEnvironment: number, state: string): number;
  sdWatchdogEnabled(unsetEnvironment: number, usec: number[]): number;
  sdListenFds(unsetEnvironment: number): number;
}

/** First file descriptor passed by socket activation (SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

let lib: LibSystemd | undefined;

function libsystemd(): LibSystemd {
  if (lib === undefined) {
    let handle: ReturnType<typeof koffi.load>;
    try {
      handle = koffi.load("libsystemd.so.0");
    } catch (error) {
      throw new NotifyError(`cannot load libsystemd.so.0: ${(error as Error).message}`);
    }
    lib = {
      sdNotify: handle.func("int sd_notify(int unset_environment, const char *state)"),
      sdPidNotify: handle.func("int sd_pid_notify(int pid, int unset_environment, const char *state)"),
      sdWatchdogEnabled: handle.func("int sd_watchdog_enabled(int unset_environment, _Out_ uint64_t *usec)"),
      sdListenFds: handle.func("int sd_listen_fds(int unset_environment)"),
    };
  }
  return lib;
}

function present(name: string): boolean {
  const value = process.env[name];
  return value !== undefined && value !== "";
}

/** "KEY=value" lines, as sd_notify takes them; a NUL would cut the message short in C. */
function format(state: string | Record<string, string | number>): string {
  const text =
    typeof state === "string"
      ? state
      : Object.entries(state)
          .map(([key, value]) => `${key}=${value}`)
          .join("\n");
  if (text.includes("\0")) throw new NotifyError("a notification cannot contain a NUL byte");
  return text;
}

function check(what: string, result: number): boolean {
  if (result < 0) throw new NotifyError(`${what} failed: errno ${-result}`);
  return result > 0;
}

/**
 * Sends `state` (e.g. "READY=1", or { STATUS: "3 containers" }) to the service manager.
 * Returns false when there is none to send to (no NOTIFY_SOCKET).
 */
export function notify(state: string | Record<string, string | number>): boolean {
  if (!present("NOTIFY_SOCKET")) return false;
  return check("sd_notify", libsystemd().sdNotify(0, format(state)));
}

/** Like notify(), sent as if from `pid` (systemd attributes it to that process; NotifyAccess applies). */
export function pidNotify(pid: number, state: string | Record<string, string | number>): boolean {
  if (!present("NOTIFY_SOCKET")) return false;
  return check("sd_pid_notify", libsystemd().sdPidNotify(pid, 0, format(state)));
}

/** The watchdog interval in µs when the service manager expects WATCHDOG=1 from this process, else undefined. */
export function watchdogUsec(): number | undefined {
  if (!present("WATCHDOG_USEC")) return undefined;
  const usec = [0];
  return check("sd_watchdog_enabled", libsystemd().sdWatchdogEnabled(0, usec)) ? usec[0] : undefined;
}

/**
 * The file descriptors passed by socket activation (from LISTEN_FDS_START on), or none. With `unset`
 * the LISTEN_* variables are removed so that children (shims, runtimes) never think the fds are theirs.
 */
export function listenFds(unset = true): number[] {
  if (!present("LISTEN_FDS")) return [];
  const count = libsystemd().sdListenFds(unset ? 1 : 0);
  check("sd_listen_fds", count);
  return Array.from({ length: count }, (_, i) => LISTEN_FDS_START + i);
}

/**
 * The variables through which the service manager talks to berthd alone. They must not reach the
 * shims, runtimes or containers: a runc that sees NOTIFY_SOCKET proxies it into the container and
 * `runc run -d` / `runc start` then waits for the container's own READY=1, which never comes.
 */
export const SERVICE_MANAGER_VARIABLES = [
  "NOTIFY_SOCKET",
  "WATCHDOG_USEC",
  "WATCHDOG_PID",
  "LISTEN_FDS",
  "LISTEN_PID",
  "LISTEN_FDNAMES",
] as const;

let ownChildEnvironment: NodeJS.ProcessEnv | undefined;

/**
 * A copy of `env` for a child process: without SERVICE_MANAGER_VARIABLES. berthd's own (no `env`) is
 * computed once (and frozen, since every spawn shares it): its environment does not change while it
 * runs, so a copy per spawn would be work for nothing.
 */
export function childEnvironment(env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env === undefined) {
    ownChildEnvironment ??= Object.freeze(childEnvironment(process.env));
    return ownChildEnvironment;
  }
  const copy = { ...env };
  for (const name of SERVICE_MANAGER_VARIABLES) delete copy[name];
  return copy;
}

/**
 * Sends WATCHDOG=1 at half of WATCHDOG_USEC while started, so a berthd whose event loop stops turning
 * is restarted by systemd. Does nothing when the service has no watchdog.
 */
export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private interval = 0;

  /** The ping interval in ms once started, or undefined when there is no watchdog. */
  get intervalMs(): number | undefined {
    return this.timer === undefined ? undefined : this.interval;
  }

  start(): void {
    if (this.timer !== undefined) return;
    const usec = watchdogUsec();
    if (usec === undefined) return;
    this.interval = Math.max(1, Math.floor(usec / 2000));
    notify("WATCHDOG=1");
    this.timer = setInterval(() => notify("WATCHDOG=1"), this.interval);
    // The watchdog must never be the thing that keeps berthd alive.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
