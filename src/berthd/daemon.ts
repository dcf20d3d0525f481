// berthd's wiring: config → logger → systemd scopes → supervisor → bus → private socket. The order is
// the design's: take the socket-activated fds, connect for shim scopes (when systemd manages the host)
// while the API's bus connection is being made, recover state (supervisor.start), export every object
// on that connection, only then claim org.berth.Supervisor1 (queueing for it while a previous berthd
// lets go), serve the peer-to-peer socket, deliver the events that happened while berthd was down,
// then tell the service manager READY=1. Stopping releases the name, lets running operations finish
// (bounded) and leaves containers running.

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { callBusDaemon, connectBus, type MessageBus, onDisconnect } from "../common/bus.js";
import { BUS_NAME } from "../common/bus-path.js";
import type { BerthdConfig, SupervisorApi } from "../common/types.js";
import { VERSION } from "../common/version.js";
import { ConfigError, loadConfig } from "./config.js";
import { claimBusName } from "./dbus/bus-name.js";
import { BusTransport } from "./dbus/bus-transport.js";
import { ApiServer } from "./dbus/server.js";
import { SignalFanout } from "./dbus/signal-fanout.js";
import { markBusCloseOnExec } from "./fd.js";
import { createLogger, type Logger } from "./log.js";
import { PeerServer } from "./peer/server.js";
import { ServiceStatus } from "./service-status.js";
import { Supervisor } from "./supervisor/supervisor.js";
import { connectScopes } from "./systemd/host.js";
import { listenFds } from "./systemd/notify.js";
import type { Scopes } from "./systemd/scope.js";

/** Stopping must not hang on a bus that no longer answers. */
const RELEASE_TIMEOUT_MS = 5000;
/** How long a stopping berthd lets running operations finish (TimeoutStopSec=30 in berthd.service). */
const DRAIN_TIMEOUT_MS = 10_000;
/** How long accepted private-socket connections may go on being served while berthd stops. */
const PEER_GRACE_MS = 2_000;

export interface DaemonOptions {
  busAddress: string;
  stateDir: string;
  configFile: string;
  /** The config file was named on the command line (a missing one is then an error). */
  configExplicit: boolean;
}

/** package.json's version, read once (the checkout's, or the installed package's); VERSION otherwise. */
export function packageVersion(): string {
  try {
    const path = resolve(fileURLToPath(import.meta.url), "../../../../package.json");
    const version = (JSON.parse(readFileSync(path, "utf8")) as { version?: unknown }).version;
    return typeof version === "string" ? version : VERSION;
  } catch {
    return VERSION;
  }
}

export class Daemon {
  private readonly log: Logger = createLogger();
  private supervisor: SupervisorApi | undefined;
  /** The same object, for what only berthd's own supervisor offers (drain on stop). */
  private concreteSupervisor: Supervisor | undefined;
  private bus: MessageBus | undefined;
  private api: ApiServer | undefined;
  private transport: BusTransport | undefined;
  private status: ServiceStatus | undefined;
  private systemd: { bus: MessageBus; scopes: Scopes } | undefined;
  private peer: PeerServer | undefined;
  private listenFds: number[] = [];
  private stopping = false;
  private busLost = false;
  private finish: ((code: number) => void) | undefined;

  constructor(private readonly options: DaemonOptions) {}

  private loadConfig(): BerthdConfig {
    return loadConfig({
      file: this.options.configFile,
      explicit: this.options.configExplicit,
      stateDir: this.options.stateDir,
    });
  }

  /** Runs until SIGTERM/SIGINT or a fatal error; resolves with the process exit code. */
  async run(): Promise<number> {
    const done = new Promise<number>((resolveDone) => {
      this.finish = resolveDone;
    });
    this.installProcessHandlers();
    try {
      await this.start();
    } catch (error) {
      this.log.error(error instanceof ConfigError ? `bad configuration: ${error.message}` : errorText(error));
      await this.stop();
      return 1;
    }
    const code = await done;
    await this.stop();
    return code;
  }

  async start(): Promise<void> {
    // Taken (and LISTEN_* removed from the environment) first: nothing berthd starts may inherit them.
    this.listenFds = listenFds();
    const config = this.loadConfig();
    this.log.info(
      `starting: state dir ${config.stateDir}, runtimes ${config.runtimes.map((r) => r.name).join(", ")} ` +
        `(default ${config.defaultRuntime}), shim ${config.shimPath}, cgroup driver ${config.cgroupDriver}`,
    );
    // The API's connection is made while the scopes' connection is made and recovery runs (nothing
    // is exported on it before the name is claimed): its round trips are off the restart's path.
    // Marked close-on-exec at once: recovery may run the runtime.
    const connecting = connectBus(this.options.busAddress).then((bus) => {
      markBusCloseOnExec(bus);
      return bus;
    });
    connecting.catch(() => undefined); // awaited below; a failure must not be unhandled meanwhile
    // Before recovery: it may have to move a shim that never got its scope.
    const systemd = await connectScopes(this.log);
    this.systemd = systemd;
    const supervisor = new Supervisor(config, this.log, systemd?.scopes);
    this.supervisor = supervisor;
    this.concreteSupervisor = supervisor;
    try {
      await supervisor.start();
    } catch (error) {
      void connecting.then((bus) => bus.disconnect()); // stop() knows only this.bus
      throw error;
    }

    const bus = await connecting;
    this.bus = bus;
    onDisconnect(bus, (reason) => {
      this.busLost = true;
      if (this.stopping) return;
      this.log.error(`lost the bus connection (${reason}); exiting`);
      this.finish?.(1);
    });
    const status = new ServiceStatus(supervisor, this.log);
    this.status = status;
    const api = new ApiServer(supervisor, this.log, {
      version: packageVersion(),
      onChange: () => status.update(),
    });
    this.api = api;
    const transport = new BusTransport(bus, api, this.log);
    this.transport = transport;
    const [listenFd] = this.listenFds;
    const peer = new PeerServer(api, this.log, { listenFd, path: join(config.stateDir, "private") });
    api.start(new SignalFanout([transport, peer]));
    transport.start();

    await claimBusName(bus, BUS_NAME, this.log);
    // After the name: a second berthd by hand on the same state dir fails there, before touching the socket.
    try {
      await peer.start();
      this.peer = peer;
    } catch (error) {
      this.log.error(`the private socket is not served: ${errorText(error)}`);
    }
    supervisor.deliverPendingEvents();
    status.ready();
    this.log.info(
      `ready: serving ${BUS_NAME} on ${this.options.busAddress}` +
        `${this.peer === undefined ? "" : ` and ${this.peer.description}`}, ${supervisor.list().length} containers`,
    );
  }

  /** SIGHUP: re-read the config; a bad file is logged and the old config stays. */
  reload(): void {
    const supervisor = this.supervisor;
    if (supervisor === undefined) return;
    this.status?.reloading();
    let next: BerthdConfig;
    try {
      next = this.loadConfig();
    } catch (error) {
      this.log.error(`reload refused, keeping the old configuration: ${errorText(error)}`);
      this.status?.reloaded();
      return;
    }
    supervisor.reconfigure(next);
    this.log.info(
      `configuration reloaded: default runtime ${next.defaultRuntime}, max concurrent starts ${next.maxConcurrentStarts}`,
    );
    this.api?.refreshManager();
    this.status?.reloaded();
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.status?.stopping();
    // First of all: new private-socket connections must queue for the next berthd, not reach this one.
    this.peer?.stopAccepting();
    const bus = this.bus;
    if (bus !== undefined && !this.busLost) {
      try {
        await callBusDaemon(bus, "ReleaseName", "s", [BUS_NAME], RELEASE_TIMEOUT_MS);
      } catch (error) {
        this.log.warn(`could not release ${BUS_NAME}: ${errorText(error)}`);
      }
    }
    // Operations already running finish and answer their callers (bounded: TimeoutStopSec is 30 s);
    // new calls to the name now wait in the bus's queue for the next berthd.
    if (this.concreteSupervisor !== undefined && !(await this.concreteSupervisor.drain(DRAIN_TIMEOUT_MS))) {
      this.log.warn(
        `operations still running after ${DRAIN_TIMEOUT_MS / 1000} s; stopping anyway (the next berthd recovers them)`,
      );
    }
    this.transport?.stop();
    await this.peer?.stop(PEER_GRACE_MS);
    this.api?.stop();
    try {
      await this.supervisor?.stop();
    } catch (error) {
      this.log.error(`stopping the supervisor: ${errorText(error)}`);
    }
    bus?.disconnect();
    await this.systemd?.scopes.stop();
    this.systemd?.bus.disconnect();
    if (this.supervisor !== undefined) this.log.info("stopped; containers keep running");
  }

  private installProcessHandlers(): void {
    process.on("SIGTERM", () => this.finish?.(0));
    process.on("SIGINT", () => this.finish?.(0));
    process.on("SIGHUP", () => this.reload());
    // When whoever reads our output is gone (EPIPE), carry on without logs: unhandled, each failed write
    // would be an uncaught exception whose own log line fails again, a busy loop.
    for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
    // One bad event must not take the daemon (and the API) down: log it and keep serving.
    process.on("uncaughtException", (error) =>
      this.log.error(`uncaught exception: ${errorText(error, true)}`),
    );
    process.on("unhandledRejection", (reason) =>
      this.log.error(`unhandled rejection: ${errorText(reason, true)}`),
    );
  }
}

function errorText(error: unknown, withStack = false): string {
  if (error instanceof Error) return withStack && error.stack !== undefined ? error.stack : error.message;
  return String(error);
}
