// What every xDS stream shares, whichever protocol variant it speaks: the node and the resource
// view it picked on its first request, its per-type subscriptions, and the flush loop that writes
// responses in push order, stops when the transport pushes back, and records push latency.
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { NodeMessage } from './discovery-messages.js';
import type { Flushable } from './flush-scheduler.js';
import type { ProxyKind } from './proxy-kind.js';
import type { ResourceCache } from './resource-cache.js';
import { PUSH_ORDER, shortTypeName } from './resource-types.js';
import type { SharedBodies } from './shared-bodies.js';
import type { SubscriptionBase } from './type-subscription.js';

/** The resources one kind of proxy is served. */
export interface ResourceView {
  readonly kind: ProxyKind;
  readonly cache: ResourceCache;
  readonly bodies: SharedBodies;
}

export interface StreamEnvironment {
  /** Chooses the view from the node of the stream's first request. */
  readonly viewFor: (node: NodeMessage | null) => ResourceView;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Asks the server to call flush() soon (batched with other streams). */
  readonly schedule: (stream: Flushable) => void;
  /**
   * Least time between two flushes that write to one stream (0 = none). Under churn a stream then
   * gets one response per interval carrying everything that changed, instead of one per change.
   */
  readonly minPushIntervalMs: number;
  /** Told of every ACK and NACK (admin pages, benchmarks). */
  readonly onReply?: (reply: ProxyReply) => void;
  /** False while answers are held (see warm-gate.ts); absent: always answer. */
  readonly isWarm?: () => boolean;
}

/** An ACK or NACK received from a proxy. */
export interface ProxyReply {
  readonly kind: 'ack' | 'nack';
  readonly nodeId: string;
  readonly typeUrl: string;
  readonly version: string;
  /** performance.now() when it arrived. */
  readonly at: number;
}

export interface StreamInfo {
  readonly id: number;
  readonly api: string;
  readonly peer: string;
  readonly connectedAt: Date;
}


export interface Sink<Out> {
  write(response: Out): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export abstract class StreamBase<Sub extends Pick<SubscriptionBase, 'pending' | 'awaitsAckOf' | 'names'>, Out> {
  node: NodeMessage | null = null;
  /** Set by the first request. */
  view: ResourceView | null = null;
  readonly subscriptions = new Map<string, Sub>();
  private nonceCounter = 0;
  private blocked = false;
  private closed = false;
  private lastWriteAt = -Infinity;
  private throttled = false;
  /** When the oldest change not yet sent was seen, per type (for the push latency metric). */
  private readonly pendingSince = new Map<string, number>();

  constructor(
    readonly info: StreamInfo,
    private readonly sink: Sink<Out>,
    protected readonly env: StreamEnvironment,
    /** Set for the single-type services (CDS, EDS, ...); undefined for ADS. */
    protected readonly onlyType?: string,
  ) {}

  get nodeId(): string {
    return this.node?.id ?? '';
  }

  /** Sends what is due, type by type in push order, until the transport pushes back. */
  flush(): void {
    // Held until the resources are complete: requests are remembered, the server flushes at opening.
    if (this.closed || this.blocked || this.env.isWarm?.() === false) return;
    const wait = this.lastWriteAt + this.env.minPushIntervalMs - performance.now();
    // Answers to requests (new subscriptions) are never held back, and changes pending at that
    // moment go with them; only pushes of changes wait for the interval.
    if (wait > 0 && !this.owesAnswer()) {
      if (!this.throttled) {
        // Pushed a moment ago: come back when the interval is over (changes keep accumulating).
        this.throttled = true;
        setTimeout(() => {
          this.throttled = false;
          this.env.schedule(this);
        }, wait);
      }
      return;
    }
    for (const typeUrl of this.orderedTypes()) {
      const response = this.buildResponse(this.subscriptions.get(typeUrl)!);
      if (!response) continue;
      const ok = this.sink.write(response);
      this.lastWriteAt = performance.now();
      const since = this.pendingSince.get(typeUrl);
      if (since !== undefined) {
        this.env.metrics.pushLatency.observe({ type: shortTypeName(typeUrl) }, (performance.now() - since) / 1000);
        this.pendingSince.delete(typeUrl);
      }
      if (!ok) {
        // A slow proxy: stop writing to it; what changes meanwhile coalesces into the next response.
        this.blocked = true;
        this.sink.once('drain', () => {
          this.blocked = false;
          this.env.schedule(this);
        });
        return;
      }
    }
  }

  close(): void {
    this.closed = true;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether this stream holds back resources retired at step `seq` of a type (retirement-gate.ts). */
  awaitsAckOf(typeUrl: string, seq: number, changed: ReadonlySet<string>): boolean {
    return this.subscriptions.get(typeUrl)?.awaitsAckOf(seq, changed) ?? false;
  }

  /** Whether this stream subscribes to `name` of `typeUrl` by name (a wildcard does not count). */
  namesResource(typeUrl: string, name: string): boolean {
    return this.subscriptions.get(typeUrl)?.names.has(name) ?? false;
  }

  /** The response a subscription is due now, or null. */
  protected abstract buildResponse(sub: Sub): Out | null;

  /** Records the node and picks the resource view on the stream's first request. */
  protected adopt(node: NodeMessage | null): void {
    if (!this.node && node) this.node = node;
    this.view ??= this.env.viewFor(this.node);
  }

  /** A subscribed resource of `typeUrl` changed at `observedAt`: flush soon. */
  protected changed(typeUrl: string, observedAt: number): void {
    if (!this.pendingSince.has(typeUrl)) this.pendingSince.set(typeUrl, observedAt);
    this.env.schedule(this);
  }

  private owesAnswer(): boolean {
    for (const sub of this.subscriptions.values()) if (sub.pending !== null) return true;
    return false;
  }

  /**
   * The cache's own string for a resource name. Subscriptions keep names for as long as a stream
   * lives; without this, thousands of Envoy streams would each hold their own copies of the same
   * thousand names, decoded from their first request.
   */
  protected intern(typeUrl: string, name: string): string {
    const cache = this.view?.cache;
    return (cache?.hasType(typeUrl) && cache.get(typeUrl, name)?.name) || name;
  }

  protected nextNonce(): string {
    return String(++this.nonceCounter);
  }

  private orderedTypes(): string[] {
    const known = PUSH_ORDER.filter((t) => this.subscriptions.has(t));
    const others = [...this.subscriptions.keys()].filter((t) => !(PUSH_ORDER as readonly string[]).includes(t));
    return [...known, ...others];
  }
}
