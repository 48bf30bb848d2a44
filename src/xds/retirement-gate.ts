// Make before break. When a change stops referring to a resource (a traffic split moves from
// subset v1 to v2, a policy with a split is deleted, a port's route goes), that resource is not
// removed in the same push: a proxy would then hold a route naming a cluster it was just told does
// not exist, and fail calls until the new route arrives (grpc-js: "Cluster resource ... does not
// exist"; C-core: `CDS resource "..." does not exist`). Instead the cache keeps it, retiring, and
// this gate removes it once every stream that was sent something the change touched has ACKed a
// response at or after that change, so it already uses the new references. Streams that never
// ACK (stuck, or NACKing the change) hold it at most `graceMs`. Streams that connect later hold
// nothing: they only ever get the new references, and a retiring resource they receive meanwhile
// (a wildcard CDS subscriber) is removed with the rest.
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { ResourceCache, RetirementBatch, RetirementGate } from './resource-cache.js';
import { shortTypeName } from './resource-types.js';

/** A stream, as far as retirements care. */
export interface RetirementHolder {
  readonly nodeId: string;
  readonly isClosed: boolean;
  /** Whether it was sent resources `changed` at step `seq` of `typeUrl` may touch, and has not ACKed that step yet. */
  awaitsAckOf(typeUrl: string, seq: number, changed: ReadonlySet<string>): boolean;
}

export interface RetirementGateOptions {
  readonly cache: ResourceCache;
  /** The open streams served from this cache. */
  readonly streams: () => Iterable<RetirementHolder>;
  /** Longest a retirement waits for streams that do not ACK. */
  readonly graceMs: number;
  /** Proxy views this cache serves (metric label). */
  readonly views: readonly string[];
  readonly log: Logger;
  readonly metrics: Metrics;
}

/** What /debug shows of one waiting batch. */
export interface RetiringReport {
  readonly resources: Record<string, string[]>;
  readonly waitingMs: number;
  /** Node ids of the streams that have not ACKed yet. */
  readonly waitingFor: string[];
}

interface Waiting {
  readonly holders: Set<RetirementHolder>;
  readonly timer: NodeJS.Timeout;
}

export class StreamAckRetirementGate implements RetirementGate {
  private readonly waiting = new Map<RetirementBatch, Waiting>();
  private checkScheduled = false;

  constructor(private readonly opts: RetirementGateOptions) {
    opts.cache.setRetirementGate(this);
  }

  admit(batch: RetirementBatch): void {
    // Only streams concerned now can hold it: one that connects later gets the new references.
    const holders = new Set<RetirementHolder>();
    for (const s of this.opts.streams()) if (holds(s, batch)) holders.add(s);
    const timer = setTimeout(() => this.release(batch, 'grace'), this.opts.graceMs);
    timer.unref();
    this.waiting.set(batch, { holders, timer });
    this.updateGauge();
    // Released on a later turn, never inside the cache's apply(); the new references go out first.
    this.recheck();
  }

  /** An ACK arrived or a stream closed: look again, once per event-loop turn. */
  recheck(): void {
    if (this.checkScheduled || this.waiting.size === 0) return;
    this.checkScheduled = true;
    setImmediate(() => {
      this.checkScheduled = false;
      this.check();
    });
  }

  report(): RetiringReport[] {
    const now = performance.now();
    return [...this.waiting].map(([batch, w]) => ({
      resources: Object.fromEntries([...batch.names].filter(([, names]) => names.size > 0).map(([t, names]) => [shortTypeName(t), [...names].sort()])),
      waitingMs: Math.round(now - batch.at),
      waitingFor: [...new Set([...w.holders].filter((h) => !h.isClosed).map((h) => h.nodeId))].sort(),
    }));
  }

  /** Stops the grace timers (server shutdown); what is retiring stays in the cache. */
  close(): void {
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    this.waiting.clear();
  }

  private check(): void {
    for (const [batch, w] of this.waiting) {
      for (const h of w.holders) if (h.isClosed || !holds(h, batch)) w.holders.delete(h);
      if (w.holders.size === 0) this.release(batch, 'acked');
    }
  }

  private release(batch: RetirementBatch, outcome: 'acked' | 'grace'): void {
    const w = this.waiting.get(batch);
    if (!w) return;
    clearTimeout(w.timer);
    this.waiting.delete(batch);
    const count = [...batch.names.values()].reduce((n, s) => n + s.size, 0);
    if (count > 0) {
      const waitedSeconds = (performance.now() - batch.at) / 1000;
      this.opts.metrics.retirementWait.observe({ outcome }, waitedSeconds);
      if (outcome === 'grace') {
        const nodes = [...new Set([...w.holders].filter((h) => !h.isClosed).map((h) => h.nodeId))];
        this.opts.log.warn(
          { resources: count, waitedMs: Math.round(waitedSeconds * 1000), notAcked: nodes.slice(0, 20), notAckedCount: nodes.length },
          'retired resources removed after the grace period although some proxies never ACKed the change that stopped referring to them',
        );
      }
    }
    this.opts.cache.release(batch);
    this.updateGauge();
  }

  private updateGauge(): void {
    const retiring = this.opts.cache.retiringNames();
    for (const [typeUrl, names] of retiring) {
      for (const view of this.opts.views) this.opts.metrics.resourcesRetiring.set({ type: shortTypeName(typeUrl), view }, names.size);
    }
  }
}

function holds(s: RetirementHolder, batch: RetirementBatch): boolean {
  for (const step of batch.steps) if (s.awaitsAckOf(step.typeUrl, step.seq, step.changed)) return true;
  return false;
}
