// The /run/berth tree (design.md "State on disk"): every path berthd reads or writes under its state
// dir is named here, so no other module builds one by hand.

import { join } from "node:path";

export const CONTAINERS_DIR = "containers";
export const RUNTIME_DIR = "runtime";

/** Files in a container's (or exec'd process's) state dir; the shim's are described in docs/shim.md. */
export const FILES = {
  request: "request.json",
  record: "berthd.json",
  process: "process.json",
  shimPid: "shim.pid",
  initPid: "init.pid",
  exitFifo: "exit.fifo",
  exitJson: "exit.json",
  started: "started.json",
  oom: "oom",
  control: "control.fifo",
  stdin: "stdin",
  stdout: "stdout",
  stderr: "stderr",
  log: "log",
  bundle: "bundle",
  processes: "processes",
} as const;

export class StateLayout {
  constructor(readonly root: string) {}

  get containersDir(): string {
    return join(this.root, CONTAINERS_DIR);
  }

  /** The runtime's --root for the configured runtime `name`. */
  runtimeRoot(name: string): string {
    return join(this.root, RUNTIME_DIR, name);
  }

  containerDir(id: string): string {
    return join(this.containersDir, id);
  }

  /** The bundle berthd gives the runtime: the user's config.json rewritten (see docs/supervisor.md). */
  runtimeBundle(id: string): string {
    return join(this.containerDir(id), FILES.bundle);
  }

  processesDir(id: string): string {
    return join(this.containerDir(id), FILES.processes);
  }

  processDir(id: string, execId: string): string {
    return join(this.processesDir(id), execId);
  }
}
