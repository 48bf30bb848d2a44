// Batches stream flushes: a change marks many streams at once, and they are flushed in slices
// that yield to the event loop, so ACKs and new connections keep being served during a big push.

export interface Flushable {
  flush(): void;
}

const STREAMS_PER_SLICE = 256;

export class FlushScheduler<T extends Flushable> {
  private readonly queue = new Set<T>();
  private scheduled = false;

  schedule(stream: T): void {
    this.queue.add(stream);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.run());
    }
  }

  forget(stream: T): void {
    this.queue.delete(stream);
  }

  private run(): void {
    let n = 0;
    for (const stream of this.queue) {
      this.queue.delete(stream);
      stream.flush();
      if (++n >= STREAMS_PER_SLICE) break;
    }
    if (this.queue.size > 0) setImmediate(() => this.run());
    else this.scheduled = false;
  }
}
