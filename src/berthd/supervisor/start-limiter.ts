// Bounds the runtime create/start operations running at once (MaxConcurrentStarts); the rest wait in
// FIFO order. The bound can change at run time: raising it lets queued work go at once, lowering it
// lets running work finish and holds the queue until the count drops below the new bound.

export interface StartCounts {
  activeStarts: number;
  queuedStarts: number;
}

export class StartLimiter {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  private reported: StartCounts = { activeStarts: 0, queuedStarts: 0 };

  constructor(
    private limit: number,
    private readonly onChange: (counts: StartCounts) => void,
  ) {}

  get activeStarts(): number {
    return this.active;
  }

  get queuedStarts(): number {
    return this.queue.length;
  }

  get maxConcurrent(): number {
    return this.limit;
  }

  set maxConcurrent(limit: number) {
    this.limit = limit;
    this.pump();
  }

  async run<T>(operation: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await operation();
    } finally {
      this.active--;
      this.pump();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.limit && this.queue.length === 0) {
      this.active++;
      this.changed();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.queue.push(resolve);
      this.changed();
    });
  }

  private pump(): void {
    while (this.active < this.limit && this.queue.length > 0) {
      this.active++;
      this.queue.shift()!();
    }
    this.changed();
  }

  /** Reports the counts when they differ from the last report. */
  private changed(): void {
    const counts = { activeStarts: this.active, queuedStarts: this.queue.length };
    if (
      counts.activeStarts === this.reported.activeStarts &&
      counts.queuedStarts === this.reported.queuedStarts
    ) {
      return;
    }
    this.reported = counts;
    this.onChange(counts);
  }
}
