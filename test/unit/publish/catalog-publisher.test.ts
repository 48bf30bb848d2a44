// The publisher on its own, with real caches and no ZooKeeper: what each view's cache holds after a
// catalog change, what a service with no instance keeps, which resources change version when a
// service changes, and how sidecar ports are shared and rebuilt.
import { describe, expect, it } from '@jest/globals';
import type { Service } from '../../../src/catalog/model.js';
import { EMPTY_POLICY, type ServicePolicy } from '../../../src/catalog/policy.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { CatalogPublisher } from '../../../src/publish/catalog-publisher.js';
import { ResourceCache } from '../../../src/xds/resource-cache.js';
import { RESOURCE_KINDS, TYPE_URL, type ResourceKind } from '../../../src/xds/resource-types.js';
import { service } from '../../support/catalog-fixtures.js';

function setup() {
  const types = RESOURCE_KINDS.map((k) => TYPE_URL[k]);
  const caches = { proxyless: new ResourceCache(types), sidecar: new ResourceCache(types), 'grpc-core-1.51': new ResourceCache(types) };
  const publisher = new CatalogPublisher(
    caches,
    { domainSuffix: 'mesh', sidecarBindAddress: '127.0.0.1' },
    silentLogger(),
    createMetrics({ defaultMetrics: false }),
  );
  const names = (view: keyof typeof caches, kind: ResourceKind) => [...caches[view].entries(TYPE_URL[kind]).keys()].sort();
  const versionOf = (view: keyof typeof caches, kind: ResourceKind, name: string) => caches[view].get(TYPE_URL[kind], name)?.version;
  return { caches, publisher, names, versionOf };
}

const policy = (p: Partial<ServicePolicy>): ServicePolicy => ({ ...EMPTY_POLICY, ...p }) as ServicePolicy;
const endpointsIn = (o: Readonly<Record<string, unknown>> | undefined) => (o?.endpoints as unknown[] | undefined) ?? [];

describe('CatalogPublisher: every view', () => {
  it("puts a service's cluster, assignment, listener and route in each proxyless view, and its cluster and assignment in the sidecar view", () => {
    const { publisher, names } = setup();
    publisher.publish({ upserts: [service('orders', 2)] });
    // No server Listeners: the service's policy has no mtls or authorization section.
    for (const view of ['proxyless', 'grpc-core-1.51'] as const) {
      for (const kind of RESOURCE_KINDS) expect(names(view, kind)).toEqual(['orders']);
    }
    expect(names('sidecar', 'cluster')).toEqual(['orders']);
    expect(names('sidecar', 'endpoint')).toEqual(['orders']);
    // Sidecar listeners and routes are per port, named after it.
    expect(names('sidecar', 'listener')).toEqual(['zkxds-outbound-8080']);
    expect(names('sidecar', 'route')).toEqual(['zkxds-outbound-8080']);
    expect(publisher.resourceNamesOf('orders')?.sidecar).toEqual({
      cluster: ['orders'],
      endpoint: ['orders'],
      listener: ['zkxds-outbound-8080'],
      route: ['zkxds-outbound-8080'],
    });
  });

  it('shares the bytes of a profile view whose clients get the same adjustments, and builds its own when they differ', () => {
    const { caches, publisher } = setup();
    const ringHash = policy({ loadBalancing: { policy: 'RING_HASH', hashOn: { header: 'x-user' } } });
    publisher.publish({ upserts: [service('plain', 1), service('hashed', 1, ringHash)] });
    const cluster = (view: 'proxyless' | 'grpc-core-1.51', name: string) => caches[view].get(TYPE_URL.cluster, name)!;
    expect(cluster('grpc-core-1.51', 'plain')).toBe(cluster('proxyless', 'plain'));
    // C-core 1.51 crashes on ring hash: its view gets round robin instead.
    expect(cluster('proxyless', 'hashed').object.lb_policy).toBe('RING_HASH');
    expect(cluster('grpc-core-1.51', 'hashed').object.lb_policy).toBe('ROUND_ROBIN');
    expect(publisher.adjustmentsOf(service('hashed', 1, ringHash)).map((a) => a.view)).toEqual(['grpc-core-1.51']);
  });
});

describe('CatalogPublisher: a service with no instance', () => {
  it('first seen without instances (an empty Curator service node), still gets its cluster, listener and route, with an empty assignment', () => {
    const { caches, publisher } = setup();
    publisher.publish({ upserts: [service('empty', 0)] });
    for (const view of ['proxyless', 'grpc-core-1.51'] as const) {
      for (const kind of ['cluster', 'listener', 'route'] as const) expect(caches[view].get(TYPE_URL[kind], 'empty')).toBeDefined();
      expect(endpointsIn(caches[view].get(TYPE_URL.endpoint, 'empty')?.object)).toEqual([]);
    }
    expect(caches.sidecar.get(TYPE_URL.cluster, 'empty')).toBeDefined();
    expect(publisher.resourceNamesOf('empty')?.proxyless).toEqual({ cluster: ['empty'], endpoint: ['empty'], listener: ['empty'], route: ['empty'] });
  });

  it('losing its last instance and getting one back, keeps the very same cluster, listener and route (only the assignment changes)', () => {
    const { publisher, versionOf } = setup();
    publisher.publish({ upserts: [service('orders', 2)] });
    const before = Object.fromEntries((['cluster', 'listener', 'route'] as const).map((k) => [k, versionOf('proxyless', k, 'orders')]));
    const endpointsBefore = versionOf('proxyless', 'endpoint', 'orders');
    publisher.publish({ upserts: [service('orders', 0)] });
    const during = Object.fromEntries((['cluster', 'listener', 'route'] as const).map((k) => [k, versionOf('proxyless', k, 'orders')]));
    expect(during).toEqual(before);
    expect(versionOf('proxyless', 'endpoint', 'orders')).not.toBe(endpointsBefore);
    publisher.publish({ upserts: [service('orders', 1)] });
    expect(versionOf('proxyless', 'listener', 'orders')).toBe(before.listener);
  });

  it('on a port of its own (set by its policy), keeps the sidecar listener and route of that port', () => {
    const { caches, publisher } = setup();
    const onPort = policy({ port: 9000, protocol: 'grpc' });
    publisher.publish({ upserts: [service('orders', [{ port: 9000 }], onPort)] });
    publisher.publish({ upserts: [service('orders', [], onPort)] });
    expect(caches.sidecar.get(TYPE_URL.listener, 'zkxds-outbound-9000')).toBeDefined();
    const route = caches.sidecar.get(TYPE_URL.route, 'zkxds-outbound-9000')!.object as { virtual_hosts: Array<{ name: string }> };
    expect(route.virtual_hosts.map((v) => v.name)).toEqual(['orders']);
    expect(caches.sidecar.get(TYPE_URL.cluster, 'orders')).toBeDefined();
  });
});

describe('CatalogPublisher: versions follow content', () => {
  it('a changed policy gives the cluster a new version and leaves the listener, and equal content keeps every version', () => {
    const { caches, publisher, versionOf } = setup();
    publisher.publish({ upserts: [service('orders', 2)] });
    const cluster = versionOf('proxyless', 'cluster', 'orders');
    const listener = versionOf('proxyless', 'listener', 'orders');
    const typeVersion = caches.proxyless.version(TYPE_URL.cluster);
    publisher.publish({ upserts: [service('orders', 2)] });
    expect(caches.proxyless.version(TYPE_URL.cluster)).toBe(typeVersion);
    publisher.publish({ upserts: [service('orders', 2, policy({ circuitBreakers: { maxRequests: 100 } }))] });
    expect(versionOf('proxyless', 'cluster', 'orders')).not.toBe(cluster);
    expect(versionOf('proxyless', 'listener', 'orders')).toBe(listener);
    expect(caches.proxyless.version(TYPE_URL.cluster)).not.toBe(typeVersion);
  });

  it('every distinct resource in a varied catalog has a version of its own', () => {
    const { caches, publisher } = setup();
    const services: Service[] = [
      service('a', 1),
      service('b', 1),
      service('c', [{ port: 8081 }]),
      service('d', [{ weight: 3 }]),
      service('e', [{ address: '10.9.9.9' }]),
      service('f', 1, policy({ connectTimeoutMs: 1000 })),
      service('g', 1, policy({ connectTimeoutMs: 2000 })),
      service('h', 0),
    ];
    publisher.publish({ upserts: services });
    for (const view of ['proxyless', 'sidecar'] as const) {
      for (const kind of RESOURCE_KINDS) {
        const entries = [...caches[view].entries(TYPE_URL[kind]).values()];
        expect(new Set(entries.map((e) => e.version)).size).toBe(entries.length);
      }
    }
  });
});

describe('CatalogPublisher: sidecar ports', () => {
  it('routes every http service on a port from one route, and rebuilds both ports when a service moves', () => {
    const { caches, publisher } = setup();
    publisher.publish({ upserts: [service('a', [{ port: 8080 }]), service('b', [{ port: 8080 }])] });
    const hosts = (port: number) =>
      (
        (caches.sidecar.get(TYPE_URL.route, `zkxds-outbound-${port}`)?.object as { virtual_hosts?: Array<{ name: string }> } | undefined)?.virtual_hosts ?? []
      ).map((v) => v.name);
    expect(hosts(8080)).toEqual(['a', 'b']);
    publisher.publish({ upserts: [service('b', [{ port: 9090 }])] });
    expect(hosts(8080)).toEqual(['a']);
    expect(hosts(9090)).toEqual(['b']);
  });

  it('names the tcp service left without a listener on a port that carries http services', () => {
    const { caches, publisher } = setup();
    publisher.publish({ upserts: [service('web', [{ port: 7000 }]), service('db', [{ port: 7000 }], policy({ protocol: 'tcp' }))] });
    expect(publisher.sidecarConflicts().get('db')).toMatch(/port 7000 carries http services/);
    expect(caches.sidecar.get(TYPE_URL.listener, 'zkxds-outbound-7000')).toBeDefined();
    publisher.publish({ upserts: [service('web', [{ port: 7001 }])] });
    expect(publisher.sidecarConflicts().has('db')).toBe(false);
  });
});

describe('CatalogPublisher: security', () => {
  it('keeps a gRPC server Listener after its instances left, and builds the sidecar inbound listener only for a security policy', () => {
    const { publisher, names, versionOf } = setup();
    const server = 'grpc/server?xds.resource.listening_address=10.0.0.1:8080';
    publisher.publish({ upserts: [service('orders', 1)] });
    expect(names('sidecar', 'listener')).toEqual(['zkxds-outbound-8080']);
    const plaintext = versionOf('proxyless', 'listener', server);
    publisher.publish({ upserts: [service('orders', 1, policy({ mtls: { mode: 'STRICT' } }))] });
    expect(versionOf('proxyless', 'listener', server)).not.toBe(plaintext);
    expect(names('sidecar', 'listener')).toEqual(['zkxds-inbound', 'zkxds-outbound-8080']);
    expect(names('sidecar', 'cluster')).toEqual(['orders', 'zkxds-inbound|8080']);
    publisher.publish({ upserts: [service('orders', 0, policy({ mtls: { mode: 'STRICT' } }))] });
    expect(names('proxyless', 'listener')).toContain(server);
  });
});
