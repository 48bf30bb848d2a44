// Coalesces registry changes into batches: a batch goes out `debounceMs` after the last change,
// but never later than `maxDelayMs` after its first, so a steady stream of changes still flows.
// With `debounceMs` 0 a batch closes at the end of the event-loop turn its changes arrived in
// (setImmediate: a 0 ms timer waits a millisecond or more): the ZooKeeper binding delivers every
// message already received in one turn, so a burst still makes one batch, and a lone change is not
// held back at all.

export interface BatcherOptions {
  readonly debounceMs: number;
  readonly maxDelayMs: number;
}

/** `firstSeenAt`: the earliest origin of a change in the batch (performance.now() clock). */
export type BatchHandler = (keys: Set<string>, firstSeenAt: number) => void;

export class ChangeBatcher {
  private keys = new Set<string>();
  private firstSeenAt = 0;
  private debounceTimer: NodeJS.Timeout | null = null;
  private turnEnd: NodeJS.Immediate | null = null;
  private maxTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly opts: BatcherOptions,
    private readonly handler: BatchHandler,
  ) {}

  /** `origin`: when the change came to exist if known (change-origin.ts), else now. */
  add(key: string, origin?: number): void {
    const at = Math.min(origin ?? Infinity, performance.now());
    if (this.keys.size === 0) {
      this.firstSeenAt = at;
      this.maxTimer = setTimeout(() => this.flush(), this.opts.maxDelayMs);
    } else this.firstSeenAt = Math.min(this.firstSeenAt, at);
    this.keys.add(key);
    if (this.opts.debounceMs <= 0) {
      this.turnEnd ??= setImmediate(() => this.flush());
      return;
    }
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => this.flush(), this.opts.debounceMs);
  }

  private stopTimers(): void {
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    if (this.maxTimer) clearTimeout(this.maxTimer);
    if (this.turnEnd) clearImmediate(this.turnEnd);
    this.debounceTimer = this.maxTimer = this.turnEnd = null;
  }

  /** Sends what is pending now. */
  flush(): void {
    this.stopTimers();
    if (this.keys.size === 0) return;
    const keys = this.keys;
    this.keys = new Set();
    this.handler(keys, this.firstSeenAt);
  }

  /** Drops what is pending (used when a full resync replaces it). */
  clear(): void {
    this.stopTimers();
    this.keys = new Set();
  }
}
