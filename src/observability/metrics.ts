// Every Prometheus metric zk-xds exports, in one place so names and labels stay consistent.
// Modules receive the Metrics object; the admin server only renders the registry.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { securityMetrics } from './security-metrics.js';

/**
 * zkxds_xds_proxy_nacks_total is labelled by node id, as operators ask "which proxy rejects what".
 * To bound its cardinality, series of proxies no longer connected are dropped at scrape time, and
 * past this many distinct nodes further ones are counted under node="_other".
 */
export const NACK_NODE_SERIES_LIMIT = 200;
export const NACK_OTHER_NODE = '_other';

const ZK_SESSION_STATES = ['connecting', 'connected', 'disconnected', 'resyncing'] as const;

const PROXY_SYNC_STATES = ['SYNCED', 'STALE', 'NACKED', 'NOT_SENT'] as const;

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Change latencies: the same, and the tail an overloaded replica may reach. */
const CHANGE_BUCKETS = [...LATENCY_BUCKETS, 10, 30, 60];

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'zkxds_' });
  // TLS reloads, identity denials, per-client limit refusals (security-metrics.ts).
  securityMetrics(registry);
  const r = [registry];
  let proxiesNow: () => Record<string, number> = () => ({});
  let zkStateNow: () => string = () => 'connecting';
  let connectedNodesNow: () => ReadonlySet<string> = () => new Set();
  /** Node ids that have a zkxds_xds_proxy_nacks_total series, with the types they NACKed. */
  const nackSeries = new Map<string, Set<string>>();
  const proxyNacks: Counter<'node' | 'type'> = new Counter({
    name: 'zkxds_xds_proxy_nacks_total',
    help: 'Responses rejected, per proxy node id and type (series of disconnected proxies are dropped)',
    labelNames: ['node', 'type'],
    registers: r,
    collect() {
      const connected = connectedNodesNow();
      for (const [node, types] of nackSeries) {
        if (node === NACK_OTHER_NODE || connected.has(node)) continue;
        for (const type of types) this.remove({ node, type });
        nackSeries.delete(node);
      }
    },
  });
  // Sampled at scrape time: counting on every change would cost more than the metric is worth.
  let invalidNow: () => number = () => 0;
  let invalidPoliciesNow: () => number = () => 0;
  let catalogNow: () => { services: number; serving: number; notServing: number } = () => ({ services: 0, serving: 0, notServing: 0 });
  let proxyStatesNow: () => { byState: Record<string, number>; oldestStaleSeconds: number } = () => ({ byState: {}, oldestStaleSeconds: 0 });
  let staleNow: () => number = () => 0;
  return {
    /** Connected proxies per kind are counted when scraped. */
    setProxySource(count: () => Record<string, number>, connectedNodes: () => ReadonlySet<string>): void {
      proxiesNow = count;
      connectedNodesNow = connectedNodes;
    },
    /** The registry's session state, read when scraped. */
    setZooKeeperStateSource(state: () => string): void {
      zkStateNow = state;
    },
    /** Counts a NACK against its node (bounded: see NACK_NODE_SERIES_LIMIT). */
    recordProxyNack(node: string, type: string): void {
      const key = nackSeries.has(node) || nackSeries.size < NACK_NODE_SERIES_LIMIT ? node : NACK_OTHER_NODE;
      if (!nackSeries.has(key)) nackSeries.set(key, new Set());
      nackSeries.get(key)!.add(type);
      proxyNacks.inc({ node: key, type });
    },
    setInvalidRegistrationsSource(count: () => number): void {
      invalidNow = count;
    },
    /** Policies rejected now (each keeps its previous good policy), read when scraped. */
    setInvalidPoliciesSource(count: () => number): void {
      invalidPoliciesNow = count;
    },
    /** Catalog sizes are counted when scraped: counting on every change would cost O(catalog) per change. */
    setCatalogSource(count: () => { services: number; serving: number; notServing: number }): void {
      catalogNow = count;
    },
    /** Proxies by sync state and the longest STALE one, computed when scraped (src/admin/proxy-census.ts). */
    setProxyStateSource(census: () => { byState: Record<string, number>; oldestStaleSeconds: number }): void {
      proxyStatesNow = census;
    },
    /** How stale the catalog may be (seconds since an ensemble lost its connection), read when scraped. */
    setStalenessSource(seconds: () => number): void {
      staleNow = seconds;
    },
    registry,
    proxyNacks,
    catalogStaleSeconds: new Gauge({
      name: 'zkxds_catalog_stale_seconds',
      help: '0 while every ZooKeeper ensemble is connected and in step; else seconds since the first of them lost its connection (the served state may miss changes since)',
      registers: r,
      collect() {
        this.set(staleNow());
      },
    }),
    connectedProxies: new Gauge({
      name: 'zkxds_xds_connected_proxies',
      help: 'Distinct proxies (node ids) with an open xDS stream, per kind',
      labelNames: ['kind'],
      registers: r,
      collect() {
        for (const [kind, n] of Object.entries(proxiesNow())) this.set({ kind }, n);
      },
    }),
    proxiesByState: new Gauge({
      name: 'zkxds_xds_proxies_by_state',
      help: 'Connected proxies (node ids) by their worst sync state over every type: SYNCED, STALE, NACKED, NOT_SENT',
      labelNames: ['state'],
      registers: r,
      collect() {
        for (const state of PROXY_SYNC_STATES) this.set({ state }, proxyStatesNow().byState[state] ?? 0);
      },
    }),
    staleProxyMaxSeconds: new Gauge({
      name: 'zkxds_xds_stale_proxy_max_seconds',
      help: 'How long the longest-stuck proxy stream has stayed STALE on the same acknowledged version, as seen at scrapes (0 when none)',
      registers: r,
      collect() {
        this.set(proxyStatesNow().oldestStaleSeconds);
      },
    }),
    // Registry side.
    zkSessionState: new Gauge({ name: 'zkxds_zookeeper_connected', help: '1 while the ZooKeeper session is connected, else 0', registers: r }),
    zkSessionStateDetail: new Gauge({
      name: 'zkxds_zookeeper_session_state',
      help: 'The registry session state: 1 for the current one of connecting, connected, disconnected, resyncing',
      labelNames: ['state'],
      registers: r,
      collect() {
        const now = zkStateNow();
        for (const state of ZK_SESSION_STATES) this.set({ state }, state === now ? 1 : 0);
      },
    }),
    zkSessionExpirations: new Counter({ name: 'zkxds_zookeeper_session_expirations_total', help: 'ZooKeeper sessions lost and replaced', registers: r }),
    zkLastSync: new Gauge({
      name: 'zkxds_zookeeper_last_full_sync_timestamp_seconds',
      help: 'When the last full read of the ZooKeeper tree completed',
      registers: r,
    }),
    zkFullSyncDuration: new Gauge({
      name: 'zkxds_zookeeper_full_sync_duration_seconds',
      help: 'How long the last full read of the ZooKeeper tree took',
      registers: r,
    }),
    zkNotificationDelay: new Histogram({
      name: 'zkxds_zookeeper_notification_delay_seconds',
      help: "From a znode's write (its mtime, ZooKeeper's clock) to its watch event reaching zk-xds, for instance data read after a watch fired; includes clock skew between ZooKeeper and this host",
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    zkEvents: new Counter({ name: 'zkxds_zookeeper_watch_events_total', help: 'ZooKeeper watch notifications received', labelNames: ['kind'], registers: r }),
    zkReadErrors: new Counter({ name: 'zkxds_zookeeper_read_errors_total', help: 'ZooKeeper reads that failed (retried)', labelNames: ['code'], registers: r }),
    invalidRegistrations: new Counter({
      name: 'zkxds_invalid_registrations_total',
      help: 'Registrations skipped because their data could not be used',
      labelNames: ['service'],
      registers: r,
    }),
    invalidRegistrationsCurrent: new Gauge({
      name: 'zkxds_invalid_registrations',
      help: 'Registrations currently skipped as invalid',
      registers: r,
      collect() {
        this.set(invalidNow());
      },
    }),
    invalidPolicies: new Counter({
      name: 'zkxds_invalid_policies_total',
      help: 'Policy writes rejected (the previous good policy stays in force)',
      labelNames: ['service'],
      registers: r,
    }),
    invalidPoliciesCurrent: new Gauge({
      name: 'zkxds_invalid_policies',
      help: 'Policies currently rejected (the previous good policy of each stays in force)',
      registers: r,
      collect() {
        this.set(invalidPoliciesNow());
      },
    }),
    sidecarPortConflicts: new Gauge({
      name: 'zkxds_sidecar_port_conflicts',
      help: 'Services left without a sidecar listener because their port is taken',
      registers: r,
    }),
    serverListenerConflicts: new Gauge({
      name: 'zkxds_server_listener_conflicts',
      help: 'Server addresses shared by services whose mtls or authorization policies disagree (their gRPC servers refuse every call)',
      registers: r,
    }),
    catalogBatches: new Counter({ name: 'zkxds_catalog_batches_total', help: 'Batches of registry changes applied to the catalog', registers: r }),
    services: new Gauge({
      name: 'zkxds_services',
      help: 'Services in the catalog',
      registers: r,
      collect() {
        this.set(catalogNow().services);
      },
    }),
    endpoints: new Gauge({
      name: 'zkxds_endpoints',
      help: 'Endpoints proxies get (serving: one per service and address:port) and registrations that take no traffic (not_serving)',
      labelNames: ['health'],
      registers: r,
      collect() {
        const c = catalogNow();
        this.set({ health: 'serving' }, c.serving);
        this.set({ health: 'not_serving' }, c.notServing);
      },
    }),
    // xDS side.
    connectedStreams: new Gauge({ name: 'zkxds_xds_connected_streams', help: 'Open xDS streams', labelNames: ['api'], registers: r }),
    responsesSent: new Counter({ name: 'zkxds_xds_responses_total', help: 'Discovery responses sent', labelNames: ['type'], registers: r }),
    resourcesSent: new Counter({
      name: 'zkxds_xds_resources_sent_total',
      help: 'Resources carried by discovery responses',
      labelNames: ['type'],
      registers: r,
    }),
    acks: new Counter({ name: 'zkxds_xds_acks_total', help: 'Responses acknowledged by proxies', labelNames: ['type'], registers: r }),
    nacks: new Counter({ name: 'zkxds_xds_nacks_total', help: 'Responses rejected by proxies', labelNames: ['type'], registers: r }),
    staleRequests: new Counter({
      name: 'zkxds_xds_stale_requests_total',
      help: 'Requests ignored because they answered an outdated nonce',
      labelNames: ['type'],
      registers: r,
    }),
    pushLatency: new Histogram({
      name: 'zkxds_xds_push_latency_seconds',
      help: "From a change's origin (its znode's mtime, or its watch event) to the response carrying it being handed to the stream, per response",
      labelNames: ['type'],
      buckets: CHANGE_BUCKETS,
      registers: r,
    }),
    changeToSent: new Histogram({
      name: 'zkxds_change_to_sent_seconds',
      help: "From a change's origin (its znode's mtime, or its watch event) to the response carrying it leaving for the proxy (the transport's write completed), per response and audience (sidecar, proxyless, istiod)",
      labelNames: ['audience'],
      buckets: CHANGE_BUCKETS,
      registers: r,
    }),
    changeToAck: new Histogram({
      name: 'zkxds_change_to_ack_seconds',
      help: "From a change's origin (its znode's mtime, or its watch event) to the proxy's ACK of the response carrying it, per response and audience (sidecar, proxyless, istiod)",
      labelNames: ['audience'],
      buckets: CHANGE_BUCKETS,
      registers: r,
    }),
    resources: new Gauge({ name: 'zkxds_xds_resources', help: 'Resources served, per type and proxy view', labelNames: ['type', 'view'], registers: r }),
    resourcesRetiring: new Gauge({
      name: 'zkxds_xds_resources_retiring',
      help: 'Resources no longer referenced, still served until the proxies sent the change ACK it (or the grace period ends)',
      labelNames: ['type', 'view'],
      registers: r,
    }),
    retirementWait: new Histogram({
      name: 'zkxds_xds_retirement_wait_seconds',
      help: 'How long retired resources waited before removal, per proxy view: outcome acked (every proxy sent the change ACKed it), unheld (no connected proxy was sent it) or grace (the grace period ended first)',
      labelNames: ['outcome', 'view'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: r,
    }),
    // Kubernetes ServiceEntry writer and leader election.
    leader: new Gauge({ name: 'zkxds_leader', help: '1 while this replica leads the election and writes to Kubernetes, else 0', registers: r }),
    k8sWrites: new Counter({
      name: 'zkxds_k8s_writes_total',
      help: 'Requests that write ServiceEntry objects to the Kubernetes API',
      labelNames: ['verb', 'outcome'],
      registers: r,
    }),
    k8sErrors: new Counter({
      name: 'zkxds_k8s_errors_total',
      help: 'Kubernetes writer problems (rejected objects, conflicts, foreign objects in the way, failed requests)',
      labelNames: ['kind'],
      registers: r,
    }),
    k8sOwned: new Gauge({
      name: 'zkxds_k8s_service_entries_owned',
      help: 'ServiceEntry objects in the namespace labelled as managed by zk-xds, as the leader sees them (0 on other replicas)',
      registers: r,
    }),
    istioServiceEntriesRejectedTotal: new Counter({
      name: 'zkxds_istio_service_entries_rejected_total',
      help: 'ServiceEntries built that break Istio validation rules (not served; the previous entry stays)',
      registers: r,
    }),
    istioServiceEntriesRejected: new Gauge({
      name: 'zkxds_istio_service_entries_rejected',
      help: 'Services whose current ServiceEntry breaks Istio validation rules',
      registers: r,
    }),
    // Several roots and ensembles (issue 5).
    zkEnsembleConnected: new Gauge({
      name: 'zkxds_zookeeper_ensemble_connected',
      help: '1 while the session with this ZooKeeper ensemble is connected, else 0',
      labelNames: ['ensemble'],
      registers: r,
    }),
    nameCollisions: new Gauge({
      name: 'zkxds_name_collisions',
      help: 'Mesh names claimed by two different services (the first identity in sort order is served)',
      registers: r,
    }),
    nameCollisionsTotal: new Counter({
      name: 'zkxds_name_collisions_total',
      help: 'Collisions of two different services on one mesh name, as they were detected',
      registers: r,
    }),
    translationErrors: new Counter({
      name: 'zkxds_translation_errors_total',
      help: 'Services whose resources could not be built (previous resources kept)',
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
