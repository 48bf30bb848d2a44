// A token bucket: at most `perSecond` operations per second on average, bursts up to `burst`.
// Keeps a mass change (a whole registry appearing at once) from flooding the API server.
import { setTimeout as sleep } from 'node:timers/promises';

export class RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number = Math.max(1, Math.ceil(perSecond)),
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(perSecond > 0)) throw new Error('perSecond must be positive');
    this.tokens = this.burst;
    this.last = this.now();
  }

  /** Resolves when an operation may run (takes its token). */
  async take(): Promise<void> {
    for (;;) {
      const wait = this.tryTake();
      if (wait === 0) return;
      await sleep(wait);
    }
  }

  /** Takes a token and returns 0, or returns how many ms until one is available. */
  tryTake(): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }
}
