// `zk-xds serve`: the composition root. ZooKeeper registry -> catalog -> translators -> resource
// cache -> xDS server, plus the admin port. Owns start-up order and graceful shutdown. The part
// from the catalog on is serving-part.ts, which serving workers (`--workers N`) run too.
import type { Logger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import type { CatalogStore } from '../catalog/catalog-store.js';
import { UnknownProtocolReporter } from '../catalog/unknown-protocols.js';
import { trafficInstancesOf } from '../translate/service-shape.js';
import { ZkRegistry } from '../registry/zk-registry.js';
import { registryOptionsFrom, type ZooKeeperFlags } from './zookeeper-flags.js';
import { xdsTransportFrom } from './xds-tls-flags.js';
import type { XdsServer } from '../xds/xds-server.js';
import { registryReadiness } from '../admin/readiness.js';
import type { CatalogPublisher } from '../publish/catalog-publisher.js';
import { AdminServer } from '../admin/admin-server.js';
import { adminAccess } from '../admin/debug-access.js';
import type { ViewCaches } from '../xds/client-profile.js';
import { debugRoutes } from '../admin/debug-routes.js';
import { statusRoutes } from '../admin/status-routes.js';
import { startKubernetesServiceEntries, type KubernetesServiceEntries } from '../istio/kubernetes-service-entries.js';
import type { McpPublisher } from '../publish/mcp-publisher.js';
import type { ScopeFlags } from './scope-flags.js';
import { sidecarScopes, type SidecarScopes } from './sidecar-scopes.js';
import { buildServingPart, servingConfigOf, type ServingConfig } from './serving-part.js';
import { ServingWorkers } from './serving-workers.js';

export interface ServeConfig extends ZooKeeperFlags, ServingConfig, ScopeFlags {
  readonly bindAddress: string;
  readonly xdsPort: number;
  readonly adminPort: number;
  /** Address of the admin port; unset: bindAddress. */
  readonly adminBindAddress?: string;
  /** File holding the bearer token /debug pages require from non-loopback connections; unset: loopback only. */
  readonly adminTokenFile?: string;
  readonly debounceMs: number;
  readonly maxDelayMs: number;
  /** Keep ServiceEntry objects in Kubernetes (the leader replica writes them). */
  readonly k8sServiceEntries?: boolean;
  /** kubeconfig path(s); unset: in-cluster service account, else ~/.kube/config. */
  readonly kubeconfig?: string;
  /** Parent znode of the leader election among replicas. */
  readonly leaderElectionPath?: string;
  readonly k8sWritesPerSecond?: number;
  /** Serving processes, this one included (default 1: no worker); see serving-workers.ts. */
  readonly workers?: number;
  /** A serving worker silent this long is killed and started again (default 30 s; 0: never). */
  readonly workerHungTimeoutMs?: number;
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
  // --workers N: N-1 serving workers beside this process, fed what the registry reads (set below,
  // before any connection is accepted or any service read).
  let workers: ServingWorkers | null = null;
  const part = buildServingPart(config, { log, metrics, transport, handOff: (socket) => workers?.handOff(socket) ?? false });
  const { catalog, caches, publisher, mcpPublisher, istio, gate, xds } = part;
  const unknownProtocols = new UnknownProtocolReporter(log.child({ component: 'catalog' }));
  catalog.onChange((change) => unknownProtocols.observe(change));
  metrics.setCatalogSource(() => countCatalog(catalog));

  const registry = new ZkRegistry(registryOptionsFrom(config, { debounceMs: config.debounceMs, maxDelayMs: config.maxDelayMs }), {
    log,
    metrics,
    onServices: (services, observedAt) => {
      const changed = catalog.offer(services, observedAt);
      // Workers get what changed: their catalog holds the rest already (the snapshot came first).
      workers?.offer(changed, observedAt);
    },
  });
  const scopes = sidecarScopes(config, part.scopes, { registry, log, metrics });
  metrics.setZooKeeperStateSource(() => registry.status().state);
  metrics.setStalenessSource(() => registry.status().staleSeconds);
  const workerCount = Math.max(1, config.workers ?? 1) - 1;
  if (workerCount > 0) {
    workers = new ServingWorkers({
      count: workerCount,
      config: servingConfigOf(config),
      logLevel: log.level,
      log: log.child({ component: 'workers' }),
      registry: metrics.registry,
      catalog,
      book: scopes.book,
      warm: gate,
      ...(config.workerHungTimeoutMs !== undefined ? { hungTimeoutMs: config.workerHungTimeoutMs } : {}),
    });
    workers.start();
  }
  const xdsPort = await xds.listen(config.bindAddress, config.xdsPort);
  const admin = new AdminServer({
    registry: metrics.registry,
    log: log.child({ component: 'admin' }),
    access: adminAccess(config.adminTokenFile, log.child({ component: 'admin' })),
    ...(workers ? { metrics: () => workers!.metrics() } : {}),
    readiness: () => {
      const status = registry.status();
      const { ready, ...why } = registryReadiness(status);
      const xdsDetail = { port: xdsPort, streams: xds.connectedStreams().length, holding: !gate.isOpen };
      if (!workers) return { ready, detail: { ...why, zookeeper: status, xds: xdsDetail } };
      // Every live worker must have opened its warm gate too: until then its proxies' answers wait.
      const w = workers.readiness();
      return { ready: ready && w.ready, detail: { ...why, zookeeper: status, xds: xdsDetail, workers: w.workers } };
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
        ...(workers ? { otherProcesses: () => workers!.proxies(), otherConfigDump: (node, type) => workers!.configDump(node, type) } : {}),
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
      // Workers end their streams while this process ends its own.
      await Promise.all([workers?.stop(), xds.shutdown()]);
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
