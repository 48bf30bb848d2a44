// Gives memory back after many streams went away holding response buffers. Those buffers are
// garbage once their streams close, but V8 collects only when JavaScript allocates: a replica left
// idle after a storm of slow proxies kept its RSS (2.0 GB measured) indefinitely. When closed
// streams released a lot of buffered bytes, a full collection is asked for once things are quiet,
// and once more a little later (HTTP/2 sessions finish closing asynchronously).
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Logger } from '../observability/logger.js';

/** Released bytes that make a collection worth its pause (a few tens of milliseconds). */
const WORTH_COLLECTING = 32 * 1024 * 1024;
const QUIET_MS = 1000;
const AGAIN_AFTER_MS = 10_000;

let gcFunction: (() => void) | null | undefined;

/** V8's gc(), exposed at run time when the process was not started with --expose-gc; null if refused. */
function collector(): (() => void) | null {
  if (gcFunction !== undefined) return gcFunction;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return (gcFunction = exposed);
  try {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = vm.runInNewContext('gc') as () => void;
  } catch {
    gcFunction = null;
  }
  return gcFunction;
}

export class MemoryReclaimer {
  private released = 0;
  private timer: NodeJS.Timeout | null = null;
  private again: NodeJS.Timeout | null = null;

  constructor(private readonly log: Logger) {}

  /** Closed streams let go of `bytes` of response buffers. */
  releasedOnClose(bytes: number): void {
    this.released += bytes;
    if (this.released < WORTH_COLLECTING) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.collect(), QUIET_MS);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.again) clearTimeout(this.again);
  }

  private collect(): void {
    this.timer = null;
    const released = this.released;
    this.released = 0;
    const gc = collector();
    if (!gc) return;
    const before = process.memoryUsage();
    gc();
    const after = process.memoryUsage();
    this.log.info(
      { releasedBytes: released, rssBefore: before.rss, rssAfter: after.rss, arrayBuffersAfter: after.arrayBuffers },
      'collected response buffers of closed xDS streams',
    );
    if (this.again) clearTimeout(this.again);
    this.again = setTimeout(() => {
      this.again = null;
      gc();
    }, AGAIN_AFTER_MS);
    this.again.unref();
  }
}
