// An xDS server over an in-memory resource cache, fed catalog services directly (no ZooKeeper):
// what the protocol tests run against.
import type * as grpc from '@grpc/grpc-js';
import { silentLogger, type Logger } from '../../src/observability/logger.js';
import type { IdentityPolicy } from '../../src/xds/peer-identity.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { ResourceCache } from '../../src/xds/resource-cache.js';
import { RESOURCE_KINDS, TYPE_URL } from '../../src/xds/resource-types.js';
import { XdsServer } from '../../src/xds/xds-server.js';
import { CatalogPublisher } from '../../src/publish/catalog-publisher.js';
import type { Service } from '../../src/catalog/model.js';
import type { StreamLimits } from '../../src/xds/stream-limits.js';
import type { WarmGate } from '../../src/xds/warm-gate.js';

export interface Harness {
  /** Proxyless view (the default for test clients). */
  cache: ResourceCache;
  sidecarCache: ResourceCache;
  server: XdsServer;
  metrics: Metrics;
  address: string;
  publish(...services: Service[]): void;
}

export interface HarnessOptions {
  minPushIntervalMs?: number;
  limits?: Partial<StreamLimits>;
  gate?: WarmGate;
  /** TLS of the xDS port; absent: plaintext. */
  credentials?: grpc.ServerCredentials;
  /** Mutual TLS identity check. */
  identities?: IdentityPolicy;
  log?: Logger;
  metrics?: Metrics;
}

export async function startHarness(initial: Service[], opts: HarnessOptions = {}): Promise<Harness> {
  const cache = new ResourceCache(RESOURCE_KINDS.map((k) => TYPE_URL[k]));
  const sidecarCache = new ResourceCache(RESOURCE_KINDS.map((k) => TYPE_URL[k]));
  const metrics = opts.metrics ?? createMetrics({ defaultMetrics: false });
  const log = opts.log ?? silentLogger();
  const publisher = new CatalogPublisher(
    { proxyless: cache, sidecar: sidecarCache },
    { domainSuffix: 'mesh.local', sidecarBindAddress: '127.0.0.1' },
    log,
    metrics,
  );
  const publish = (...services: Service[]) => publisher.publish({ upserts: services });
  publish(...initial);
  const server = new XdsServer({
    caches: { proxyless: cache, sidecar: sidecarCache },
    log,
    metrics,
    minPushIntervalMs: opts.minPushIntervalMs,
    limits: opts.limits,
    ...(opts.gate ? { warmGate: opts.gate } : {}),
    credentials: opts.credentials,
    identities: opts.identities,
  });
  const port = await server.listen('127.0.0.1', 0);
  return { cache, sidecarCache, server, metrics, address: `127.0.0.1:${port}`, publish };
}

/** The value of a labelled counter for one xDS type (0 when never incremented). */
export async function counter(metrics: Metrics, name: keyof Metrics, type: string): Promise<number> {
  const m = metrics[name] as { get(): Promise<{ values: Array<{ labels: Record<string, string>; value: number }> }> };
  const v = (await m.get()).values.find((x) => x.labels.type === type);
  return v?.value ?? 0;
}
