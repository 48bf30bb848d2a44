// Every resource zk-xds would send for a large generated catalog, for proxyless gRPC and for Envoy
// sidecars, checked against the validate.rules written in Envoy's own protos and for consistency
// (every reference resolves, names and listener addresses are unique).
import { describe, expect, it } from '@jest/globals';
import { silentLogger } from '../../../src/observability/logger.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { CatalogPublisher } from '../../../src/publish/catalog-publisher.js';
import { ResourceCache } from '../../../src/xds/resource-cache.js';
import { RESOURCE_KINDS, TYPE_URL } from '../../../src/xds/resource-types.js';
import { decodeAny } from '../../../src/xds/resource-encoding.js';
import type { ServicePolicy } from '../../../src/catalog/policy.js';
import type { Service } from '../../../src/catalog/model.js';
import { service, type InstanceSpec } from '../../support/catalog-fixtures.js';
import { checkAny, checkResourceSet } from '../../support/proto-constraints.js';

/** A policy for each field, in turn (the README's examples are of the same kind). */
const POLICIES: ServicePolicy[] = [
  {},
  { protocol: 'grpc' },
  { protocol: 'tcp', port: 5432, loadBalancing: { policy: 'MAGLEV', hashOn: { sourceIp: true } } },
  { loadBalancing: { policy: 'LEAST_REQUEST', choiceCount: 3 } },
  { loadBalancing: { policy: 'RANDOM' } },
  { loadBalancing: { policy: 'RING_HASH', hashOn: { header: 'x-user-id' }, ringMinSize: 1024, ringMaxSize: 8192 } },
  { connectTimeoutMs: 250, requestTimeoutMs: 15000, retries: { attempts: 3, perTryTimeoutMs: 5000, retryOn: ['5xx', 'reset', 'connect-failure'] } },
  { protocol: 'grpc', retries: { attempts: 2, retryOn: ['unavailable', 'resource-exhausted'] }, requestTimeoutMs: 0 },
  { circuitBreakers: { maxConnections: 1024, maxPendingRequests: 256, maxRequests: 2048, maxRetries: 8 } },
  { outlierDetection: { consecutive5xx: 5, intervalMs: 10000, baseEjectionTimeMs: 30000, maxEjectionPercent: 50 } },
  { outlierDetection: { intervalMs: 1000, successRate: { minimumHosts: 2, requestVolume: 10, stdevFactor: 1500 }, failurePercentage: { threshold: 60 } } },
  { loadBalancing: { policy: 'RING_HASH' }, requestTimeoutMs: 1200 },
  { tls: { sni: 'payments.internal.example.com' } },
  {
    trafficSplit: {
      label: 'version',
      subsets: [
        { value: 'v1', weight: 90 },
        { value: 'v2', weight: 10 },
      ],
    },
  },
  { protocol: 'tcp', port: 6379 },
];

function generatedCatalog(size: number): Service[] {
  return Array.from({ length: size }, (_, n) => {
    const count = n % 7; // includes services without instances
    const instances: InstanceSpec[] = Array.from({ length: count }, (_, i) => ({
      address: i % 3 === 2 ? `2001:db8::${n.toString(16)}:${i + 1}` : `10.${n >> 8}.${n & 255}.${i + 1}`,
      port: [8080, 9090, 80, 3000][n % 4]!,
      weight: 1 + ((n * 7 + i) % 5),
      healthy: i !== 1,
      locality: { region: `r${i % 2}`, zone: `z${i % 3}` },
      metadata: { version: i % 2 ? 'v2' : 'v1', ...(n % 5 === 0 ? { protocol: 'grpc' } : {}) },
    }));
    return service(`svc-${n}`, instances, POLICIES[n % POLICIES.length]);
  });
}

function decodedObjects(cache: ResourceCache, typeUrl: string): object[] {
  return [...cache.entries(typeUrl).values()].map((e) => decodeAny(e.anyBytes).object);
}

describe('a generated catalog of 600 services', () => {
  const types = RESOURCE_KINDS.map((k) => TYPE_URL[k]);
  const caches = { proxyless: new ResourceCache(types), sidecar: new ResourceCache(types), 'grpc-core-1.51': new ResourceCache(types) };
  const VIEWS = ['proxyless', 'sidecar', 'grpc-core-1.51'] as const;
  const metrics = createMetrics({ defaultMetrics: false });
  const publisher = new CatalogPublisher(caches, { domainSuffix: 'svc.mesh', sidecarBindAddress: '0.0.0.0' }, silentLogger(), metrics);
  publisher.publish({ upserts: generatedCatalog(600) });

  it.each(VIEWS)('%s: every resource passes the validate.rules of its proto', (view) => {
    const cache = caches[view];
    let checked = 0;
    const violations = types.flatMap((t) =>
      [...cache.entries(t).values()].flatMap((e) => {
        checked++;
        return checkAny(e.anyBytes);
      }),
    );
    expect(violations).toEqual([]);
    expect(checked).toBeGreaterThan(1200);
  });

  it.each(VIEWS)('%s: the resource set is consistent', (view) => {
    const cache = caches[view];
    const set = {
      clusters: decodedObjects(cache, TYPE_URL.cluster),
      endpoints: decodedObjects(cache, TYPE_URL.endpoint),
      listeners: decodedObjects(cache, TYPE_URL.listener),
      routes: decodedObjects(cache, TYPE_URL.route),
    };
    expect(checkResourceSet(set)).toEqual([]);
  });

  it("the C-core 1.51 view shares the gRPC view's encoded bytes except where its translation differs (ring hash, short timeouts)", () => {
    let shared = 0;
    const own: string[] = [];
    for (const [name, e] of caches['grpc-core-1.51'].entries(TYPE_URL.cluster)) {
      if (caches.proxyless.get(TYPE_URL.cluster, name)!.anyBytes === e.anyBytes) shared++;
      else own.push(name);
    }
    expect(own.length).toBeGreaterThan(0);
    expect(shared).toBeGreaterThan(own.length * 5);
    for (const name of own) expect(caches['grpc-core-1.51'].get(TYPE_URL.cluster, name)!.object).toMatchObject({ lb_policy: 'ROUND_ROBIN' });
    expect(own.every((n) => caches.proxyless.get(TYPE_URL.cluster, n)!.object.lb_policy === 'RING_HASH')).toBe(true);
  });

  it('gives sidecars listeners for http, grpc and tcp ports and reports the tcp services that lost their port', () => {
    const listeners = [...caches.sidecar.entries(TYPE_URL.listener).keys()].sort();
    expect(listeners).toEqual([
      'zkxds-outbound-3000',
      'zkxds-outbound-5432',
      'zkxds-outbound-6379',
      'zkxds-outbound-80',
      'zkxds-outbound-8080',
      'zkxds-outbound-9090',
    ]);
    // Many tcp services ask for 5432 and 6379: one owns each port, the others are reported.
    expect(publisher.sidecarConflicts().size).toBeGreaterThan(0);
    for (const reason of publisher.sidecarConflicts().values()) expect(reason).toMatch(/tcp port \d+ is already taken by svc-\d+/);
  });
});
