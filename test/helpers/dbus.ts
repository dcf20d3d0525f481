// A private, system-bus-like dbus-daemon for tests: the same default-deny policy as Debian's
// /usr/share/dbus-1/system.conf (nobody owns names or sends method calls unless a policy file punches
// a hole), with berth's own dbus/org.berth.Supervisor1.conf included, so every test exercises the real
// policy. It listens on a socket in a fresh temp dir that any user can reach (non-root tests connect
// too) and is stopped by pid.
//
//   import { startBus } from "../helpers/dbus.js";
//   const bus = await startBus();
//   t.after(() => bus.stop());
//   // bus.address: "unix:path=/tmp/berth-bus-XXXX/system_bus_socket"; pass it to berthd
//   // (--bus-address), dbus-next (connectBus), busctl --address=…, gdbus --address …

import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, createReadStream, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  callBusDaemon,
  callWithTimeout,
  DBusError,
  Message,
  type MessageBus,
  MessageType,
} from "../../src/common/bus.js";
import { BUS_NAME } from "../../src/common/bus-path.js";
import { makeTempDir } from "../fixtures/temp.js";

/** The checkout's dbus/ directory (from dist/test/helpers/). */
export const DBUS_DIR = resolve(fileURLToPath(import.meta.url), "../../../../dbus");
export const POLICY_FILE = join(DBUS_DIR, "org.berth.Supervisor1.conf");

export interface TestBus {
  /** The D-Bus address, e.g. "unix:path=/tmp/berth-bus-XXXX/system_bus_socket". */
  readonly address: string;
  /** The socket's path. */
  readonly socketPath: string;
  /** The dbus-daemon's pid. */
  readonly pid: number;
  /** Stops the daemon (SIGTERM, then SIGKILL after 2 s) and removes its temp dir; safe to call twice. */
  stop(): Promise<void>;
}

export interface BusOptions {
  /** Extra <policy>/<include> XML placed inside <busconfig> after the defaults. */
  extraConfig?: string;
}

function busConfig(socketPath: string, extra: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path=${socketPath}</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <include>${POLICY_FILE}</include>
  ${extra}
</busconfig>
`;
}

function waitForAddress(child: ChildProcess): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(
      () => reject(new Error(`dbus-daemon printed no address in 10 s: ${err}`)),
      10_000,
    );
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const newline = out.indexOf("\n");
      if (newline >= 0) {
        clearTimeout(timer);
        resolvePromise(out.slice(0, newline).trim());
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`dbus-daemon exited (${code}) before printing its address: ${err}`));
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => resolvePromise(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolvePromise(true);
    });
  });
}

/** Starts a private system-like bus. */
export async function startBus(options: BusOptions = {}): Promise<TestBus> {
  const dir = makeTempDir("bus");
  // Reachable by the unprivileged users tests impersonate (the socket itself is 0777).
  chmodSync(dir.path, 0o755);
  const socketPath = join(dir.path, "system_bus_socket");
  const configPath = join(dir.path, "bus.conf");
  writeFileSync(configPath, busConfig(socketPath, options.extraConfig ?? ""));
  // setpriv --pdeathsig: the bus goes away with the test process even when its cleanup never ran.
  const child = spawn(
    "setpriv",
    ["--pdeathsig", "SIGTERM", "dbus-daemon", `--config-file=${configPath}`, "--print-address", "--nofork"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      if (!(await waitForExit(child, 2000))) {
        child.kill("SIGKILL");
        await waitForExit(child, 2000);
      }
    }
    child.stdout?.destroy();
    child.stderr?.destroy();
    await dir.remove();
  };
  try {
    const address = await waitForAddress(child);
    // Keep draining its output so the daemon never blocks on a full pipe.
    child.stdout!.resume();
    child.stderr!.resume();
    return { address, socketPath, pid: child.pid!, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

// ---- dbus-next client helpers for tests

/** A signal as a test sees it. */
export interface RecordedSignal {
  readonly path: string;
  readonly interface: string;
  readonly member: string;
  readonly body: unknown[];
}

/** Calls a method on berthd (or `destination`) and returns the reply body; D-Bus errors reject as DBusError. */
export async function callMethod(
  bus: MessageBus,
  path: string,
  iface: string,
  member: string,
  signature = "",
  body: unknown[] = [],
  options: { destination?: string; flags?: number; timeoutMs?: number } = {},
): Promise<unknown[]> {
  const reply = await callWithTimeout(
    bus,
    new Message({
      destination: options.destination ?? BUS_NAME,
      path,
      interface: iface,
      member,
      signature,
      body,
      flags: options.flags ?? 0,
    }),
    options.timeoutMs ?? 30_000,
  );
  return reply?.body ?? [];
}

/** Properties.Get, unwrapped from its variant. */
export async function getProperty(
  bus: MessageBus,
  path: string,
  iface: string,
  name: string,
): Promise<unknown> {
  const [variant] = await callMethod(bus, path, "org.freedesktop.DBus.Properties", "Get", "ss", [
    iface,
    name,
  ]);
  return (variant as { value: unknown }).value;
}

/** The D-Bus error name a promise rejects with (fails the test when it resolves). */
export async function errorName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DBusError) return error.type;
    throw error;
  }
  throw new Error("expected a D-Bus error, the call succeeded");
}

/**
 * Records every signal berthd emits, in arrival order, from the moment start() resolves.
 *   const signals = await SignalRecorder.start(client);
 *   await signals.waitFor((s) => s.member === "Exited" && s.path === path);
 */
export class SignalRecorder {
  readonly signals: RecordedSignal[] = [];
  private waiters: Array<() => void> = [];

  static async start(bus: MessageBus, sender = BUS_NAME): Promise<SignalRecorder> {
    const recorder = new SignalRecorder();
    bus.on("message", (message: Message) => {
      if (message.type !== MessageType.SIGNAL || message.interface === "org.freedesktop.DBus") return;
      recorder.signals.push({
        path: message.path ?? "",
        interface: message.interface ?? "",
        member: message.member ?? "",
        body: message.body ?? [],
      });
      for (const wake of recorder.waiters.splice(0)) wake();
    });
    await callBusDaemon(bus, "AddMatch", "s", [`type='signal',sender='${sender}'`]);
    return recorder;
  }

  /** Signals on one object path (or any path under it when `subtree`). */
  on(path: string, subtree = false): RecordedSignal[] {
    return this.signals.filter((s) => s.path === path || (subtree && s.path.startsWith(`${path}/`)));
  }

  /** A position in the record, for waitFor(…, since) to look only at later signals. */
  mark(): number {
    return this.signals.length;
  }

  /**
   * Resolves with the first recorded signal matching `predicate` (already recorded or future), looking
   * only at signals recorded after `since` (a mark()).
   */
  async waitFor(
    predicate: (signal: RecordedSignal) => boolean,
    timeoutMs = 20_000,
    since = 0,
  ): Promise<RecordedSignal> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.signals.slice(since).find(predicate);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.signals.map((s) => `${s.path} ${s.interface}.${s.member}`).join("\n");
        throw new Error(`no matching signal in ${timeoutMs} ms; seen:\n${seen}`);
      }
      await new Promise<void>((resolveWait) => {
        const timer = setTimeout(resolveWait, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolveWait();
        });
      });
    }
  }

  /** A short name for each signal ("ContainerNew", "PropertiesChanged(Status=running)", …) for order checks. */
  static describe(signal: RecordedSignal): string {
    if (signal.member !== "PropertiesChanged") return signal.member;
    const changed = signal.body[1] as Record<string, { value: unknown }>;
    const parts = Object.entries(changed).map(([name, variant]) => `${name}=${String(variant.value)}`);
    return `PropertiesChanged(${parts.join(",")})`;
  }
}

/** Reads an fd received from OpenStdio until `text` has arrived (rejects after timeoutMs); closes the fd. */
export function readFdUntil(fd: number, text: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolveRead, reject) => {
    const stream = createReadStream("", { fd, autoClose: true });
    let seen = "";
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new Error(`"${text}" not read in ${timeoutMs} ms; got ${JSON.stringify(seen)}`));
    }, timeoutMs);
    stream.on("data", (chunk) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        stream.destroy();
        resolveRead(seen);
      }
    });
    stream.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Everything read from `fd` up to EOF (closing it); rejects after `timeoutMs` with what was read. */
export function readFdToEnd(fd: number, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolveRead, reject) => {
    const stream = createReadStream("", { fd, autoClose: true });
    let seen = "";
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new Error(`no EOF in ${timeoutMs} ms; got ${JSON.stringify(seen)}`));
    }, timeoutMs);
    stream.on("data", (chunk) => {
      seen += chunk.toString();
    });
    // 'close', not 'end': the fd is closed by then, so a caller counting open fds sees it gone.
    stream.on("close", () => {
      clearTimeout(timer);
      resolveRead(seen);
    });
    stream.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
