// Batches stream flushes: a change marks many streams at once, and they are flushed in slices
// that yield to the event loop between them.
//
// Why slices are bounded by time, not only by count: the ZooKeeper binding reads one packet (a
// watch event or a read's answer) per turn of the event loop (its poll callback runs the C
// client's zookeeper_process once, and that handles one received message). A turn that flushes
// hundreds of streams makes every ZooKeeper notification wait behind it: under churn at 1,000
// Envoy streams the registry fell seconds behind ZooKeeper, and the lag grew for as long as the
// churn lasted. A slice stops after `sliceBudgetMs` (or `maxPerSlice` streams), so a turn stays
// short and ZooKeeper, ACKs and new connections are read between slices at full speed.
//
// A stream is queued at most once: scheduling it again while it waits keeps its place, and its
// flush builds from the cache as it is then. When pushes fall behind, each stream's next response
// therefore carries everything that changed meanwhile (coalescing widens by itself: the latest
// state per stream, never a queue of versions), and every waiting stream is reached once per
// round in the order it was first scheduled.

export interface Flushable {
  flush(): void;
}

export interface FlushSchedulerOptions {
  /** Longest a slice of flushes may run before yielding to the event loop (default 4 ms). */
  readonly sliceBudgetMs?: number;
  /** Most streams flushed in one slice (default 256). */
  readonly maxPerSlice?: number;
  /** Clock (tests); default performance.now. */
  readonly now?: () => number;
  /** Runs the next slice after the event loop had its turn (tests); default setImmediate. */
  readonly defer?: (run: () => void) => void;
}

export const DEFAULT_SLICE_BUDGET_MS = 4;
const DEFAULT_MAX_PER_SLICE = 256;

export class FlushScheduler<T extends Flushable> {
  private readonly queue = new Set<T>();
  private scheduled = false;
  private readonly budgetMs: number;
  private readonly maxPerSlice: number;
  private readonly now: () => number;
  private readonly defer: (run: () => void) => void;
  /** Slices run so far (observability and tests). */
  slices = 0;

  constructor(o: FlushSchedulerOptions = {}) {
    this.budgetMs = o.sliceBudgetMs ?? DEFAULT_SLICE_BUDGET_MS;
    this.maxPerSlice = Math.max(1, o.maxPerSlice ?? DEFAULT_MAX_PER_SLICE);
    this.now = o.now ?? (() => performance.now());
    this.defer = o.defer ?? ((run) => setImmediate(run));
  }

  /** Streams waiting for their flush. */
  get waiting(): number {
    return this.queue.size;
  }

  schedule(stream: T): void {
    this.queue.add(stream);
    if (!this.scheduled) {
      this.scheduled = true;
      this.defer(() => this.run());
    }
  }

  forget(stream: T): void {
    this.queue.delete(stream);
  }

  private run(): void {
    this.slices++;
    const deadline = this.now() + this.budgetMs;
    let n = 0;
    // At least one flush per slice, so a slow stream cannot stall the rest.
    for (const stream of this.queue) {
      this.queue.delete(stream);
      stream.flush();
      if (++n >= this.maxPerSlice || this.now() >= deadline) break;
    }
    if (this.queue.size > 0) this.defer(() => this.run());
    else this.scheduled = false;
  }
}
