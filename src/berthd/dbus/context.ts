// What every handler of berth's interfaces works with, and the targets of container/process objects.

import type { ContainerInfo, ProcessInfo, SupervisorApi } from "../../common/types.js";

export interface ApiContext {
  readonly supervisor: SupervisorApi;
  /** package.json's version, read once at start. */
  readonly version: string;
  /** Re-reads the manager's properties and emits PropertiesChanged for those that changed. */
  refreshManager(): void;
}

/** An exported container object: its last known state, kept current from the supervisor's events. */
export interface ContainerTarget {
  readonly api: ApiContext;
  info: ContainerInfo;
}

/** An exported process object. */
export interface ProcessTarget {
  readonly api: ApiContext;
  info: ProcessInfo;
}
