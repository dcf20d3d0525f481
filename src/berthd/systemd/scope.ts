// A transient scope per shim: berth-shim-<id>.scope in berth.slice, made with systemd's
// StartTransientUnit. The shim then belongs to its own unit, not to berthd.service, so restarting
// berthd never touches it and `systemctl status` shows what each shim is for.
//
//   const scopes = new Scopes(bus);        // a connection on which org.freedesktop.systemd1 is reachable
//   await scopes.start();
//   const unit = await scopes.create(id, [shimPid], `berth shim for container ${id}`);
//   ...
//   await scopes.stop();
//
// Every call waits for its job's JobRemoved, so "done" means systemd really moved the pids.

import {
  callBusDaemon,
  callWithTimeout,
  type DBusError,
  Message,
  type MessageBus,
  MessageType,
  Variant,
} from "../../common/bus.js";

const SYSTEMD = "org.freedesktop.systemd1";
const MANAGER_PATH = "/org/freedesktop/systemd1";
const MANAGER = "org.freedesktop.systemd1.Manager";
const JOB_REMOVED_RULE = `type='signal',sender='${SYSTEMD}',path='${MANAGER_PATH}',interface='${MANAGER}',member='JobRemoved'`;
/** Jobs that finished before their caller got to wait for them; bounded, since unknown jobs also land here. */
const MAX_EARLY_RESULTS = 1024;

export const BERTH_SLICE = "berth.slice";
const SCOPE_PREFIX = "berth-shim-";

export class ScopeError extends Error {}
/** A scope of that name exists already (a shim of a container with the same id is still alive). */
export class ScopeExistsError extends ScopeError {}

/** The unit of a container's shim (container ids are valid unit-name characters as they are). */
export function shimScopeName(id: string): string {
  return `${SCOPE_PREFIX}${id}.scope`;
}

/**
 * The unit of an exec'd process's shim: `berth-shim-<id>:<exec-id>.scope`. ':' is a valid unit-name
 * character that no id may contain, so the name is unambiguous without escaping: with '-' (or any id
 * character) as the separator, container "web" exec "x-y" and container "web-x" exec "y", or
 * container "web-x"'s own shim, would all claim one name.
 */
export function processScopeName(id: string, execId: string): string {
  return `${SCOPE_PREFIX}${id}:${execId}.scope`;
}

export interface ScopesOptions {
  /** Slice the scopes go in; default berth.slice. */
  slice?: string;
  /** How long a call and its job may take; default 30 s. */
  timeoutMs?: number;
}

interface Waiter {
  resolve(result: string): void;
  reject(error: Error): void;
}

export class Scopes {
  private readonly slice: string;
  private readonly timeoutMs: number;
  private readonly waiters = new Map<string, Waiter>();
  private readonly early = new Map<string, string>();
  private started = false;

  constructor(
    private readonly bus: MessageBus,
    options: ScopesOptions = {},
  ) {
    this.slice = options.slice ?? BERTH_SLICE;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * Listens for JobRemoved. systemd always sends it to the client that queued the job, so no
   * Subscribe() is needed (that would make systemd send every unit change of the host).
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.bus.on("message", this.onMessage);
    await callBusDaemon(this.bus, "AddMatch", "s", [JOB_REMOVED_RULE]);
    this.started = true;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.bus.off("message", this.onMessage);
    for (const waiter of this.waiters.values()) waiter.reject(new ScopeError("scopes: stopped"));
    this.waiters.clear();
    this.early.clear();
    await callBusDaemon(this.bus, "RemoveMatch", "s", [JOB_REMOVED_RULE]).catch(() => {});
  }

  /** Creates the shim's scope around `pids` and returns its unit name once the job is done. */
  create(id: string, pids: number[], description: string): Promise<string> {
    return this.createUnit(shimScopeName(id), pids, description);
  }

  /** Creates the scope `unit` (a name ending in .scope) around `pids`; returns the name once done. */
  async createUnit(unit: string, pids: number[], description: string): Promise<string> {
    const properties = [
      ["PIDs", new Variant("au", pids)],
      ["Slice", new Variant("s", this.slice)],
      ["Description", new Variant("s", description)],
      // Gone from systemd as soon as it is empty, even when it failed: deleting a container leaves no unit.
      ["CollectMode", new Variant("s", "inactive-or-failed")],
    ];
    await this.runJob(unit, "StartTransientUnit", "ssa(sv)a(sa(sv))", [unit, "fail", properties, []]);
    return unit;
  }

  /** Stops the scope (systemd kills what is left in it) and waits; a scope that is already gone is fine. */
  stopScope(id: string): Promise<void> {
    return this.stopUnit(shimScopeName(id));
  }

  /** stopScope() for any unit name. */
  async stopUnit(unit: string): Promise<void> {
    try {
      await this.runJob(unit, "StopUnit", "ss", [unit, "replace"]);
    } catch (error) {
      if (!(error instanceof ScopeError && error.message.includes("NoSuchUnit"))) throw error;
    }
  }

  /**
   * Abandons the scope: systemd stops treating berthd as its manager, and the scope lives on until
   * its processes are gone.
   */
  async abandon(id: string): Promise<void> {
    await this.call("AbandonScope", "s", [shimScopeName(id)]);
  }

  private async runJob(unit: string, member: string, signature: string, body: unknown[]): Promise<void> {
    if (!this.started) throw new ScopeError("scopes: not started");
    const [job] = (await this.call(member, signature, body)) as [string];
    const result = await this.waitJob(job);
    if (result !== "done") throw new ScopeError(`${member} of ${unit}: job ${result}`);
  }

  private async call(member: string, signature: string, body: unknown[]): Promise<unknown[]> {
    const message = new Message({
      destination: SYSTEMD,
      path: MANAGER_PATH,
      interface: MANAGER,
      member,
      signature,
      body,
    });
    try {
      return (await callWithTimeout(this.bus, message, this.timeoutMs))?.body ?? [];
    } catch (error) {
      const { type, text } = error as DBusError;
      if (type === "org.freedesktop.systemd1.UnitExists") throw new ScopeExistsError(`${member}: ${text}`);
      throw new ScopeError(`${member}: ${type ?? "error"}: ${text ?? (error as Error).message}`);
    }
  }

  private waitJob(job: string): Promise<string> {
    const result = this.early.get(job);
    if (result !== undefined) {
      this.early.delete(job);
      return Promise.resolve(result);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(job);
        reject(new ScopeError(`job ${job}: no JobRemoved in ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(job);
      };
      this.waiters.set(job, {
        resolve: (r) => {
          done();
          resolve(r);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
    });
  }

  // An arrow function, so that on() and off() see the same function.
  private readonly onMessage = (message: Message): void => {
    if (
      message.type !== MessageType.SIGNAL ||
      message.member !== "JobRemoved" ||
      message.interface !== MANAGER
    ) {
      return;
    }
    const [, job, unit, result] = message.body as [number, string, string, string];
    if (!unit.startsWith(SCOPE_PREFIX)) return;
    const waiter = this.waiters.get(job);
    if (waiter !== undefined) {
      waiter.resolve(result);
      return;
    }
    // The signal can be handled before the method reply's continuation has run.
    this.early.set(job, result);
    if (this.early.size > MAX_EARLY_RESULTS) this.early.delete(this.early.keys().next().value as string);
  };
}
