// What the publisher asks of the cache in transitions: a dropped subset (split flipped, policy
// deleted) is retired, not removed, so it stays served until the gate lets it go; a service whose
// last instance left keeps its listener, route and cluster with an empty endpoint list.
import { describe, expect, it } from '@jest/globals';
import { ResourceCache, type RetirementBatch, type RetirementGate } from '../../../src/xds/resource-cache.js';
import { CatalogPublisher } from '../../../src/publish/catalog-publisher.js';
import { RESOURCE_KINDS, TYPE_URL } from '../../../src/xds/resource-types.js';
import type { ServicePolicy } from '../../../src/catalog/policy.js';
import { EMPTY_POLICY } from '../../../src/catalog/policy.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { service } from '../../support/catalog-fixtures.js';

/** A gate that holds every batch until the test releases it. */
class HeldGate implements RetirementGate {
  readonly batches: RetirementBatch[] = [];
  admit(batch: RetirementBatch): void {
    this.batches.push(batch);
  }
}

function setup() {
  const types = RESOURCE_KINDS.map((k) => TYPE_URL[k]);
  const caches = { proxyless: new ResourceCache(types), sidecar: new ResourceCache(types) };
  const gates = { proxyless: new HeldGate(), sidecar: new HeldGate() };
  caches.proxyless.setRetirementGate(gates.proxyless);
  caches.sidecar.setRetirementGate(gates.sidecar);
  const publisher = new CatalogPublisher(
    caches,
    { domainSuffix: '', sidecarBindAddress: '127.0.0.1' },
    silentLogger(),
    createMetrics({ defaultMetrics: false }),
  );
  return { caches, gates, publisher };
}

const split = (subsets: Record<string, number>): ServicePolicy =>
  ({
    ...EMPTY_POLICY,
    protocol: 'grpc',
    trafficSplit: { label: 'version', subsets: Object.entries(subsets).map(([value, weight]) => ({ value, weight })) },
  }) as ServicePolicy;
const instances = [{ metadata: { version: 'v1' } }, { metadata: { version: 'v2' } }];

describe('publisher transitions', () => {
  it('a flipped split retires the old subset cluster and assignment in both views; they stay until released', () => {
    const { caches, gates, publisher } = setup();
    publisher.publish({ upserts: [service('echo', instances, split({ v1: 100 }))] });
    publisher.publish({ upserts: [service('echo', instances, split({ v2: 100 }))] });
    for (const view of ['proxyless', 'sidecar'] as const) {
      const cache = caches[view];
      expect(cache.get(TYPE_URL.cluster, 'echo|version=v1')).toBeDefined();
      expect(cache.get(TYPE_URL.cluster, 'echo|version=v2')).toBeDefined();
      const [batch] = gates[view].batches;
      expect(batch!.names.get(TYPE_URL.cluster)).toEqual(new Set(['echo|version=v1']));
      expect(batch!.names.get(TYPE_URL.endpoint)).toEqual(new Set(['echo|version=v1']));
      // The batch remembers the step that re-pointed the route (what streams must ACK).
      expect(batch!.steps.map((s) => s.typeUrl)).toContain(TYPE_URL.cluster);
      cache.release(batch!);
      expect(cache.get(TYPE_URL.cluster, 'echo|version=v1')).toBeUndefined();
      expect(cache.get(TYPE_URL.endpoint, 'echo|version=v1')).toBeUndefined();
    }
    expect(gates.proxyless.batches[0]!.steps.map((s) => s.typeUrl)).toContain(TYPE_URL.route);
  });

  it('deleting a split policy retires every subset; flipping back before the release keeps the subset', () => {
    const { caches, gates, publisher } = setup();
    publisher.publish({ upserts: [service('echo', instances, split({ v1: 50, v2: 50 }))] });
    publisher.publish({ upserts: [service('echo', instances, EMPTY_POLICY)] });
    expect(gates.proxyless.batches[0]!.names.get(TYPE_URL.cluster)).toEqual(new Set(['echo|version=v1', 'echo|version=v2']));
    publisher.publish({ upserts: [service('echo', instances, split({ v1: 100 }))] });
    caches.proxyless.release(gates.proxyless.batches[0]!);
    expect(caches.proxyless.get(TYPE_URL.cluster, 'echo|version=v1')).toBeDefined();
    expect(caches.proxyless.get(TYPE_URL.cluster, 'echo|version=v2')).toBeUndefined();
  });

  it("a service's last instance leaving keeps its listener, route and cluster, with an empty assignment, and retires nothing", () => {
    const { caches, gates, publisher } = setup();
    publisher.publish({ upserts: [service('echo', 2)] });
    publisher.publish({ upserts: [service('echo', [])] });
    const cache = caches.proxyless;
    for (const kind of ['listener', 'route', 'cluster'] as const) expect(cache.get(TYPE_URL[kind], 'echo')).toBeDefined();
    expect((cache.get(TYPE_URL.endpoint, 'echo')!.object as { endpoints?: unknown[] }).endpoints ?? []).toEqual([]);
    expect(cache.retiringNames().size).toBe(0);
    expect(gates.proxyless.batches).toEqual([]);
    expect(caches.sidecar.get(TYPE_URL.cluster, 'echo')).toBeDefined();
  });
});
