// Change -> proxy convergence for the status page: how long after a ZooKeeper change a proxy
// acknowledged the response carrying it. Fed by what already exists: the caches' change events
// (each new type version with the time its ZooKeeper notification was observed) and the ACKs the
// xDS server reports. A fixed ring buffer keeps the last samples; nothing grows with time.
//
// Only proxies that were already connected and answering on that type before the change count:
// a proxy that connects later gets the current version at once, and its "convergence" would be the
// age of the change, not how fast zk-xds pushed it.
import type { ProxyReply } from '../xds/stream-base.js';
import type { TypeChange } from '../xds/resource-cache.js';

/** Last type versions remembered per type (a proxy ACKing an older one is far behind anyway). */
const VERSIONS_PER_TYPE = 256;

export interface ConvergenceBucket {
  /** Start of the bucket (ISO time). */
  readonly from: string;
  readonly count: number;
  /** Seconds; null when the bucket has no sample. */
  readonly p50: number | null;
  readonly p99: number | null;
}

export interface ConvergenceSummary {
  readonly windowSeconds: number;
  readonly bucketSeconds: number;
  /** Over the whole window. */
  readonly count: number;
  readonly p50: number | null;
  readonly p99: number | null;
  /** Oldest first; one per bucket, empty ones included, so the chart's x axis is time. */
  readonly buckets: ConvergenceBucket[];
}

export class ConvergenceSamples {
  /** Pairs (wall-clock ms of the ACK, seconds from change to ACK), oldest overwritten first. */
  private readonly ring: Float64Array;
  private next = 0;
  private size = 0;
  /** typeUrl -> version -> performance.now() of the change that made it. */
  private readonly versions = new Map<string, Map<string, number>>();
  /** `${node}\0${typeUrl}` -> performance.now() of that node's first reply on the type. */
  private readonly firstReply = new Map<string, number>();

  constructor(
    private readonly capacity = 4096,
    private readonly now: () => number = Date.now,
  ) {
    this.ring = new Float64Array(capacity * 2);
  }

  recordChanges(changes: readonly TypeChange[]): void {
    for (const c of changes) {
      let byVersion = this.versions.get(c.typeUrl);
      if (!byVersion) this.versions.set(c.typeUrl, (byVersion = new Map()));
      byVersion.delete(c.version);
      byVersion.set(c.version, c.observedAt);
      if (byVersion.size > VERSIONS_PER_TYPE) byVersion.delete(byVersion.keys().next().value as string);
    }
  }

  recordReply(reply: ProxyReply): void {
    const key = `${reply.nodeId}\0${reply.typeUrl}`;
    const first = this.firstReply.get(key);
    if (first === undefined) this.firstReply.set(key, reply.at);
    if (reply.kind !== 'ack' || first === undefined) return;
    const observedAt = this.versions.get(reply.typeUrl)?.get(reply.version);
    if (observedAt === undefined || observedAt < first) return;
    this.add(Math.max(0, reply.at - observedAt) / 1000);
  }

  /** Forgets nodes no longer connected (called with the connected node ids now and then). */
  prune(connected: ReadonlySet<string>): void {
    for (const key of this.firstReply.keys()) if (!connected.has(key.slice(0, key.indexOf('\0')))) this.firstReply.delete(key);
  }

  /** Known (node, type) pairs; for tests and the prune cadence. */
  get trackedReplies(): number {
    return this.firstReply.size;
  }

  summary(windowSeconds = 600, bucketSeconds = 30): ConvergenceSummary {
    const end = this.now();
    const start = end - windowSeconds * 1000;
    const bucketCount = Math.ceil(windowSeconds / bucketSeconds);
    const perBucket: number[][] = Array.from({ length: bucketCount }, () => []);
    const all: number[] = [];
    for (let i = 0; i < this.size; i++) {
      const slot = (this.next - 1 - i + this.capacity) % this.capacity;
      const at = this.ring[slot * 2]!;
      if (at < start) continue;
      const seconds = this.ring[slot * 2 + 1]!;
      all.push(seconds);
      perBucket[Math.min(bucketCount - 1, Math.floor((at - start) / (bucketSeconds * 1000)))]!.push(seconds);
    }
    return {
      windowSeconds,
      bucketSeconds,
      count: all.length,
      p50: quantile(all, 0.5),
      p99: quantile(all, 0.99),
      buckets: perBucket.map((s, i) => ({
        from: new Date(start + i * bucketSeconds * 1000).toISOString(),
        count: s.length,
        p50: quantile(s, 0.5),
        p99: quantile(s, 0.99),
      })),
    };
  }

  private add(seconds: number): void {
    this.ring[this.next * 2] = this.now();
    this.ring[this.next * 2 + 1] = seconds;
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }
}

/** Nearest-rank quantile; null for no samples. */
export function quantile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
