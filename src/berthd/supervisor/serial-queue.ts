// Runs async operations one after another, in the order they were queued: one per container, so two
// operations on the same container never interleave (a conflicting one waits its turn).

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  /** Operations queued or running. */
  get depth(): number {
    return this.pending;
  }

  run<T>(operation: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(operation);
    const done = () => {
      this.pending--;
    };
    this.tail = result.then(done, done);
    return result;
  }
}
