// `zk-xds serve`: the composition root. ZooKeeper registry -> catalog -> translators -> resource
// cache -> xDS server, plus the admin port. Owns start-up order and graceful shutdown.
import type { Logger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { CatalogStore } from '../catalog/catalog-store.js';
import { UnknownProtocolReporter } from '../catalog/unknown-protocols.js';
import { DEFAULT_DROPPED_LABELS, labelRuleFrom } from '../translate/endpoint-labels.js';
import { trafficInstancesOf } from '../translate/service-shape.js';
import { ZkRegistry } from '../registry/zk-registry.js';
import { registryOptionsFrom, type ZooKeeperFlags } from './zookeeper-flags.js';
import { streamLimitsFrom, type StreamLimitFlags } from './stream-limit-flags.js';
import { xdsTransportFrom, type XdsTlsFlags } from './xds-tls-flags.js';
import { ResourceCache } from '../xds/resource-cache.js';
import { RESOURCE_KINDS, TYPE_URL } from '../xds/resource-types.js';
import { XdsServer } from '../xds/xds-server.js';
import { WarmGate } from '../xds/warm-gate.js';
import { registryReadiness } from '../admin/readiness.js';
import { CatalogPublisher } from '../publish/catalog-publisher.js';
import { AdminServer } from '../admin/admin-server.js';
import { adminAccess } from '../admin/debug-access.js';
import type { ViewCaches } from '../xds/client-profile.js';
import { debugRoutes } from '../admin/debug-routes.js';
import { statusRoutes } from '../admin/status-routes.js';
import { ProxyCensus } from '../admin/proxy-census.js';
import { countProxiesByKind, streamsByNode } from '../admin/proxy-status.js';
import { shortTypeName } from '../xds/resource-types.js';
import { startKubernetesServiceEntries, type KubernetesServiceEntries } from '../istio/kubernetes-service-entries.js';
import { McpPublisher } from '../publish/mcp-publisher.js';
import { MCP_SERVICE_ENTRY_TYPE_URLS } from '../publish/mcp-resources.js';

import type { ScopeFlags } from './scope-flags.js';
import { sidecarScopes, type SidecarScopes } from './sidecar-scopes.js';

export interface ServeConfig extends ZooKeeperFlags, StreamLimitFlags, XdsTlsFlags, ScopeFlags {
  readonly bindAddress: string;
  readonly xdsPort: number;
  readonly adminPort: number;
  /** Address of the admin port; unset: bindAddress. */
  readonly adminBindAddress?: string;
  /** File holding the bearer token /debug pages require from non-loopback connections; unset: loopback only. */
  readonly adminTokenFile?: string;
  readonly debounceMs: number;
  readonly maxDelayMs: number;
  /** Suffix of sidecar host names (`orders.<suffix>`); empty for none. */
  readonly domainSuffix: string;
  /** Address Envoy sidecars' outbound listeners bind to. */
  readonly sidecarListenAddress: string;
  /** Least time between two pushes to one proxy stream (0 = none). */
  readonly minPushIntervalMs?: number;
  /** Longest a push waits for the proxy's answer to its previous response of the type (0 = never). */
  readonly maxAckWaitMs?: number;
  /** Longest retired resources wait for proxies to ACK the change that dropped them (default 10 s). */
  readonly retireGraceMs?: number;
  /** Longest a retired resource stays while a proxy still subscribes to it by name (default 20 min). */
  readonly retireSubscribedMaxMs?: number;
  /** Namespace of the Istio ServiceEntries, served over MCP and written to Kubernetes (default `zk-xds`). */
  readonly istioNamespace?: string;
  /** Istio revision (`istio.io/rev` label on every ServiceEntry); empty for the default revision. */
  readonly istioRevision?: string;
  /** `exportTo` of every ServiceEntry (default `*`). */
  readonly istioExportTo?: readonly string[];
  /** Instance metadata keys (`prefix*` for a prefix) never made ServiceEntry endpoint labels (default DEFAULT_DROPPED_LABELS). */
  readonly istioDroppedLabels?: readonly string[];
  /** Keep ServiceEntry objects in Kubernetes (the leader replica writes them). */
  readonly k8sServiceEntries?: boolean;
  /** kubeconfig path(s); unset: in-cluster service account, else ~/.kube/config. */
  readonly kubeconfig?: string;
  /** Parent znode of the leader election among replicas. */
  readonly leaderElectionPath?: string;
  readonly k8sWritesPerSecond?: number;
}

export interface RunningServer {
  readonly xdsPort: number;
  readonly adminPort: number;
  readonly registry: ZkRegistry;
  readonly catalog: CatalogStore;
  readonly caches: ViewCaches;
  readonly publisher: CatalogPublisher;
  readonly mcpPublisher: McpPublisher;
  readonly xds: XdsServer;
  readonly metrics: Metrics;
  /** Present with --k8s-service-entries. */
  readonly kubernetes?: KubernetesServiceEntries;
  readonly scopes: SidecarScopes;
  stop(): Promise<void>;
}

/** Starts everything; the xDS and admin ports answer at once, readiness follows the first full read. */
export async function startServer(config: ServeConfig, log: Logger, metrics: Metrics = createMetrics()): Promise<RunningServer> {
  // First: a bad TLS or identities file stops start-up before anything else is opened.
  const transport = await xdsTransportFrom(config, log.child({ component: 'xds-tls' }), metrics.registry);
  const catalog = new CatalogStore();
  const types = [...RESOURCE_KINDS.map((k) => TYPE_URL[k]), ...MCP_SERVICE_ENTRY_TYPE_URLS];
  // A view per audience, plus one for gRPC C-core 1.51, which breaks on fields other clients take
  // (src/xds/client-profile.ts); services it would get differently are few, the rest share bytes.
  const caches = { proxyless: new ResourceCache(types), sidecar: new ResourceCache(types), 'grpc-core-1.51': new ResourceCache(types) };
  const publisher = new CatalogPublisher(
    caches,
    { domainSuffix: config.domainSuffix, sidecarBindAddress: config.sidecarListenAddress },
    log.child({ component: 'publisher' }),
    metrics,
  );
  catalog.onChange((change, observedAt) => publisher.publish(change, observedAt));
  const unknownProtocols = new UnknownProtocolReporter(log.child({ component: 'catalog' }));
  catalog.onChange((change) => unknownProtocols.observe(change));
  // istiod (MCP-over-xDS) may be served from any view: every cache holds the ServiceEntries.
  const istio = {
    namespace: config.istioNamespace || 'zk-xds',
    revision: config.istioRevision ?? '',
    exportTo: config.istioExportTo ?? ['*'],
    domainSuffix: config.domainSuffix,
    labelRule: labelRuleFrom(config.istioDroppedLabels ?? DEFAULT_DROPPED_LABELS),
  };
  const mcpPublisher = new McpPublisher(Object.values(caches), istio, log.child({ component: 'istio-mcp' }), metrics);
  catalog.onChange((change, observedAt) => mcpPublisher.publish(change, observedAt));
  metrics.setCatalogSource(() => countCatalog(catalog));

  const registry = new ZkRegistry(registryOptionsFrom(config, { debounceMs: config.debounceMs, maxDelayMs: config.maxDelayMs }), {
    log,
    metrics,
    onServices: (services, observedAt) => catalog.offer(services, observedAt),
  });
  // Sidecars whose node cluster has a scope get only its services (after the base sidecar view).
  const scopes = sidecarScopes(config, { base: caches.sidecar, catalog, namesOf: (s) => publisher.sidecarNamesOf(s), registry, log, metrics });
  catalog.onChange((change, observedAt) => scopes.views.publish(change, observedAt));
  metrics.setZooKeeperStateSource(() => registry.status().state);
  metrics.setStalenessSource(() => registry.status().staleSeconds);
  // xDS answers (SotW, delta, MCP) are held until every ensemble's first complete read: an empty
  // answer would make clients drop what they hold.
  const gate = new WarmGate();
  const xds = new XdsServer({
    caches,
    log: log.child({ component: 'xds' }),
    metrics,
    minPushIntervalMs: config.minPushIntervalMs ?? 0,
    maxAckWaitMs: config.maxAckWaitMs ?? 0,
    retireGraceMs: config.retireGraceMs,
    retireSubscribedMaxMs: config.retireSubscribedMaxMs,
    limits: streamLimitsFrom(config),
    warmGate: gate,
    credentials: transport?.credentials,
    identities: transport?.identities,
    viewSelector: scopes.viewSelector,
    onViewUnused: scopes.onViewUnused,
  });
  const xdsPort = await xds.listen(config.bindAddress, config.xdsPort);
  metrics.setProxySource(
    () => countProxiesByKind(xds),
    () => new Set(streamsByNode(xds).keys()),
  );
  metrics.setProxyStateSource(new ProxyCensus(xds).take);
  xds.onReply((reply) => {
    if (reply.kind === 'nack') metrics.recordProxyNack(reply.nodeId, shortTypeName(reply.typeUrl));
  });
  const admin = new AdminServer({
    registry: metrics.registry,
    log: log.child({ component: 'admin' }),
    access: adminAccess(config.adminTokenFile, log.child({ component: 'admin' })),
    readiness: () => {
      const status = registry.status();
      const { ready, ...why } = registryReadiness(status);
      return { ready, detail: { ...why, zookeeper: status, xds: { port: xdsPort, streams: xds.connectedStreams().length, holding: !gate.isOpen } } };
    },
    routes: {
      ...debugRoutes({
        xds,
        catalog,
        registry,
        publisher,
        caches,
        retiring: () => xds.retiring(),
        istio: { ...istio, rejectedEntries: () => mcpPublisher.rejectedEntries() },
        scopes: scopes.pages,
      }),
      // /debug/status (HTML) and its JSON pages; `kubernetes` is assigned before any request is served.
      ...statusRoutes({ xds, caches, catalog, registry, kubernetes: () => kubernetes }),
    },
  });
  const adminPort = await admin.listen(config.adminBindAddress ?? config.bindAddress, config.adminPort);
  log.info(
    { xdsPort, adminPort, ensembles: registry.sources.ensembles.map((e) => ({ name: e.name, zk: e.connect, chroot: e.chroot, roots: e.roots })) },
    'zk-xds listening; reading ZooKeeper',
  );
  const kubernetes = config.k8sServiceEntries
    ? startKubernetesServiceEntries(
        {
          zk: registry.primaryConnectionOptions(),
          entries: istio,
          kubeconfig: config.kubeconfig,
          leaderElectionPath: config.leaderElectionPath ?? '/zk-xds/leader',
          writesPerSecond: config.k8sWritesPerSecond ?? 20,
        },
        catalog,
        () => registry.status().initialSyncDone,
        log,
        metrics,
      )
    : undefined;
  const scopesStarted = scopes.start(xds).catch((err: Error) => log.error({ err: err.message }, 'sidecar scope sources stopped'));
  const started = registry
    .start()
    .then(async () => {
      // Scopes are read before answering too: a scoped sidecar would otherwise first get everything.
      await scopesStarted;
      if (registry.status().initialSyncDone) gate.open();
    })
    .catch((err: Error) => log.error({ err: err.message }, 'registry stopped'));

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('shutting down: closing xDS streams and the ZooKeeper session');
      // First, so the next replica takes over writing at once.
      await kubernetes?.stop();
      await xds.shutdown();
      transport?.source.close();
      await registry.stop();
      scopes.stop();
      await Promise.race([scopesStarted, new Promise((r) => setTimeout(r, 100))]);
      await admin.close();
      await Promise.race([started, new Promise((r) => setTimeout(r, 100))]);
      log.info('stopped');
    })());
  return { xdsPort, adminPort, registry, catalog, caches, publisher, mcpPublisher, xds, metrics, kubernetes, scopes, stop };
}

/**
 * Serving: the endpoints proxies get, per service (a process registered twice, or over a second
 * protocol, is one); not serving: registrations that say they take no traffic.
 */
function countCatalog(catalog: CatalogStore): { services: number; serving: number; notServing: number } {
  let serving = 0;
  let notServing = 0;
  const snapshot = catalog.snapshot();
  for (const s of snapshot.values()) {
    serving += new Set(trafficInstancesOf(s).map((i) => `${i.address}|${i.port}`)).size;
    for (const i of s.instances) if (!i.healthy) notServing++;
  }
  return { services: snapshot.size, serving, notServing };
}
