// What every xDS stream shares, whichever protocol variant it speaks: the node and the resource
// view it picked on its first request, its per-type subscriptions, and the flush loop that writes
// responses in push order, stops when the transport pushes back, and records push latency.
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { NodeMessage } from './discovery-messages.js';
import type { Flushable } from './flush-scheduler.js';
import type { ProxyKind } from './proxy-kind.js';
import type { ViewName } from './client-profile.js';
import type { ResourceCache } from './resource-cache.js';
import { PUSH_ORDER, shortTypeName } from './resource-types.js';
import type { SharedBodies } from './shared-bodies.js';
import type { SubscriptionBase } from './type-subscription.js';
import type { NackLog } from './nack-log.js';
import { LatencyWindow } from './latency-window.js';
import { NameSharing } from './name-sets.js';
import { childOf } from './metric-children.js';
import { freshNonce } from './response-frames.js';

/** The metrics a stream records (the process's Metrics has them). */
export type StreamMetrics = Pick<
  Metrics,
  'pushLatency' | 'changeToSent' | 'changeToAck' | 'acks' | 'nacks' | 'resourcesSent' | 'responsesSent' | 'staleRequests'
>;

/** The resources one kind of proxy (or one client profile of it) is served. */
export interface ResourceView {
  readonly name: ViewName;
  readonly kind: ProxyKind;
  readonly cache: ResourceCache;
  readonly bodies: SharedBodies;
}

export interface StreamEnvironment {
  /** Chooses the view from the node of the stream's first request. */
  readonly viewFor: (node: NodeMessage | null) => ResourceView;
  readonly log: Logger;
  readonly metrics: StreamMetrics;
  /** Asks the server to call flush() soon (batched with other streams). */
  readonly schedule: (stream: Flushable) => void;
  /**
   * Least time between two flushes that write to one stream (0 = none). Under churn a stream then
   * gets one response per interval carrying everything that changed, instead of one per change.
   */
  readonly minPushIntervalMs: number;
  /**
   * Longest a push of changes waits for the proxy's answer (ACK or NACK) to the previous response
   * of its type (0 or absent: never waits). A proxy that reads or applies slowly then gets fewer,
   * fuller responses instead of a queue of snapshots it would read seconds late; answers to
   * requests never wait. See docs/performance.md (flow control).
   */
  readonly maxAckWaitMs?: number;
  /** Told of every ACK and NACK (admin pages, benchmarks). */
  readonly onReply?: (reply: ProxyReply) => void;
  /** Admission of writes (buffered-bytes ceiling, initial-sync rate); absent: every write may go. */
  readonly writes?: WriteAdmission;
  /** Logs NACKs once per (proxy, type, version), truncated; absent: every NACK is logged. */
  readonly nackLog?: NackLog;
  /** False while answers are held (see warm-gate.ts); absent: always answer. */
  readonly isWarm?: () => boolean;
  /** Name sets shared by the server's streams; absent: this stream shares with none. */
  readonly names?: NameSharing;
}

/** What a stream asks before it builds a response, and tells after (see write-gate.ts). */
export interface WriteAdmission {
  mayWrite(stream: Flushable, first: boolean): boolean;
  wrote(stream: Flushable, bytes: number): void;
  sent(stream: Flushable): void;
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

/** The transport: `done` is called once the response has left (or failed to). */
export interface Sink<Out> {
  write(response: Out, done: (err?: Error | null) => void): unknown;
}

/** Responses per type whose ACK a stream waits for, to time change -> ACK (a proxy 6 s behind at 10 pushes/s). */
const MAX_AWAITED_ACKS = 64;

/** Who a response is for, as the change latency histograms label it. */
export type Audience = 'sidecar' | 'proxyless' | 'istiod';

export abstract class StreamBase<
  Sub extends Pick<SubscriptionBase, 'pending' | 'awaitsAckOf' | 'names'> & { sentSeq: number; readonly typeUrl: string },
  Out extends { readonly nonce: string },
> {
  node: NodeMessage | null = null;
  /** Set by the first request. */
  view: ResourceView | null = null;
  readonly subscriptions = new Map<string, Sub>();
  /** A response handed to the transport has not left yet: nothing more is built until it has. */
  private inFlight = false;
  /** Writes completed so far (the first one is an initial sync, admitted at a bounded rate). */
  private writes = 0;
  /** The previous write left and more may be due: continue without the push interval. */
  private midRound = false;
  private closed = false;
  private lastWriteAt = -Infinity;
  private throttled = false;
  /** Origin of the oldest change not yet sent, per type (see registry/change-origin.ts). */
  private readonly pendingSince = new Map<string, number>();
  /**
   * Per type, in send order: responses that carried a change, with that change's origin, until the
   * proxy ACKs them (or a later one: a SotW proxy that ACKs a newer response holds the older ones'
   * changes too, and its ACKs of those arrive stale).
   */
  private readonly awaitingAck = new Map<string, Array<{ seq: number; origin: number }>>();
  /** Per type: the last response not yet answered by the proxy (nonce as a number, performance.now() sent). */
  private readonly unanswered = new Map<string, { nonce: number; at: number }>();
  private replyTimer: NodeJS.Timeout | null = null;
  /** This stream's last change -> ACK latencies (ms), for /debug/proxies. */
  readonly changeToAck = new LatencyWindow();
  private typeOrder: readonly string[] = [];
  /** The server's shared name sets, or this stream's own when it runs alone (unit tests). */
  protected readonly names: NameSharing;

  constructor(
    readonly info: StreamInfo,
    private readonly sink: Sink<Out>,
    protected readonly env: StreamEnvironment,
    /** Set for the single-type services (CDS, EDS, ...); undefined for ADS. */
    protected readonly onlyType?: string,
  ) {
    this.names = env.names ?? new NameSharing();
  }

  get nodeId(): string {
    return this.node?.id ?? '';
  }

  /**
   * Sends what is due, type by type in push order, one response at a time: the next is built only
   * once the previous has left, so a proxy that stops reading holds one response, and what changes
   * meanwhile coalesces into its next one (built from the cache as it is then).
   */
  flush(): void {
    // Held until the resources are complete: requests are remembered, the server flushes at opening.
    if (this.closed || this.inFlight || this.env.isWarm?.() === false) return;
    const wait = this.lastWriteAt + this.env.minPushIntervalMs - performance.now();
    // Answers to requests (new subscriptions) are never held back, and changes pending at that
    // moment go with them; only pushes of changes wait for the interval (a push of several types
    // goes out as one round).
    if (wait > 0 && !this.midRound && !this.owesAnswer()) {
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
    this.midRound = false;
    const admission = this.env.writes;
    for (const typeUrl of this.orderedTypes()) {
      if (!this.isDue(this.subscriptions.get(typeUrl)!)) continue;
      if (this.awaitsAnswer(typeUrl, this.subscriptions.get(typeUrl)!)) continue;
      // Held (buffered-bytes ceiling, or the initial-sync rate): the gate schedules us again.
      if (admission && !admission.mayWrite(this, this.writes === 0)) return;
      const response = this.buildResponse(this.subscriptions.get(typeUrl)!);
      if (!response) continue;
      this.inFlight = true;
      admission?.wrote(this, this.sizeOf(response));
      this.lastWriteAt = performance.now();
      const since = this.pendingSince.get(typeUrl);
      if (since !== undefined) {
        childOf(this.env.metrics.pushLatency, 'type', shortTypeName(typeUrl)).observe((performance.now() - since) / 1000);
        this.pendingSince.delete(typeUrl);
        const awaited = this.awaitingAck.get(typeUrl) ?? [];
        // Bounded: past the limit the two oldest merge into one, timed from the earlier change
        // and covered by the later ACK (a slow proxy is counted late, never early).
        if (awaited.length >= MAX_AWAITED_ACKS) awaited.splice(0, 2, { seq: awaited[1]!.seq, origin: Math.min(awaited[0]!.origin, awaited[1]!.origin) });
        awaited.push({ seq: Number(response.nonce), origin: since });
        this.awaitingAck.set(typeUrl, awaited);
      }
      if ((this.env.maxAckWaitMs ?? 0) > 0) this.unanswered.set(typeUrl, { nonce: Number(response.nonce), at: performance.now() });
      this.sink.write(response, () => {
        if (since !== undefined) childOf(this.env.metrics.changeToSent, 'audience', this.audience(typeUrl)).observe((performance.now() - since) / 1000);
        this.inFlight = false;
        this.writes++;
        admission?.sent(this);
        if (this.closed) return;
        this.midRound = true;
        this.env.schedule(this);
      });
      return;
    }
  }

  close(): void {
    this.closed = true;
    if (this.replyTimer) clearTimeout(this.replyTimer);
    this.replyTimer = null;
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

  /**
   * Moves the stream to another view (its node's scope changed: see XdsServer.reselectViews). What
   * it was sent refers to the old view's cache steps: every subscription is answered afresh from
   * the new view, and ACKs count again only for responses built from it.
   */
  switchView(view: ResourceView): void {
    if (!this.view || this.view.cache === view.cache) return;
    this.rebase(view);
    this.view = view;
    this.env.schedule(this);
  }

  /** Forgets what refers to the old view's steps, before `view` replaces it. */
  protected abstract rebase(view: ResourceView): void;

  /** The response a subscription is due now, or null. */
  protected abstract buildResponse(sub: Sub): Out | null;

  /**
   * Whether buildResponse might return something now (cheap; may say yes and then build nothing):
   * something is owed, or the cache moved since the last response. A stream that owes nothing then
   * passes without asking the write gate.
   */
  private isDue(sub: Sub): boolean {
    if (sub.pending !== null) return true;
    const cache = this.view?.cache;
    return !!cache && cache.hasType(sub.typeUrl) && cache.seq(sub.typeUrl) !== sub.sentSeq;
  }

  /** Encoded size of a response, for the buffered-bytes accounting. */
  protected abstract sizeOf(response: Out): number;

  /** Records the node and picks the resource view on the stream's first request. */
  protected adopt(node: NodeMessage | null): void {
    if (!this.node && node) this.node = node;
    this.view ??= this.env.viewFor(this.node);
  }

  /**
   * The proxy ACKed the response with `nonce` of `typeUrl`: if it carried a change, the time from
   * that change's origin to now is observed (zkxds_change_to_ack_seconds and this stream's window).
   */
  protected acknowledged(typeUrl: string, nonce: string): void {
    this.answered(typeUrl, nonce);
    const covered = this.coveredBy(typeUrl, nonce);
    // This response and every earlier one awaited: the proxy holds their changes now.
    const now = performance.now();
    for (const a of covered) {
      const ms = now - a.origin;
      this.changeToAck.add(ms);
      childOf(this.env.metrics.changeToAck, 'audience', this.audience(typeUrl)).observe(ms / 1000);
    }
  }

  /** The proxy NACKed the response with `nonce`: it and earlier ones are not counted as delivered. */
  protected rejected(typeUrl: string, nonce: string): void {
    this.answered(typeUrl, nonce);
    this.coveredBy(typeUrl, nonce);
  }

  /**
   * Flow control (maxAckWaitMs): whether a push of `typeUrl` waits for the proxy's answer to the
   * previous response. When it waits only for the time limit, a timer comes back then.
   */
  private awaitsAnswer(typeUrl: string, sub: Sub): boolean {
    const limit = this.env.maxAckWaitMs ?? 0;
    const last = this.unanswered.get(typeUrl);
    if (limit <= 0 || !last || sub.pending !== null) return false;
    const left = last.at + limit - performance.now();
    if (left <= 0) return false;
    if (!this.replyTimer) {
      this.replyTimer = setTimeout(() => {
        this.replyTimer = null;
        this.env.schedule(this);
      }, left);
      this.replyTimer.unref();
    }
    return true;
  }

  /** The proxy answered the response `nonce` (or a later one): a push it held back may go now. */
  private answered(typeUrl: string, nonce: string): void {
    const last = this.unanswered.get(typeUrl);
    if (!last || Number(nonce) < last.nonce) return;
    this.unanswered.delete(typeUrl);
    if (this.isDue(this.subscriptions.get(typeUrl)!)) this.env.schedule(this);
  }

  /** Takes out the awaited responses up to `nonce` (nonces count up per stream: see nextNonce). */
  private coveredBy(typeUrl: string, nonce: string): Array<{ seq: number; origin: number }> {
    const awaited = this.awaitingAck.get(typeUrl);
    const seq = Number(nonce);
    if (!awaited || !Number.isInteger(seq)) return [];
    let n = 0;
    while (n < awaited.length && awaited[n]!.seq <= seq) n++;
    return awaited.splice(0, n);
  }

  private audience(typeUrl: string): Audience {
    // Envoy's four types go to proxies; the rest are Istio's MCP types, for istiod.
    if (!(PUSH_ORDER as readonly string[]).includes(typeUrl)) return 'istiod';
    return this.view?.kind ?? 'proxyless';
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

  /** Nonces count up in every stream; they come from one counter per process, as shared frames' do (response-frames.ts). */
  protected nextNonce(): string {
    return String(freshNonce());
  }

  /** Subscribed types in push order; remembered, as types are only ever added (every flush asks). */
  private orderedTypes(): readonly string[] {
    if (this.typeOrder.length !== this.subscriptions.size) {
      const known = PUSH_ORDER.filter((t) => this.subscriptions.has(t));
      const others = [...this.subscriptions.keys()].filter((t) => !(PUSH_ORDER as readonly string[]).includes(t));
      this.typeOrder = [...known, ...others];
    }
    return this.typeOrder;
  }
}
