// One simulated proxy: one ADS stream on a shared connection, subscribing the way Envoy or a
// proxyless gRPC client would, ACKing every response at once, and noting when it became synced.
// On a stream error it reconnects after a short backoff, with fresh state (as a restarted Envoy).
import type * as grpc from '@grpc/grpc-js';
import { ProxyState, type Style } from './proxy-state.js';
import { openSession, type IncomingResponse, type Protocol, type XdsSession } from './protocol.js';
import type { XdsType } from './resource-scan.js';
import type { ProxyOutcome } from './report.js';
import type { ResourceList } from './discovery-decode.js';

export interface ProxyConfig {
  readonly index: number;
  readonly nodeId: string;
  /** Node cluster (default `loadgen`). */
  readonly nodeCluster?: string;
  readonly protocol: Protocol;
  readonly style: Style;
  /** The authority a grpc-style proxy dials. */
  readonly target?: string;
}

/** One response as recorded: arrival time in epoch ms (sub-ms), comparable across processes. */
export interface ResponseRecord {
  readonly proxy: number;
  readonly t: number;
  readonly type: XdsType;
  readonly count: number;
  /** EDS only: the ClusterLoadAssignments in the response (to match changes to arrivals). */
  readonly names?: readonly string[];
  /** EDS only: the response's resources as received (a probe decodes them; nothing is copied). */
  readonly resources?: ResourceList;
}

export interface ProxyEnvironment {
  /** Epoch milliseconds with sub-millisecond precision. */
  now(): number;
  onResponse(record: ResponseRecord): void;
  /** The proxy became synced on its stream, or lost that stream while synced. */
  onSyncChange(proxy: SimulatedProxy, synced: boolean): void;
  onError(proxy: SimulatedProxy, error: Error): void;
}

const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 5000;

export class SimulatedProxy {
  readonly outcome: ProxyOutcome;
  private state: ProxyState;
  private session: XdsSession | null = null;
  private syncedThisStream = false;
  /** Set by a reconnect storm: the next sync counts as a re-sync. */
  private resyncing = false;
  private retries = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    readonly config: ProxyConfig,
    private readonly client: grpc.Client,
    private readonly env: ProxyEnvironment,
  ) {
    this.state = new ProxyState(config.style, config.target);
    this.outcome = {
      index: config.index,
      target: config.target ?? null,
      connectedAt: null,
      firstResponseAt: null,
      syncedAt: null,
      resyncedAt: null,
      responses: 0,
      resources: 0,
      errors: 0,
      clusters: 0,
      assignments: 0,
      endpoints: 0,
      listeners: 0,
      routes: 0,
    };
  }

  get synced(): boolean {
    return this.syncedThisStream;
  }

  connect(): void {
    if (this.stopped) return;
    this.state = new ProxyState(this.config.style, this.config.target);
    this.syncedThisStream = false;
    const node = {
      id: this.config.nodeId,
      cluster: this.config.nodeCluster ?? 'loadgen',
      user_agent_name: this.config.style === 'envoy' ? 'envoy' : 'gRPC Node',
    };
    const session = openSession(this.config.protocol, this.client, node, this.state, {
      onOpen: () => {
        this.outcome.connectedAt ??= this.env.now();
      },
      onResponse: (r) => this.onResponse(r),
      onUnknownType: () => this.outcome.responses++,
      onClose: (err) => this.onClose(session, err),
    });
    this.session = session;
    session.send(this.state.initialSubscriptions());
  }

  /** Drops the stream at once (a reconnect storm); with `reconnect`, opens a new one right away. */
  drop(reconnect: boolean): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.session?.cancel();
    this.session = null;
    this.unsync();
    if (!reconnect) return;
    this.resyncing = true;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.session?.cancel();
    this.session = null;
    this.snapshotCounts();
  }

  private onResponse(r: IncomingResponse): ReturnType<ProxyState['reconcile']> {
    const t = this.env.now();
    this.outcome.firstResponseAt ??= t;
    this.outcome.responses++;
    this.retries = 0;
    const count = r.resources.starts.length;
    this.outcome.resources += count;
    let names: readonly string[];
    try {
      names = this.state.apply(r.type, r.resources, r.removed, r.replace);
    } catch (err) {
      // A resource we cannot scan is still ACKed (the generator never NACKs); it counts as an error.
      this.fail(err as Error);
      return [];
    }
    const proxy = this.config.index;
    this.env.onResponse(r.type === 'EDS' ? { proxy, t, type: r.type, count, names, resources: r.resources } : { proxy, t, type: r.type, count });
    const changes = this.state.reconcile(r.type);
    // Synced is judged after the changes this response causes: new clusters mean EDS is not done.
    if (!this.syncedThisStream && this.state.synced()) {
      this.syncedThisStream = true;
      if (this.resyncing) {
        this.outcome.resyncedAt ??= t;
        this.resyncing = false;
      } else this.outcome.syncedAt ??= t;
      this.env.onSyncChange(this, true);
    }
    return changes;
  }

  private onClose(session: XdsSession, err: Error | null): void {
    if (session !== this.session || this.stopped) return;
    this.session = null;
    this.unsync();
    this.fail(err ?? new Error('server ended the stream'));
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** this.retries++) * (0.5 + Math.random() / 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  private unsync(): void {
    if (!this.syncedThisStream) return;
    this.syncedThisStream = false;
    this.env.onSyncChange(this, false);
  }

  private fail(err: Error): void {
    this.outcome.errors++;
    this.env.onError(this, err);
  }

  private snapshotCounts(): void {
    const held = this.state.held;
    this.outcome.clusters = held.CDS.size;
    this.outcome.assignments = held.EDS.size;
    this.outcome.endpoints = this.state.endpoints();
    this.outcome.listeners = held.LDS.size;
    this.outcome.routes = held.RDS.size;
  }

  /** Counts of what the proxy holds now (also filled in by stop()). */
  holdings(): Pick<ProxyOutcome, 'clusters' | 'assignments' | 'endpoints' | 'listeners' | 'routes'> {
    this.snapshotCounts();
    const { clusters, assignments, endpoints, listeners, routes } = this.outcome;
    return { clusters, assignments, endpoints, listeners, routes };
  }
}
