// What the operation modules (create.ts, start.ts, ...) need from the supervisor. The Supervisor
// implements it; operations take it as a parameter, so they never import the Supervisor itself.

import type winston from "winston";
import type { BerthdConfig } from "../../common/types.js";
import type { RuntimeClient } from "../runtime/client.js";
import type { StateLayout } from "../state/layout.js";
import type { Scopes } from "../systemd/scope.js";
import type { Container } from "./container.js";
import type { StartLimiter } from "./start-limiter.js";
import type { Task } from "./tasks.js";

export interface SupervisorCore {
  readonly config: BerthdConfig;
  readonly layout: StateLayout;
  readonly log: winston.Logger;
  readonly limiter: StartLimiter;
  /** Transient scopes for shims when systemd manages the host (docs/systemd.md); else undefined. */
  readonly scopes: Scopes | undefined;
  runtime(name: string): RuntimeClient;
  /** The one place state changes. Returns false when the task's container is no longer current. */
  apply(task: Task): boolean;
  /** Runs `work` now, or once deliverPendingEvents() has been called: exits seen at start wait for it. */
  whenDelivered(work: () => void): void;
  /** True for an id whose create is in flight or that exists. */
  idTaken(id: string): boolean;
  reserveId(id: string): void;
  releaseId(id: string): void;
  current(container: Container): boolean;
}
