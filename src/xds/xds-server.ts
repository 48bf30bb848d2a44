// The gRPC xDS server: ADS and the per-type discovery services over one resource cache.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { ResourceCache, TypeChange } from './resource-cache.js';
import type { DiscoveryRequestMessage, NodeMessage, OutgoingDiscoveryResponse } from './discovery-messages.js';
import { SERVICE_NAMES, discoveryServiceDefinition } from './discovery-services.js';
import { SotwStream } from './sotw-stream.js';
import type { ProxyReply, ResourceView, StreamEnvironment, StreamInfo, StreamMetrics } from './stream-base.js';
import { DeltaStream } from './delta-stream.js';
import type { DeltaDiscoveryRequestMessage, OutgoingDeltaResponse } from './delta-messages.js';
import { SharedBodies } from './shared-bodies.js';
import { FlushScheduler, type Flushable } from './flush-scheduler.js';
import { TYPE_URL, shortTypeName } from './resource-types.js';
import { KIND_OF_VIEW, cacheOfView, servedViews, viewOf, type ViewCaches, type ViewName } from './client-profile.js';
import { NameSharing } from './name-sets.js';
import { StreamAckRetirementGate, type RetiringReport, type RetirementMetrics } from './retirement-gate.js';
import { DEFAULT_STREAM_LIMITS, type StreamLimits } from './stream-limits.js';
import { WriteGate } from './write-gate.js';
import { NackLog } from './nack-log.js';
import { limitMetrics, type LimitMetrics } from './limit-metrics.js';
import { listenWithBacklog, socketAdopter, type BacklogListener, type HandOff } from './backlog-listener.js';
import type net from 'node:net';
import { resetCall } from './call-reset.js';
import { MemoryReclaimer } from './memory-reclaim.js';
import type { WarmGate } from './warm-gate.js';
import { ClientGuard } from './client-guard.js';
import type { IdentityPolicy } from './peer-identity.js';
import { securityMetrics } from '../observability/security-metrics.js';
import { installPreframedSend } from './grpc-preframed.js';

/** What the server records itself, plus what its streams and retirement gates record. */
export type XdsServerMetrics = Pick<Metrics, 'connectedStreams' | 'registry' | 'resources'> & StreamMetrics & RetirementMetrics;

type SotwCall = grpc.ServerDuplexStream<DiscoveryRequestMessage, OutgoingDiscoveryResponse>;
type DeltaCall = grpc.ServerDuplexStream<DeltaDiscoveryRequestMessage, OutgoingDeltaResponse>;

/** A connected proxy's stream, either protocol variant. */
export type XdsStream = SotwStream | DeltaStream;

export interface XdsServerOptions {
  /** The resources each view is served (the same cache may serve several; see client-profile.ts). */
  readonly caches: ViewCaches;
  readonly log: Logger;
  readonly metrics: XdsServerMetrics;
  /** Least time between two pushes to one stream (default 0: none). */
  readonly minPushIntervalMs?: number;
  /** Flow control: longest a push waits for the answer to the previous response of its type (default 0: never). */
  readonly maxAckWaitMs?: number;
  /** Longest retired resources wait for proxies to ACK the change that dropped them (default 10 s). */
  readonly retireGraceMs?: number;
  /** Longest a retired resource stays while a proxy still subscribes to it by name (default 20 min). */
  readonly retireSubscribedMaxMs?: number;
  /** Storm and slow-proxy limits (stream-limits.ts); unset fields take the defaults. */
  readonly limits?: Partial<StreamLimits>;
  /** Answers are held until it opens (default: none, answer at once). */
  readonly warmGate?: WarmGate;
  /**
   * A cache of its own for a node, instead of its view's (sidecar scopes); undefined: the view's.
   * Asked on a stream's first request and again by reselectViews(). The server knows nothing of
   * why; it serves each such cache as a view of the same name, with its own bodies and gate.
   */
  readonly viewSelector?: (node: NodeMessage | null, view: ViewName) => ResourceCache | undefined;
  /** Told when no stream uses a cache viewSelector gave any more (its owner may let it go). */
  readonly onViewUnused?: (cache: ResourceCache) => void;
  /** TLS of the xDS port (tls-credentials.ts); absent: plaintext. */
  readonly credentials?: grpc.ServerCredentials;
  /** With client certificates required: which node clusters identities may claim (peer-identity.ts). */
  readonly identities?: IdentityPolicy;
  /** May take accepted connections to serve them in another process (backlog-listener.ts). */
  readonly handOff?: HandOff;
}

export const DEFAULT_RETIRE_GRACE_MS = 10_000;
/** Longer than gRPC's 15-minute retention of clusters its routes no longer name. */
export const DEFAULT_RETIRE_SUBSCRIBED_MAX_MS = 20 * 60_000;

/** Per-type services: gRPC method name to the one type its streams carry. */
const SINGLE_TYPE_SERVICES = [
  { service: SERVICE_NAMES.cds, method: 'StreamClusters', typeUrl: TYPE_URL.cluster, api: 'cds' },
  { service: SERVICE_NAMES.eds, method: 'StreamEndpoints', typeUrl: TYPE_URL.endpoint, api: 'eds' },
  { service: SERVICE_NAMES.lds, method: 'StreamListeners', typeUrl: TYPE_URL.listener, api: 'lds' },
  { service: SERVICE_NAMES.rds, method: 'StreamRoutes', typeUrl: TYPE_URL.route, api: 'rds' },
] as const;

export class XdsServer {
  private readonly server: grpc.Server;
  private readonly replyListeners: Array<(reply: ProxyReply) => void> = [];
  /** The views each distinct cache serves (one cache may serve several). */
  private readonly viewsOf = new Map<ResourceCache, ViewName[]>();
  private readonly streams = new Map<XdsStream, SotwCall | DeltaCall>();
  private readonly scheduler = new FlushScheduler<Flushable>();
  private readonly env: StreamEnvironment;
  /** Make before break: one gate per distinct cache (retirement-gate.ts). */
  private readonly gates = new Map<ResourceCache, StreamAckRetirementGate>();
  private nextStreamId = 1;
  private boundPort = 0;
  private readonly limits: StreamLimits;
  private readonly limitMetrics: LimitMetrics;
  private readonly writeGate: WriteGate;
  private listener: BacklogListener | null = null;
  private readonly reclaimer: MemoryReclaimer;
  /** Open streams by the cache they are served from (dispatch and gates look only at theirs). */
  private readonly byCache = new Map<ResourceCache, Set<XdsStream>>();
  /**
   * The same, per subscribed type: a change is offered only to streams subscribed to its type (the
   * sidecar cache's Istio types changed with every service, and were offered to every Envoy stream).
   */
  private readonly byCacheType = new Map<ResourceCache, Map<string, Set<XdsStream>>>();
  private readonly cacheOfStream = new Map<XdsStream, ResourceCache>();
  /** How many types each stream subscribed to when it was indexed (a new type means indexing again). */
  private readonly typesIndexed = new Map<XdsStream, number>();
  /** Caches of their own (viewSelector), served while a stream uses them. */
  private readonly ownViews = new Map<ResourceCache, { view: ResourceView; unsubscribe: () => void }>();
  private readonly guard: ClientGuard;

  constructor(private readonly opts: XdsServerOptions) {
    this.limits = { ...DEFAULT_STREAM_LIMITS, ...opts.limits };
    // Shared response frames are written as they are (grpc-preframed.ts); false only if grpc-js changed shape.
    if (!installPreframedSend()) opts.log.warn('grpc-js internals differ from the version zk-xds was built against: responses are copied once more per stream');
    this.server = new grpc.Server({
      // Proxies stay on the replica they first reached; a maximum age moves them now and then, so
      // a replica that comes back (or a new one) gets its share. grpc-js adds ±10% jitter.
      ...(this.limits.maxConnectionAgeMs > 0 ? { 'grpc.max_connection_age_ms': this.limits.maxConnectionAgeMs } : {}),
      ...(this.limits.maxConnectionAgeGraceMs > 0 ? { 'grpc.max_connection_age_grace_ms': this.limits.maxConnectionAgeGraceMs } : {}),
      // Proxies hold streams for hours: keep them alive through idle NATs and notice dead peers.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_send_message_length': 256 * 1024 * 1024,
      'grpc.max_receive_message_length': this.limits.maxRequestBytes,
    });
    const views = new Map<ViewName, ResourceView>();
    const bodies = new Map<ResourceCache, SharedBodies>();
    const served = servedViews(opts.caches);
    for (const name of served) {
      const cache = cacheOfView(opts.caches, name);
      if (!bodies.has(cache)) bodies.set(cache, new SharedBodies(cache));
      views.set(name, { name, kind: KIND_OF_VIEW[name], cache, bodies: bodies.get(cache)! });
      this.viewsOf.set(cache, [...(this.viewsOf.get(cache) ?? []), name]);
    }
    this.reclaimer = new MemoryReclaimer(opts.log);
    this.guard = new ClientGuard({ limits: this.limits, identities: opts.identities ?? null, log: opts.log, metrics: securityMetrics(opts.metrics.registry) });
    this.limitMetrics = limitMetrics(opts.metrics.registry);
    this.limitMetrics.bufferedBytesLimit.set(this.limits.maxBufferedBytes);
    this.writeGate = new WriteGate({
      maxBufferedBytes: this.limits.maxBufferedBytes,
      initialSyncsPerSecond: this.limits.initialSyncsPerSecond,
      stuckTimeoutMs: this.limits.stuckStreamTimeoutMs,
      schedule: (s) => this.scheduler.schedule(s),
      onStuck: (s, heldMs) => this.closeStuck(s as XdsStream, heldMs),
      onAbandoned: (bytes) => this.reclaimer.releasedOnClose(bytes),
      onLevels: (l) => {
        this.limitMetrics.bufferedBytes.set(l.bufferedBytes);
        this.limitMetrics.heldForBytes.set(l.heldForBytes);
        this.limitMetrics.waitingInitialSync.set(l.waitingInitialSync);
      },
    });
    this.env = {
      names: new NameSharing(),
      // A profile view without a cache of its own is served its kind's base view.
      viewFor: (node) => {
        const name = viewOf(node);
        const base = views.get(name) ?? views.get(KIND_OF_VIEW[name])!;
        const own = opts.viewSelector?.(node, base.name);
        return own && own !== base.cache ? this.ownView(own, base) : base;
      },
      writes: this.writeGate,
      nackLog: new NackLog(opts.log, () => this.limitMetrics.nackLogsSuppressed.inc()),
      minPushIntervalMs: opts.minPushIntervalMs ?? 0,
      maxAckWaitMs: opts.maxAckWaitMs ?? 0,
      log: opts.log,
      metrics: opts.metrics,
      schedule: (s) => this.scheduler.schedule(s),
      onReply: (reply) => {
        for (const l of this.replyListeners) l(reply);
      },
      ...(opts.warmGate ? { isWarm: () => opts.warmGate!.isOpen } : {}),
    };
    opts.warmGate?.onOpen(() => this.answerHeld());
    this.registerServices();
    for (const cache of bodies.keys()) cache.onChange((changes) => this.onCacheChange(cache, changes));
    for (const cache of bodies.keys()) this.addRetirementGate(cache, this.viewsOf.get(cache)!);
  }

  /** Holds back removals from `cache` until its streams ACK past them (see retirement-gate.ts). */
  private addRetirementGate(cache: ResourceCache, views: readonly string[]): void {
    const gate = new StreamAckRetirementGate({
      cache,
      streams: () => this.byCache.get(cache) ?? [],
      graceMs: this.opts.retireGraceMs ?? DEFAULT_RETIRE_GRACE_MS,
      subscribedMaxMs: this.opts.retireSubscribedMaxMs ?? DEFAULT_RETIRE_SUBSCRIBED_MAX_MS,
      views,
      log: this.opts.log,
      metrics: this.opts.metrics,
    });
    this.gates.set(cache, gate);
  }

  /** Binds (with the storm-sized listen backlog) and starts serving; returns the bound port (useful with port 0). */
  async listen(host: string, port: number): Promise<number> {
    this.listener = await listenWithBacklog(this.server, host, port, this.limits.listenBacklog, this.opts.log, this.opts.credentials, this.opts.handOff);
    this.boundPort = this.listener.port;
    return this.boundPort;
  }

  get port(): number {
    return this.boundPort;
  }

  /**
   * Serves connections another process accepted (a serving worker never listens itself). Call it
   * before the first arrives: TLS credentials load a turn after the injector is made.
   */
  adopter(): (socket: net.Socket) => void {
    return socketAdopter(this.server, this.opts.credentials);
  }

  /** Subscribes to every ACK and NACK proxies send. */
  onReply(listener: (reply: ProxyReply) => void): () => void {
    this.replyListeners.push(listener);
    return () => this.replyListeners.splice(this.replyListeners.indexOf(listener), 1);
  }

  /** Resources retiring (still served, waiting for ACKs), per proxy view (admin pages). */
  retiring(): Partial<Record<ViewName, RetiringReport[]>> {
    const out: Partial<Record<ViewName, RetiringReport[]>> = {};
    for (const [cache, gate] of this.gates) {
      const report = gate.report();
      if (report.length > 0) for (const view of this.viewsOf.get(cache) ?? []) out[view] = report;
    }
    return out;
  }

  private recheckRetirements(): void {
    for (const gate of this.gates.values()) gate.recheck();
  }

  /**
   * Streams whose node `which` picks choose their view again (their scope appeared, changed or
   * went): those whose view changed move to the new one (see StreamBase.switchView).
   */
  reselectViews(which: (node: NodeMessage | null) => boolean): void {
    for (const stream of this.streams.keys()) {
      if (!stream.view || !which(stream.node)) continue;
      const next = this.env.viewFor(stream.node);
      if (next.cache === stream.view.cache) continue;
      stream.switchView(next);
      this.index(stream);
    }
    this.recheckRetirements();
  }

  /** Open streams (admin pages). */
  connectedStreams(): XdsStream[] {
    return [...this.streams.keys()];
  }

  /** Ends every stream cleanly, then stops; forces the stop after `graceMs`. */
  async shutdown(graceMs = 5000): Promise<void> {
    for (const gate of this.gates.values()) gate.close();
    const listenerClosed = this.listener?.close();
    this.writeGate.close();
    this.reclaimer.close();
    for (const [stream, call] of this.streams) {
      stream.close();
      call.end();
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await listenerClosed;
  }

  private registerServices(): void {
    this.server.addService(discoveryServiceDefinition(SERVICE_NAMES.ads), {
      StreamAggregatedResources: (call: SotwCall) => this.handleStream(call, 'ads', (info) => new SotwStream(info, call, this.env)),
      DeltaAggregatedResources: (call: DeltaCall) => this.handleStream(call, 'delta-ads', (info) => new DeltaStream(info, call, this.env)),
    });
    for (const s of SINGLE_TYPE_SERVICES) {
      const kind = s.method.slice('Stream'.length);
      this.server.addService(discoveryServiceDefinition(s.service), {
        [s.method]: (call: SotwCall) => this.handleStream(call, s.api, (info) => new SotwStream(info, call, this.env, s.typeUrl)),
        [`Delta${kind}`]: (call: DeltaCall) => this.handleStream(call, `delta-${s.api}`, (info) => new DeltaStream(info, call, this.env, s.typeUrl)),
        [`Fetch${kind}`]: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
          cb({ code: grpc.status.UNIMPLEMENTED, details: 'REST-style fetch is not served; use a stream' }),
      });
    }
  }

  private handleStream<Req>(
    call: grpc.ServerDuplexStream<Req, never>,
    api: string,
    create: (info: StreamInfo) => XdsStream & { onRequest(req: Req): void },
  ): void {
    if (this.limits.maxStreams > 0 && this.streams.size >= this.limits.maxStreams) {
      // Full: the proxy retries (gRPC clients back off; behind a load balancer, on another replica).
      this.limitMetrics.shedStreams.inc();
      this.opts.log.debug({ api, peer: call.getPeer(), streams: this.streams.size }, 'xDS stream refused: replica holds --max-streams');
      call.emit('error', {
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: `zk-xds replica serves its maximum of ${this.limits.maxStreams} streams; retry (another replica)`,
      });
      return;
    }
    const guard = this.guard.admit(call, api);
    if (!('onRequest' in guard)) {
      call.emit('error', guard);
      return;
    }
    const info = { id: this.nextStreamId++, api, peer: call.getPeer(), connectedAt: new Date() };
    const stream = create(info);
    this.streams.set(stream, call as unknown as SotwCall);
    this.opts.metrics.connectedStreams.inc({ api });
    const log = this.opts.log;
    log.debug({ stream: info.id, api, peer: info.peer }, 'xDS stream opened');
    let ended = false;
    const end = (reason: string, err?: Error) => {
      if (ended) return;
      ended = true;
      guard.release();
      stream.close();
      this.scheduler.forget(stream);
      this.writeGate.forget(stream);
      this.streams.delete(stream);
      const cache = this.cacheOfStream.get(stream);
      this.unindex(stream);
      this.opts.metrics.connectedStreams.dec({ api });
      // A closed stream holds no retirement (only its own cache's can have waited for it).
      if (cache) this.gates.get(cache)?.recheck();
      log.info({ stream: info.id, api, node: stream.nodeId, peer: info.peer, reason, err: err?.message }, 'xDS stream closed');
    };
    call.on('data', (req: Req) => {
      // A refused stream may still have requests in flight: they are not looked at.
      if (ended) return;
      const refusal = guard.onRequest((req as { node?: NodeMessage | null }).node ?? null);
      if (refusal) {
        end('refused', new Error(refusal.details));
        call.emit('error', refusal);
        return;
      }
      try {
        stream.onRequest(req);
        if (this.cacheOfStream.get(stream) !== stream.view?.cache || this.typesIndexed.get(stream) !== stream.subscriptions.size) this.index(stream);
        // An ACK can release only what its own cache retired: with a cache per scope, thousands of
        // gates would otherwise be looked at on every request.
        if (stream.view) this.gates.get(stream.view.cache)?.recheck();
      } catch (err) {
        // A request we cannot handle must not take the process or other streams down.
        log.error({ stream: info.id, node: stream.nodeId, err: (err as Error).message }, 'failed to handle an xDS request; closing the stream');
        call.destroy(err as Error);
      }
    });
    call.on('end', () => {
      end('client closed');
      call.end();
    });
    call.on('error', (err) => end('error', err));
    call.on('cancelled', () => {
      this.guard.noteCancelled(call, api, info.peer, stream.nodeId);
      end('cancelled');
    });
    call.on('close', () => end('closed'));
  }

  /** A proxy that stopped reading: reset its stream, which frees what the transport holds for it. */
  private closeStuck(stream: XdsStream, heldMs: number): void {
    const call = this.streams.get(stream);
    this.writeGate.forget(stream);
    if (!call) return;
    this.limitMetrics.stuckStreamsClosed.inc();
    this.opts.log.warn(
      { stream: stream.info.id, node: stream.nodeId, peer: stream.info.peer, heldMs: Math.round(heldMs) },
      'xDS stream closed: the proxy has not read a response for --stuck-stream-timeout-ms',
    );
    resetCall(call, () => call.destroy());
  }

  /** The gate opened: every stream answers what it was asked while held, with the full state. */
  private answerHeld(): void {
    const held = this.streams.size;
    if (held > 0) this.opts.log.info({ streams: held }, 'resources complete: answering the xDS requests held until now');
    for (const stream of this.streams.keys()) this.scheduler.schedule(stream);
  }

  private onCacheChange(cache: ResourceCache, changes: readonly TypeChange[]): void {
    const byType = this.byCacheType.get(cache);
    for (const change of changes) {
      const size = cache.entries(change.typeUrl).size;
      for (const view of this.viewsOf.get(cache) ?? []) this.opts.metrics.resources.set({ type: shortTypeName(change.typeUrl), view }, size);
      const streams = byType?.get(change.typeUrl);
      if (streams) for (const stream of streams) stream.onCacheChange(change.typeUrl, change.changed, change.observedAt);
    }
  }

  private index(stream: XdsStream): void {
    // Same cache, new types only: taking the stream out first could leave a view of its own unused
    // for a moment, and forgetOwnView would drop it.
    if (this.cacheOfStream.get(stream) !== stream.view?.cache) this.unindex(stream);
    const cache = stream.view?.cache;
    if (!cache) return;
    this.cacheOfStream.set(stream, cache);
    let set = this.byCache.get(cache);
    if (!set) this.byCache.set(cache, (set = new Set()));
    set.add(stream);
    let byType = this.byCacheType.get(cache);
    if (!byType) this.byCacheType.set(cache, (byType = new Map()));
    for (const typeUrl of stream.subscriptions.keys()) {
      let typed = byType.get(typeUrl);
      if (!typed) byType.set(typeUrl, (typed = new Set()));
      typed.add(stream);
    }
    this.typesIndexed.set(stream, stream.subscriptions.size);
  }

  private unindex(stream: XdsStream): void {
    const cache = this.cacheOfStream.get(stream);
    if (!cache) return;
    this.cacheOfStream.delete(stream);
    this.typesIndexed.delete(stream);
    const byType = this.byCacheType.get(cache);
    for (const typeUrl of stream.subscriptions.keys()) {
      const typed = byType?.get(typeUrl);
      typed?.delete(stream);
      if (typed?.size === 0) byType!.delete(typeUrl);
    }
    const set = this.byCache.get(cache);
    set?.delete(stream);
    if (set?.size === 0) {
      this.byCache.delete(cache);
      this.byCacheType.delete(cache);
      this.forgetOwnView(cache);
    }
  }

  /** A cache of its own served as `base`'s view: registered on first use. */
  private ownView(cache: ResourceCache, base: ResourceView): ResourceView {
    const known = this.ownViews.get(cache);
    if (known) return known.view;
    const view: ResourceView = { name: base.name, kind: base.kind, cache, bodies: new SharedBodies(cache) };
    const unsubscribe = cache.onChange((changes) => this.onCacheChange(cache, changes));
    this.addRetirementGate(cache, [base.name]);
    this.ownViews.set(cache, { view, unsubscribe });
    return view;
  }

  /** No stream uses it any more: what it retired goes now (nobody holds it), and it is forgotten. */
  private forgetOwnView(cache: ResourceCache): void {
    const own = this.ownViews.get(cache);
    if (!own) return;
    this.ownViews.delete(cache);
    own.unsubscribe();
    this.gates.get(cache)?.close();
    this.gates.delete(cache);
    cache.clearRetirementGate();
    for (const batch of new Set([...cache.retiringNames().values()].flatMap((byName) => [...byName.values()]))) cache.release(batch);
    this.opts.onViewUnused?.(cache);
  }
}
