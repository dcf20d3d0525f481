// The supervisor's in-memory view of one container and of its exec'd processes. Only the
// supervisor's apply() changes `info`, `record` and `processes`; operations read them.

import type { ContainerInfo, ProcessInfo } from "../../common/types.js";
import type { RuntimeClient } from "../runtime/client.js";
import type { EarlyOutput } from "../shim/early-output.js";
import type { ExitWatch } from "../shim/exit-watch.js";
import type { OomWatch } from "../shim/oom-watch.js";
import { StdioPlaceholders } from "../shim/stdio.js";
import type { StateRecord } from "../state/record.js";
import type { ContainerRequest, ProcessRequest } from "../state/request.js";
import { SerialQueue } from "./serial-queue.js";

/** What waits for an exit: Wait() callers. Rejected when the object goes away without exiting. */
export interface Waiter {
  resolve(exitCode: number): void;
  reject(error: Error): void;
}

export class ExecProcess {
  exitWatch: ExitWatch | undefined;
  readonly waiters: Waiter[] = [];
  private placeholders: StdioPlaceholders | undefined;

  constructor(
    readonly info: ProcessInfo,
    readonly request: ProcessRequest,
    readonly dir: string,
    readonly record: StateRecord,
    /** Its output held from before it started, for the first OpenStdio (none when recovered). */
    readonly early: EarlyOutput | undefined = undefined,
  ) {}

  get shimGone(): Promise<void> {
    return this.exitWatch?.gone ?? Promise.resolve();
  }

  /** OpenStdio's placeholder writers, shared by every OpenStdio of this process. */
  stdioPlaceholders(): StdioPlaceholders {
    this.placeholders ??= new StdioPlaceholders(this.shimGone);
    return this.placeholders;
  }
}

export class Container {
  /** Operations on this container run here one at a time. */
  readonly queue = new SerialQueue();
  readonly processes = new Map<string, ExecProcess>();
  readonly waiters: Waiter[] = [];
  exitWatch: ExitWatch | undefined;
  oomWatch: OomWatch | undefined;
  /** Set by Delete while it runs: the exit it causes (of a created container) is not an Exited. */
  deleting = false;
  private placeholders: StdioPlaceholders | undefined;

  constructor(
    readonly info: ContainerInfo,
    readonly request: ContainerRequest,
    readonly dir: string,
    readonly runtime: RuntimeClient,
    readonly record: StateRecord,
  ) {}

  get id(): string {
    return this.info.id;
  }

  /** Resolves when the shim is gone (at once when there is no shim to watch). */
  get shimGone(): Promise<void> {
    return this.exitWatch?.gone ?? Promise.resolve();
  }

  /** OpenStdio's placeholder writers, shared by every OpenStdio of this container. */
  stdioPlaceholders(): StdioPlaceholders {
    this.placeholders ??= new StdioPlaceholders(this.shimGone);
    return this.placeholders;
  }

  closeWatches(): void {
    this.exitWatch?.close();
    this.oomWatch?.close();
    for (const process of this.processes.values()) process.exitWatch?.close();
  }
}
