// The ZooKeeper registry against a real ZooKeeper server: initial read, live changes, nodes that
// come and go at every level, bad payloads, a server outage and a session expiry.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import type { Service } from '../../src/catalog/model.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { ZkRegistry } from '../../src/registry/zk-registry.js';
import { ZooKeeperServer } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { expireRegistrySession } from '../support/expire-registry-session.js';
import { eventually } from '../support/eventually.js';

let zk: ZooKeeperServer;
let writer: ZkTestClient;
let root: string;
let rootCounter = 0;

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  writer = await ZkTestClient.connect(zk.connectString);
});
afterAll(async () => {
  await writer?.close();
  await zk?.destroy();
});

interface Running {
  registry: ZkRegistry;
  catalog: CatalogStore;
  metrics: Metrics;
  offered: Service[][];
  /** Per catalog change: when its batch's first change was seen, and when it reached the catalog. */
  offeredAt: Array<{ firstSeenAt: number; at: number }>;
}

async function startRegistry(opts: { sessionTimeoutMs?: number; debounceMs?: number; maxDelayMs?: number } = {}): Promise<Running> {
  const catalog = new CatalogStore();
  const metrics = createMetrics({ defaultMetrics: false });
  const offered: Service[][] = [];
  const offeredAt: Running['offeredAt'] = [];
  catalog.onChange((change, firstSeenAt) => {
    offered.push([...change.upserts]);
    offeredAt.push({ firstSeenAt, at: performance.now() });
  });
  const registry = new ZkRegistry(
    {
      connect: zk.connectString,
      root,
      policyRoot: `${root}-policy`,
      sessionTimeoutMs: opts.sessionTimeoutMs ?? 4000,
      debounceMs: opts.debounceMs ?? 5,
      maxDelayMs: opts.maxDelayMs ?? 50,
    },
    { log: silentLogger(), metrics, onServices: (services, at) => catalog.offer(services, at) },
  );
  await registry.start();
  return { registry, catalog, metrics, offered, offeredAt };
}

function endpoints(catalog: CatalogStore, name: string): string[] {
  return (catalog.get(name)?.instances ?? []).map((i) => `${i.address}:${i.port}${i.healthy ? '' : ' (down)'}`).sort();
}

const json = (address: string, port: number, extra: object = {}) => JSON.stringify({ address, port, ...extra });

describe('ZkRegistry with a real ZooKeeper', () => {
  let r: Running | undefined;

  beforeEach(() => {
    root = `/services-${++rootCounter}`;
  });
  afterEach(async () => {
    await r?.registry.stop();
    r = undefined;
  });

  it('reads every registration format present at start and skips the invalid ones', async () => {
    await writer.mkdirp(`${root}/orders`);
    await writer.create(`${root}/orders/10.0.0.1:8080`, '');
    await writer.create(`${root}/orders/n2`, json('10.0.0.2', 8080, { weight: 3 }));
    await writer.create(
      `${root}/orders/f3a1`,
      JSON.stringify({
        name: 'orders',
        id: 'x-9',
        address: '10.0.0.3',
        port: 8080,
        sslPort: null,
        payload: { '@class': 'org.springframework.cloud.zookeeper.discovery.ZookeeperInstance', metadata: { instance_status: 'OUT_OF_SERVICE' } },
        registrationTimeUTC: 1,
        serviceType: 'DYNAMIC',
      }),
    );
    await writer.create(`${root}/orders/bad`, '{"address": "10.0.0.4", "port": 70000}');
    await writer.create(`${root}/orders/huge`, Buffer.alloc(900 * 1024, 'x'));
    await writer.create(`${root}/orders/hostname`, json('orders.example.com', 80));
    await writer.mkdirp(`${root}/empty`);
    r = await startRegistry();
    expect(endpoints(r.catalog, 'orders')).toEqual(['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080 (down)']);
    expect(r.catalog.get('empty')?.instances).toEqual([]);
    expect(r.registry.status()).toMatchObject({ initialSyncDone: true, state: 'connected', invalidRegistrations: 3 });
    const invalid = await r.metrics.invalidRegistrations.get();
    expect(invalid.values.find((v) => v.labels.service === 'orders')?.value).toBe(3);
  });

  it('follows instances being added, changed and removed', async () => {
    await writer.mkdirp(`${root}/pay`);
    r = await startRegistry();
    await writer.create(`${root}/pay/a`, json('10.1.0.1', 80));
    await eventually(() => expect(endpoints(r!.catalog, 'pay')).toEqual(['10.1.0.1:80']));
    await writer.set(`${root}/pay/a`, json('10.1.0.1', 81));
    await eventually(() => expect(endpoints(r!.catalog, 'pay')).toEqual(['10.1.0.1:81']));
    await writer.set(`${root}/pay/a`, json('10.1.0.1', 81, { enabled: false }));
    await eventually(() => expect(endpoints(r!.catalog, 'pay')).toEqual(['10.1.0.1:81 (down)']));
    await writer.remove(`${root}/pay/a`);
    await eventually(() => expect(endpoints(r!.catalog, 'pay')).toEqual([]));
  });

  it('keeps an instance whose data turns invalid out, and the others in', async () => {
    await writer.mkdirp(`${root}/cart`);
    await writer.create(`${root}/cart/a`, json('10.2.0.1', 80));
    await writer.create(`${root}/cart/b`, json('10.2.0.2', 80));
    r = await startRegistry();
    await writer.set(`${root}/cart/b`, '{"address": "10.2.0.2", "po');
    await eventually(() => expect(endpoints(r!.catalog, 'cart')).toEqual(['10.2.0.1:80']));
    await writer.set(`${root}/cart/b`, json('10.2.0.2', 80));
    await eventually(() => expect(endpoints(r!.catalog, 'cart')).toEqual(['10.2.0.1:80', '10.2.0.2:80']));
  });

  it('copes with the root, services and instances appearing and vanishing', async () => {
    r = await startRegistry();
    expect(r.registry.status().initialSyncDone).toBe(true);
    await writer.mkdirp(`${root}/late`);
    await writer.create(`${root}/late/a`, json('10.3.0.1', 80));
    await eventually(() => expect(endpoints(r!.catalog, 'late')).toEqual(['10.3.0.1:80']));
    // Curator removes the service node once its last instance is gone.
    await writer.removeRecursive(`${root}/late`);
    await eventually(() => expect(endpoints(r!.catalog, 'late')).toEqual([]));
    expect(r.catalog.get('late')).toBeDefined();
    await writer.mkdirp(`${root}/late`);
    await writer.create(`${root}/late/b`, json('10.3.0.2', 80));
    await eventually(() => expect(endpoints(r!.catalog, 'late')).toEqual(['10.3.0.2:80']));
    // An instance deleted and re-created at once is still seen.
    await writer.remove(`${root}/late/b`);
    await writer.create(`${root}/late/b`, json('10.3.0.3', 80));
    await eventually(() => expect(endpoints(r!.catalog, 'late')).toEqual(['10.3.0.3:80']));
    await writer.removeRecursive(root);
    await eventually(() => expect(endpoints(r!.catalog, 'late')).toEqual([]));
    await writer.mkdirp(`${root}/late`);
    await writer.create(`${root}/late/c`, json('10.3.0.4', 80));
    await eventually(() => expect(endpoints(r!.catalog, 'late')).toEqual(['10.3.0.4:80']));
  });

  it('coalesces a burst of changes: each batch waits out the debounce after its first change, and fewer batches than changes reach the catalog', async () => {
    await writer.mkdirp(`${root}/burst`);
    const debounceMs = 200;
    r = await startRegistry({ debounceMs, maxDelayMs: 5000 });
    const before = (await r.metrics.catalogBatches.get()).values[0]?.value ?? 0;
    const firstChange = r.offeredAt.length;
    await Promise.all(Array.from({ length: 200 }, (_, i) => writer.create(`${root}/burst/i${i}`, json(`10.4.${i >> 8}.${i & 255}`, 80))));
    await eventually(() => expect(endpoints(r!.catalog, 'burst')).toHaveLength(200));
    const batches = ((await r.metrics.catalogBatches.get()).values[0]?.value ?? 0) - before;
    const burst = r.offeredAt.slice(firstChange);
    // Order, not speed: no batch leaves before the debounce since its first change has passed.
    // (Timer granularity: Node may fire a timer up to 1 ms early.)
    for (const b of burst) expect(b.at - b.firstSeenAt).toBeGreaterThanOrEqual(debounceMs - 1);
    expect(batches).toBeLessThan(200);
  });

  it('reads a service whose listing arrives in many socket reads without losing its session', async () => {
    // ~2.4 MB of child names: the C client receives it in many partial reads, which the binding
    // treats as a dead socket (and reports as session expiry) unless its limit is raised.
    await writer.mkdirp(`${root}/wide`);
    const pad = 'x'.repeat(100);
    const names = Array.from({ length: 22000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.1:8080-${pad}`);
    for (let k = 0; k < names.length; k += 1000) await Promise.all(names.slice(k, k + 1000).map((n) => writer.create(`${root}/wide/${n}`, '')));
    r = await startRegistry();
    expect(r.registry.status()).toMatchObject({ sessionsOpened: 1, state: 'connected' });
    expect(r.registry.status().invalidRegistrations).toBe(22000);
    expect((await r.metrics.zkSessionExpirations.get()).values[0]?.value ?? 0).toBe(0);
  }, 60000);

  it('keeps serving the last known instances while ZooKeeper is down, and resumes after', async () => {
    await writer.mkdirp(`${root}/stay`);
    await writer.create(`${root}/stay/a`, json('10.5.0.1', 80));
    r = await startRegistry({ sessionTimeoutMs: 10000 });
    const offersBefore = r.offered.length;
    await zk.stop();
    await eventually(() => expect(r!.registry.status().state).toBe('disconnected'), 10000);
    expect(endpoints(r.catalog, 'stay')).toEqual(['10.5.0.1:80']);
    expect(r.offered.length).toBe(offersBefore);
    await zk.restart();
    await eventually(() => expect(r!.registry.status().state).toBe('connected'), 15000);
    await writer.create(`${root}/stay/b`, json('10.5.0.2', 80));
    await eventually(() => expect(endpoints(r!.catalog, 'stay')).toEqual(['10.5.0.1:80', '10.5.0.2:80']), 10000);
  }, 60000);

  it('after a session expiry reads the tree again and passes on only what changed', async () => {
    await writer.mkdirp(`${root}/keep`);
    await writer.mkdirp(`${root}/moved`);
    await writer.create(`${root}/keep/a`, json('10.6.0.1', 80));
    await writer.create(`${root}/moved/a`, json('10.6.1.1', 80));
    r = await startRegistry();
    // Change the tree while the registry's session is being expired, so only the re-read can see it.
    const offersBefore = r.offered.length;
    expireRegistrySession(r.registry, [
      { op: 'delete', path: `${root}/moved/a` },
      { op: 'create', path: `${root}/moved/b`, data: json('10.6.1.2', 80) },
    ]);
    await eventually(() => expect(endpoints(r!.catalog, 'moved')).toEqual(['10.6.1.2:80']), 15000);
    expect(endpoints(r.catalog, 'keep')).toEqual(['10.6.0.1:80']);
    expect(r.registry.status().sessionsOpened).toBe(2);
    const offeredAfter = r.offered
      .slice(offersBefore)
      .flat()
      .map((s) => s.name);
    expect(offeredAfter).toEqual(['moved']);
    const expirations = await r.metrics.zkSessionExpirations.get();
    expect(expirations.values[0]?.value).toBe(1);
  }, 30000);
});
