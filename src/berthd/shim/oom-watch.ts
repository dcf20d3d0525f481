// Watches a container's state dir for the shim's `oom` file ({"count":N,"last_at":µs}, rewritten by
// rename on every OOM event) and reports each increase of the count once.

import { existsSync, type FSWatcher, readFileSync, watch } from "node:fs";
import { join } from "node:path";
import { FILES } from "../state/layout.js";

function readCount(dir: string): number {
  const path = join(dir, FILES.oom);
  // Usually there is none (no OOM yet): existsSync is cheaper than a thrown ENOENT, once per container
  // at every restart.
  if (!existsSync(path)) return 0;
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as { count?: unknown };
    return typeof parsed.count === "number" ? parsed.count : 0;
  } catch {
    return 0;
  }
}

export class OomWatch {
  private watcher: FSWatcher | undefined;
  private seen = 0;

  constructor(
    readonly stateDir: string,
    private readonly onOom: () => void,
  ) {}

  /** OOM events that happened before start() (e.g. while berthd was down) are not reported again. */
  start(): void {
    this.seen = readCount(this.stateDir);
    try {
      this.watcher = watch(this.stateDir, { persistent: false }, (_event, name) => {
        if (name === FILES.oom) this.check();
      });
      this.watcher.on("error", () => this.close());
    } catch {
      // The dir is gone: nothing left to watch.
    }
  }

  /** Reports an increase not seen yet; called before the exit is applied so OOM comes first. */
  check(): void {
    const count = readCount(this.stateDir);
    if (count > this.seen) {
      this.seen = count;
      this.onOom();
    }
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
