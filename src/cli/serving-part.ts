// The serving part of `zk-xds serve`: everything downstream of the registry. Catalog, publishers,
// the resource caches, the scoped sidecar views, the warm gate and the xDS server. The main
// process builds it under its ZooKeeper registry; each serving worker (`serve --workers N`)
// builds the very same part and is fed the catalog over IPC.
//
// Why the catalog is replicated rather than the encoded caches: the catalog stream is small
// (services as they change), and with it every serving feature (scoped sidecar views chosen per
// node, make-before-break retirement gated on each process's own streams' ACKs, server listeners,
// MCP) works unchanged in a worker because it is the same code. Each worker re-translates a changed
// service itself (~0.4 ms per change); versions are content hashes, so every process serves the
// same versions for the same catalog.
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { CatalogStore } from '../catalog/catalog-store.js';
import { DEFAULT_DROPPED_LABELS, labelRuleFrom } from '../translate/endpoint-labels.js';
import type { ServiceEntryOptions } from '../translate/service-entry.js';
import { streamLimitsFrom, type StreamLimitFlags } from './stream-limit-flags.js';
import type { XdsTlsFlags, XdsTransport } from './xds-tls-flags.js';
import { ResourceCache } from '../xds/resource-cache.js';
import { RESOURCE_KINDS, TYPE_URL, shortTypeName } from '../xds/resource-types.js';
import { XdsServer } from '../xds/xds-server.js';
import { WarmGate } from '../xds/warm-gate.js';
import type { HandOff } from '../xds/backlog-listener.js';
import { CatalogPublisher } from '../publish/catalog-publisher.js';
import { McpPublisher } from '../publish/mcp-publisher.js';
import { MCP_SERVICE_ENTRY_TYPE_URLS } from '../publish/mcp-resources.js';
import { ProxyCensus } from '../admin/proxy-census.js';
import { countProxiesByKind, streamsByNode } from '../admin/proxy-status.js';
import type { ScopeFlags } from './scope-flags.js';
import { scopedServing, type ScopedServing } from './sidecar-scopes.js';

/** What the serving part is configured with: no ZooKeeper setting, nothing secret (TLS file paths only). */
export interface ServingConfig extends StreamLimitFlags, XdsTlsFlags, Pick<ScopeFlags, 'scopeDefault'> {
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
}

/** Every key of ServingConfig: what crosses to a worker is picked by name, never the whole config. */
const SERVING_KEYS = [
  'listenBacklog',
  'maxStreams',
  'initialSyncsPerSecond',
  'maxBufferedBytes',
  'stuckStreamTimeoutMs',
  'maxConnectionAgeMs',
  'maxConnectionAgeGraceMs',
  'maxRequestBytes',
  'maxStreamsPerConnection',
  'requestsPerSecond',
  'requestBurst',
  'xdsTlsCertFile',
  'xdsTlsKeyFile',
  'xdsTlsClientCaFile',
  'xdsIdentitiesFile',
  'xdsTlsReloadIntervalMs',
  'scopeDefault',
  'domainSuffix',
  'sidecarListenAddress',
  'minPushIntervalMs',
  'maxAckWaitMs',
  'retireGraceMs',
  'retireSubscribedMaxMs',
  'istioNamespace',
  'istioRevision',
  'istioExportTo',
  'istioDroppedLabels',
] as const satisfies ReadonlyArray<keyof ServingConfig>;
/** Fails to compile when ServingConfig gains a field SERVING_KEYS does not list. */
const everyKeyListed: Exclude<keyof ServingConfig, (typeof SERVING_KEYS)[number]> extends never ? true : never = true;
void everyKeyListed;

/** The serving settings of a full `serve` configuration, and nothing else (no ZooKeeper address or credentials). */
export function servingConfigOf(config: ServingConfig): ServingConfig {
  const out: Record<string, unknown> = {};
  for (const key of SERVING_KEYS) if (config[key] !== undefined) out[key] = config[key];
  return out as unknown as ServingConfig;
}

/** What every ServiceEntry is built with (MCP, the Kubernetes writer), with each default filled in. */
export type IstioSettings = Required<Pick<ServiceEntryOptions, 'namespace' | 'revision' | 'exportTo' | 'domainSuffix' | 'labelRule'>>;

export interface ServingPart {
  readonly catalog: CatalogStore;
  readonly caches: { proxyless: ResourceCache; sidecar: ResourceCache; 'grpc-core-1.51': ResourceCache };
  readonly publisher: CatalogPublisher;
  readonly mcpPublisher: McpPublisher;
  readonly istio: IstioSettings;
  readonly scopes: ScopedServing;
  /** Holds xDS answers until the catalog is complete (the registry's first read, or the main's word). */
  readonly gate: WarmGate;
  readonly xds: XdsServer;
}

export function buildServingPart(
  config: ServingConfig,
  deps: { log: Logger; metrics: Metrics; transport: XdsTransport | null; handOff?: HandOff },
): ServingPart {
  const { log, metrics, transport } = deps;
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
  // istiod (MCP-over-xDS) may be served from any view: every cache holds the ServiceEntries.
  const istio: IstioSettings = {
    namespace: config.istioNamespace || 'zk-xds',
    revision: config.istioRevision ?? '',
    exportTo: config.istioExportTo ?? ['*'],
    domainSuffix: config.domainSuffix,
    labelRule: labelRuleFrom(config.istioDroppedLabels ?? DEFAULT_DROPPED_LABELS),
  };
  const mcpPublisher = new McpPublisher(Object.values(caches), istio, log.child({ component: 'istio-mcp' }), metrics);
  catalog.onChange((change, observedAt) => mcpPublisher.publish(change, observedAt));
  // Sidecars whose node cluster has a scope get only its services (after the base sidecar view).
  const scopes = scopedServing(config, { base: caches.sidecar, catalog, namesOf: (s) => publisher.sidecarNamesOf(s), log });
  catalog.onChange((change, observedAt) => scopes.views.publish(change, observedAt));
  // xDS answers (SotW, delta, MCP) are held until the catalog is complete: an empty answer would
  // make clients drop what they hold.
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
    handOff: deps.handOff,
  });
  metrics.setProxySource(
    () => countProxiesByKind(xds),
    () => new Set(streamsByNode(xds).keys()),
  );
  metrics.setProxyStateSource(new ProxyCensus(xds).take);
  xds.onReply((reply) => {
    if (reply.kind === 'nack') metrics.recordProxyNack(reply.nodeId, shortTypeName(reply.typeUrl));
  });
  return { catalog, caches, publisher, mcpPublisher, istio, scopes, gate, xds };
}
