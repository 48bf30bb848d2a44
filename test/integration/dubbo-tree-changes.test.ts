// Dubbo 2 trees changing shape under a live registry (real ZooKeeper): `providers` created after
// the interface node, providers coming and going, a service under an `auto` root turning into a
// Dubbo interface, and Dubbo's bookkeeping trees appearing under a `dubbo` root.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { validateSources } from '../../src/registry/sources-config.js';
import { ZkRegistry } from '../../src/registry/zk-registry.js';
import { eventually } from '../support/eventually.js';
import { ZooKeeperServer } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';

let zk: ZooKeeperServer;
let writer: ZkTestClient;
let registry: ZkRegistry;
const catalog = new CatalogStore();

const provider = (iface: string, host: string, query = 'side=provider') => encodeURIComponent(`dubbo://${host}:20880/${iface}?${query}`);
const endpoints = (name: string) => (catalog.get(name)?.instances ?? []).map((i) => i.address).sort();

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  writer = await ZkTestClient.connect(zk.connectString);
  const sources = validateSources(
    {
      ensembles: [
        {
          name: 'one',
          connect: zk.connectString,
          roots: [
            { path: '/dubbo', layout: 'dubbo' },
            { path: '/mixed', layout: 'auto' },
          ],
        },
      ],
    },
    'test',
  );
  registry = new ZkRegistry(
    { sources, policyRoot: '/zk-xds/policy', sessionTimeoutMs: 4000, debounceMs: 5, maxDelayMs: 50 },
    { log: silentLogger(), metrics: createMetrics({ defaultMetrics: false }), onServices: (s, at) => catalog.offer(s, at) },
  );
  await registry.start();
});
afterAll(async () => {
  await registry?.stop();
  await writer?.close();
  await zk?.destroy();
});

describe('Dubbo 2 trees that change under a live registry', () => {
  it('picks up a providers node created after its interface node, and providers coming and going', async () => {
    await writer.mkdirp('/dubbo/org.x.Late');
    await writer.mkdirp('/dubbo/org.x.Late/consumers');
    await new Promise((r) => setTimeout(r, 100));
    expect(catalog.get('org.x.late')).toBeUndefined();
    await writer.mkdirp('/dubbo/org.x.Late/providers');
    await writer.create(`/dubbo/org.x.Late/providers/${provider('org.x.Late', '10.5.0.1')}`, '');
    await eventually(() => expect(endpoints('org.x.late')).toEqual(['10.5.0.1']));
    await writer.create(`/dubbo/org.x.Late/providers/${provider('org.x.Late', '10.5.0.2')}`, '');
    await eventually(() => expect(endpoints('org.x.late')).toEqual(['10.5.0.1', '10.5.0.2']));
    await writer.remove(`/dubbo/org.x.Late/providers/${provider('org.x.Late', '10.5.0.1')}`);
    await eventually(() => expect(endpoints('org.x.late')).toEqual(['10.5.0.2']));
    // The whole interface vanishing leaves the service served with no endpoints.
    await writer.removeRecursive('/dubbo/org.x.Late');
    await eventually(() => expect(catalog.get('org.x.late')?.instances).toEqual([]));
  });

  it('never serves a consumer whose URL lands under providers/ (side=consumer), and names it as an invalid registration', async () => {
    await writer.mkdirp('/dubbo/org.x.Mixed/providers');
    await writer.create(`/dubbo/org.x.Mixed/providers/${provider('org.x.Mixed', '10.7.0.1')}`, '');
    await writer.create(`/dubbo/org.x.Mixed/providers/${provider('org.x.Mixed', '10.7.0.2', 'side=consumer')}`, '');
    const invalid = () => registry.invalidRegistrations().filter((r) => r.path.includes('org.x.Mixed'));
    await eventually(() => expect(invalid().map((r) => r.reason)).toEqual(['side "consumer" is not provider']));
    expect(invalid()[0]!.path).toContain(provider('org.x.Mixed', '10.7.0.2', 'side=consumer'));
    // Read after the consumer: a provider written later is served, the consumer still is not.
    await writer.create(`/dubbo/org.x.Mixed/providers/${provider('org.x.Mixed', '10.7.0.3')}`, '');
    await eventually(() => expect(endpoints('org.x.mixed')).toEqual(['10.7.0.1', '10.7.0.3']));
    // The tests after this one share the registry: leave it with nothing to report.
    await writer.removeRecursive('/dubbo/org.x.Mixed');
    await eventually(() => expect(invalid()).toEqual([]));
  });

  it('never reads Dubbo bookkeeping trees under a dubbo root', async () => {
    await writer.mkdirp('/dubbo/config/dubbo');
    await writer.create('/dubbo/config/dubbo/dubbo.properties', 'dubbo.registry.address=zookeeper://x');
    await writer.mkdirp('/dubbo/metadata/org.x.Late/provider');
    await writer.mkdirp('/dubbo/mapping/org.x.Late');
    await writer.mkdirp('/dubbo/org.x.Probe/providers');
    await writer.create(`/dubbo/org.x.Probe/providers/${provider('org.x.Probe', '10.5.0.9')}`, '');
    await eventually(() => expect(endpoints('org.x.probe')).toEqual(['10.5.0.9']));
    expect([...catalog.snapshot().keys()].filter((n) => /config|metadata|mapping/.test(n))).toEqual([]);
    expect(registry.invalidRegistrations()).toEqual([]);
  });

  it('under an auto root, reads a service node as Curator-style until it becomes a Dubbo interface', async () => {
    await writer.mkdirp('/mixed/svc');
    await writer.create('/mixed/svc/10.6.0.1:8080', '');
    await eventually(() => expect(endpoints('svc')).toEqual(['10.6.0.1']));
    await writer.remove('/mixed/svc/10.6.0.1:8080');
    await writer.mkdirp('/mixed/svc/providers');
    await writer.create(`/mixed/svc/providers/${provider('svc', '10.6.0.2', 'side=provider&group=g')}`, '');
    await eventually(() => expect(endpoints('g.svc')).toEqual(['10.6.0.2']));
    await eventually(() => expect(endpoints('svc')).toEqual([]));
    expect(catalog.get('g.svc')?.instances[0]?.source).toBe(`/mixed/svc/providers/${provider('svc', '10.6.0.2', 'side=provider&group=g')}`);
    expect(registry.invalidRegistrations()).toEqual([]);
  });

  it('reports a skipped registration under the mesh name of its service, or under its Dubbo interface node', async () => {
    await writer.mkdirp('/mixed/Cart_API');
    await writer.create('/mixed/Cart_API/broken', '{"address": "10.7.0.1"');
    await writer.mkdirp('/dubbo/org.x.Odd/providers');
    await writer.create(`/dubbo/org.x.Odd/providers/${encodeURIComponent('dubbo://10.7.0.2/org.x.Odd?side=provider')}`, '');
    await eventually(() => expect(registry.invalidRegistrations()).toHaveLength(2));
    expect(registry.invalidRegistrations().map((r) => [r.service, r.path])).toEqual([
      ['org.x.Odd', `/dubbo/org.x.Odd/providers/${encodeURIComponent('dubbo://10.7.0.2/org.x.Odd?side=provider')}`],
      ['cart-api', '/mixed/Cart_API/broken'],
    ]);
    await writer.removeRecursive('/mixed/Cart_API');
    await writer.removeRecursive('/dubbo/org.x.Odd');
  });
});
