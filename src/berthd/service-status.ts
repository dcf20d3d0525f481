// What berthd tells its service manager (sd_notify, docs/systemd.md): READY=1 once recovered and on the
// bus, STATUS= with container and start-queue counts whenever they change, RELOADING=1/READY=1 around a
// config reload, STOPPING=1, and the watchdog. Without a service manager (no NOTIFY_SOCKET) every call
// is a no-op; a failed send is logged, never fatal.

import type { SupervisorApi } from "../common/types.js";
import type { Logger } from "./log.js";
import { notify, Watchdog } from "./systemd/notify.js";

/**
 * STATUS= is sent at most this often: a start changes the counts several times, and each STATUS costs
 * a copy of every container (list()) plus a libsystemd call and a datagram (docs/performance.md).
 */
const STATUS_COALESCE_MS = 100;

export class ServiceStatus {
  private readonly watchdog = new Watchdog();
  private lastStatus = "";
  private pendingUpdate: NodeJS.Timeout | undefined;

  constructor(
    private readonly supervisor: SupervisorApi,
    private readonly log: Logger,
  ) {}

  /** Sends KEY=VALUE assignments, each on its own newline-terminated line (what sd_notify parses). */
  private send(state: Record<string, string | number>): void {
    const text = Object.entries(state)
      .map(([key, value]) => `${key}=${value}\n`)
      .join("");
    try {
      notify(text);
    } catch (error) {
      this.log.warn(`could not notify the service manager: ${(error as Error).message}`);
    }
  }

  /** READY=1 with the first STATUS, and the watchdog from now on. */
  ready(): void {
    this.watchdog.start();
    this.lastStatus = this.statusText();
    this.send({ READY: 1, STATUS: this.lastStatus });
  }

  /** STATUS= within STATUS_COALESCE_MS when the counts changed since the last one sent. */
  update(): void {
    if (this.pendingUpdate !== undefined) return;
    this.pendingUpdate = setTimeout(() => {
      this.pendingUpdate = undefined;
      const status = this.statusText();
      if (status === this.lastStatus) return;
      this.lastStatus = status;
      this.send({ STATUS: status });
    }, STATUS_COALESCE_MS);
    this.pendingUpdate.unref();
  }

  reloading(): void {
    this.send({ RELOADING: 1 });
  }

  reloaded(): void {
    this.send({ READY: 1 });
  }

  stopping(): void {
    clearTimeout(this.pendingUpdate);
    this.pendingUpdate = undefined;
    this.watchdog.stop();
    this.send({ STOPPING: 1 });
  }

  private statusText(): string {
    const { supervisor } = this;
    return (
      `${supervisor.list().length} containers, ${supervisor.activeStarts} starting, ` +
      `${supervisor.queuedStarts} queued`
    );
  }
}
