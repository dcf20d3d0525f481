// Runs async operations one after another, in the order they were queued: one per container, so two
// operations on the same container never interleave (a conflicting one waits its turn).

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.tail.then(operation);
    // The next operation waits for this one to settle, whether it succeeded or failed.
    const settled = () => {};
    this.tail = result.then(settled, settled);
    return result;
  }
}
