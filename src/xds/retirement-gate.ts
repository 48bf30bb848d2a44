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
//
// A second condition keeps a retired name while a stream still subscribes to it by name (bounded
// by `subscribedMaxMs`): gRPC C-core keeps watching a cluster its route no longer names for 15
// minutes (its cluster manager retains the child), and a cluster it was told does not exist and
// that then comes back (the split flips back) fails its calls until its endpoints are re-sent
// (measured: seconds, thousands of calls). grpc-js unsubscribes at once; Envoy subscribes to all
// (wildcard), which does not count as naming it.
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { ResourceCache, RetirementBatch, RetirementGate } from './resource-cache.js';
import { shortTypeName } from './resource-types.js';

export type RetirementMetrics = Pick<Metrics, 'resourcesRetiring' | 'retirementWait'>;

/** A stream, as far as retirements care. */
export interface RetirementHolder {
  readonly nodeId: string;
  readonly isClosed: boolean;
  /** Whether it was sent resources `changed` at step `seq` of `typeUrl` may touch, and has not ACKed that step yet. */
  awaitsAckOf(typeUrl: string, seq: number, changed: ReadonlySet<string>): boolean;
  /** Whether it subscribes to `name` of `typeUrl` by name (not as a wildcard). */
  namesResource(typeUrl: string, name: string): boolean;
}

export interface RetirementGateOptions {
  readonly cache: ResourceCache;
  /** The open streams served from this cache. */
  readonly streams: () => Iterable<RetirementHolder>;
  /** Longest a retirement waits for streams that do not ACK. */
  readonly graceMs: number;
  /** Longest a retired name stays while some stream still subscribes to it by name. */
  readonly subscribedMaxMs: number;
  /** Proxy views this cache serves (metric label). */
  readonly views: readonly string[];
  readonly log: Logger;
  readonly metrics: RetirementMetrics;
}

/** What /debug shows of one waiting batch. */
export interface RetiringReport {
  readonly resources: Record<string, string[]>;
  readonly waitingMs: number;
  /** Node ids of the streams that have not ACKed yet. */
  readonly waitingFor: string[];
  /** Node ids of the streams that still subscribe to some of them by name (after the ACKs). */
  readonly subscribedBy: string[];
}

interface Waiting {
  readonly holders: Set<RetirementHolder>;
  /** Grace timer while waiting for ACKs, then the subscribed-by-name limit. */
  timer: NodeJS.Timeout;
  /** The ACK phase is over (acked, unheld or grace). */
  acked: boolean;
  /** No stream was concerned when it was retired. */
  readonly unheld: boolean;
}

/** How a retirement ended: every concerned stream ACKed, none was concerned, or the grace period ran out. */
export type RetirementOutcome = 'acked' | 'unheld' | 'grace';

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
    const timer = setTimeout(() => this.endAckPhase(batch, 'grace'), this.opts.graceMs);
    timer.unref();
    this.waiting.set(batch, { holders, timer, acked: false, unheld: holders.size === 0 });
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
      waitingFor: w.acked ? [] : [...new Set([...w.holders].filter((h) => !h.isClosed).map((h) => h.nodeId))].sort(),
      subscribedBy: w.acked ? this.subscribers(batch) : [],
    }));
  }

  /** Stops the grace timers (server shutdown); what is retiring stays in the cache. */
  close(): void {
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    this.waiting.clear();
  }

  private check(): void {
    for (const [batch, w] of this.waiting) {
      if (!w.acked) {
        for (const h of w.holders) if (h.isClosed || !holds(h, batch)) w.holders.delete(h);
        if (w.holders.size === 0) this.endAckPhase(batch, w.unheld ? 'unheld' : 'acked');
        continue;
      }
      this.releaseUnsubscribed(batch);
    }
  }

  /** Every concerned stream ACKed (or none was, or the grace period ended): on to removal. */
  private endAckPhase(batch: RetirementBatch, outcome: RetirementOutcome): void {
    const w = this.waiting.get(batch);
    if (!w || w.acked) return;
    w.acked = true;
    clearTimeout(w.timer);
    const count = [...batch.names.values()].reduce((n, s) => n + s.size, 0);
    if (count > 0) {
      const waitedSeconds = (performance.now() - batch.at) / 1000;
      this.opts.metrics.retirementWait.observe({ outcome, view: this.opts.views.join(',') }, waitedSeconds);
      if (outcome === 'grace') {
        const nodes = [...new Set([...w.holders].filter((h) => !h.isClosed).map((h) => h.nodeId))];
        this.opts.log.warn(
          { resources: count, waitedMs: Math.round(waitedSeconds * 1000), notAcked: nodes.slice(0, 20), notAckedCount: nodes.length },
          'retired resources stopped waiting for ACKs after the grace period: some proxies never ACKed the change that stopped referring to them',
        );
      }
    }
    w.holders.clear();
    w.timer = setTimeout(() => this.finish(batch), this.opts.subscribedMaxMs);
    w.timer.unref();
    this.releaseUnsubscribed(batch);
  }

  /** Removes the names of a batch no open stream subscribes to by name; ends the batch when none is left. */
  private releaseUnsubscribed(batch: RetirementBatch): void {
    const streams = [...this.opts.streams()].filter((s) => !s.isClosed);
    this.opts.cache.release(batch, (typeUrl, name) => !streams.some((s) => s.namesResource(typeUrl, name)));
    if ([...batch.names.values()].every((names) => names.size === 0)) this.finish(batch);
    else this.updateGauge();
  }

  /** Removes whatever of the batch is left and forgets it. */
  private finish(batch: RetirementBatch): void {
    const w = this.waiting.get(batch);
    if (!w) return;
    clearTimeout(w.timer);
    this.waiting.delete(batch);
    this.opts.cache.release(batch);
    this.updateGauge();
  }

  private subscribers(batch: RetirementBatch): string[] {
    const nodes = new Set<string>();
    for (const s of this.opts.streams()) {
      if (s.isClosed) continue;
      for (const [typeUrl, names] of batch.names) for (const n of names) if (s.namesResource(typeUrl, n)) nodes.add(s.nodeId);
    }
    return [...nodes].sort();
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
