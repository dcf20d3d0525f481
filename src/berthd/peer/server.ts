// berthd's peer-to-peer D-Bus endpoint, /run/berth/private (design.md "berthd.socket"): the same API as
// on the bus, for root tools that should not depend on dbus-daemon, and a socket that keeps accepting
// (in its backlog) while berthd restarts. Socket-activated, it serves the fd systemd passes (fd 3, kept
// across restarts by berthd.socket); started by hand, berthd binds <state-dir>/private itself (0600)
// and removes it on stop.
//
// Connections are accepted by net.Server (which can listen on an inherited fd) paused, then handed to
// usocket (which can send fds with SCM_RIGHTS, for OpenStdio) through a dup of their fd.

import { randomBytes } from "node:crypto";
import { lstatSync, unlinkSync } from "node:fs";
import { chmod, mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { connect, createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import type { Duplex } from "node:stream";
import type { ApiServer, SignalSink } from "../dbus/server.js";
import { dupFd, peerCredentials } from "../fd.js";
import type { Logger } from "../log.js";
import { PeerConnection, type PeerDirectory } from "./connection.js";

export class PeerServerError extends Error {
  readonly code = "PeerServerFailed";
}

export interface PeerServerOptions {
  /** A listening socket passed by systemd (socket activation); otherwise `path` is bound. */
  listenFd?: number;
  /** Where to bind when there is no listenFd: <state-dir>/private. */
  path: string;
}

interface USocketModule {
  USocket: new (options: { fd: number }) => Duplex;
}

const require = createRequire(import.meta.url);

export class PeerServer implements SignalSink, PeerDirectory {
  readonly guid = randomBytes(16).toString("hex");
  private server: Server | undefined;
  private readonly connections = new Set<PeerConnection>();
  private nextName = 1;
  /** The inode of the socket we bound, so stop() never removes someone else's. */
  private bound: { path: string; ino: number } | undefined;
  /** Set by stop() while it waits for the accepted connections to hang up. */
  private whenIdle: (() => void) | undefined;

  constructor(
    private readonly api: ApiServer,
    private readonly log: Logger,
    private readonly options: PeerServerOptions,
  ) {}

  /** Where it listens, for logs. */
  get description(): string {
    return this.options.listenFd !== undefined
      ? `fd ${this.options.listenFd} (socket activation)`
      : this.options.path;
  }

  async start(): Promise<void> {
    if (this.options.listenFd === undefined) {
      await mkdir(dirname(this.options.path), { recursive: true, mode: 0o700 });
      await removeStaleSocket(this.options.path);
    }
    const server = createServer({ pauseOnConnect: true }, (socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error) =>
        reject(new PeerServerError(`cannot listen on ${this.description}: ${error.message}`)),
      );
      if (this.options.listenFd !== undefined) {
        server.listen({ fd: this.options.listenFd }, resolve);
        return;
      }
      const { path } = this.options;
      // Bound 0600 from the first moment: no window in which anyone else could connect.
      const umask = process.umask(0o177);
      try {
        server.listen(path, resolve);
      } finally {
        process.umask(umask);
      }
    });
    server.on("error", (error) => this.log.error(`private socket: ${error.message}`));
    if (this.options.listenFd === undefined) {
      await chmod(this.options.path, 0o600);
      this.bound = { path: this.options.path, ino: lstatSync(this.options.path).ino };
    }
  }

  /**
   * Stops accepting at once, so that connections made while berthd stops wait in the socket's backlog
   * (systemd keeps its own copy of an activated socket) for the next berthd instead of being accepted
   * here and closed unanswered. Connections already accepted are still served.
   */
  stopAccepting(): void {
    const server = this.server;
    this.server = undefined;
    // The callback would wait for every connection to end; the listening fd itself closes now.
    server?.close();
  }

  /**
   * Stops accepting, gives the connections already accepted up to graceMs to finish their calls and
   * hang up (a busctl or berthctl connects, calls, and goes), then closes the rest; removes the socket
   * file only if berthd bound it.
   */
  async stop(graceMs = 0): Promise<void> {
    this.stopAccepting();
    if (this.connections.size > 0 && graceMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.whenIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.whenIdle = undefined;
    }
    for (const connection of [...this.connections]) connection.close();
    if (this.bound !== undefined) {
      try {
        if (lstatSync(this.bound.path).ino === this.bound.ino) unlinkSync(this.bound.path);
      } catch {}
      this.bound = undefined;
    }
  }

  emitSignal(path: string, iface: string, member: string, signature: string, body: unknown[]): void {
    for (const connection of this.connections) {
      connection.emitSignal({ sender: "", path, interface: iface, member, body }, signature);
    }
  }

  peers(): Iterable<PeerConnection> {
    return this.connections;
  }

  closed(connection: PeerConnection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0) this.whenIdle?.();
  }

  private accept(socket: Socket): void {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    let stream: Duplex;
    let credentials: ReturnType<typeof peerCredentials>;
    try {
      if (fd === undefined || fd < 0) throw new Error("the accepted socket has no fd");
      credentials = peerCredentials(fd);
      const { USocket } = require("usocket") as USocketModule;
      stream = new USocket({ fd: dupFd(fd) });
    } catch (error) {
      this.log.warn(`private socket: cannot take a connection: ${(error as Error).message}`);
      socket.destroy();
      return;
    }
    socket.destroy();
    const connection = new PeerConnection(
      stream,
      credentials,
      `:1.${this.nextName++}`,
      this.api,
      this,
      this.log,
    );
    this.connections.add(connection);
    void connection.start();
  }
}

/**
 * Removes a socket file left by a berthd that died without removing it (nobody accepts on it). One
 * that answers belongs to a live berthd (another one on this state dir): refused, not stolen. Anything
 * that is not a socket is not ours to touch (listen then fails with EADDRINUSE).
 */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    if (!lstatSync(path).isSocket()) return;
  } catch {
    return;
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (live)
    throw new PeerServerError(`${path} is served by another process (another berthd on this state dir?)`);
  unlinkSync(path);
}
