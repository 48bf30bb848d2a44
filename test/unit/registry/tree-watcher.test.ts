// TreeWatcher against an in-memory ZooKeeper (test/support/fake-zk-connection.ts): what it
// mirrors of each layout, what it never reads, how it follows changes, retries failed reads, and
// the races a real server makes rare: a znode deleted and re-created between a listing and its
// data read, and churn that must not pile up watches.
import { describe, expect, it } from '@jest/globals';
import { TreeWatcher, type TreeLayout } from '../../../src/registry/tree-watcher.js';
import { eventually } from '../../support/eventually.js';
import { FakeZkConnection } from '../../support/fake-zk-connection.js';

function watch(zk: FakeZkConnection, root: string, layout: TreeLayout = 'flat') {
  const parsed: string[] = [];
  const changed: string[] = [];
  const errors: string[] = [];
  const watcher = new TreeWatcher<string>(
    zk.asConnection(),
    root,
    {
      parse: (service, child, data, dubbo) => {
        parsed.push(`${service}/${child}`);
        return `${dubbo ? 'dubbo ' : ''}${data.toString()}`;
      },
      onServiceChanged: (s) => changed.push(s),
      onReadError: (err, path) => errors.push(`${path}: ${err.message}`),
      onWatchEvent: () => undefined,
    },
    layout,
  );
  const mirror = (service: string) => Object.fromEntries([...watcher.instancesOf(service)].map(([k, v]) => [k, v.parsed]));
  return { watcher, parsed, changed, errors, mirror };
}

describe('TreeWatcher (flat layout)', () => {
  it('mirrors the tree, then follows instances added, changed and removed, parsing each new value once', async () => {
    const zk = new FakeZkConnection();
    zk.create('/services/orders/a', 'A1');
    zk.create('/services/pay/b', 'B1');
    const t = watch(zk, '/services');
    await t.watcher.start();
    expect(t.watcher.serviceNames().sort()).toEqual(['orders', 'pay']);
    expect(t.mirror('orders')).toEqual({ a: 'A1' });

    zk.create('/services/orders/c', 'C1');
    await eventually(() => expect(t.mirror('orders')).toEqual({ a: 'A1', c: 'C1' }));
    zk.set('/services/orders/a', 'A2');
    await eventually(() => expect(t.mirror('orders')).toEqual({ a: 'A2', c: 'C1' }));
    const parsedBefore = t.parsed.length;
    zk.set('/services/orders/a', 'A2'); // same bytes: nothing new to parse or announce
    zk.remove('/services/orders/c');
    await eventually(() => expect(t.mirror('orders')).toEqual({ a: 'A2' }));
    expect(t.parsed.slice(parsedBefore)).toEqual([]);
    expect(t.parsed.filter((p) => p === 'orders/a')).toHaveLength(2);
    expect(t.errors).toEqual([]);
  });

  it('empties and drops a service whose node is deleted, and reads a root created after the start', async () => {
    const zk = new FakeZkConnection();
    const t = watch(zk, '/late');
    await t.watcher.start();
    expect(t.watcher.serviceNames()).toEqual([]);
    zk.create('/late/orders/a', 'A');
    await eventually(() => expect(t.mirror('orders')).toEqual({ a: 'A' }));
    // Curator deletes a service's node once its last instance is gone.
    zk.remove('/late/orders');
    await eventually(() => expect(t.watcher.hasService('orders')).toBe(false));
    expect(t.mirror('orders')).toEqual({});
    expect(t.changed.filter((s) => s === 'orders').length).toBeGreaterThanOrEqual(2);
  });

  it('retries a read that failed, reporting the error, and mirrors the tree once it succeeds', async () => {
    const zk = new FakeZkConnection();
    zk.create('/services/orders/a', 'A');
    zk.failReads(1, -4);
    const t = watch(zk, '/services');
    const started = t.watcher.start();
    // The retry waits for the connection to come back (or half a second).
    await eventually(() => expect(t.errors).toHaveLength(1));
    zk.emit('connected');
    await started;
    expect(t.errors).toEqual(['/services: getChildren /services: injected failure (-4)']);
    expect(t.mirror('orders')).toEqual({ a: 'A' });
  });
});

describe('TreeWatcher (Dubbo 2 layouts)', () => {
  const url = (host: string, side = 'provider') => encodeURIComponent(`dubbo://${host}:20880/org.x.Greeter?side=${side}`);

  it('under a dubbo root reads providers only: never consumers, routers, configurators or Dubbo bookkeeping trees', async () => {
    const zk = new FakeZkConnection();
    zk.create(`/dubbo/org.x.Greeter/providers/${url('10.0.0.1')}`, '');
    zk.create(`/dubbo/org.x.Greeter/consumers/${url('10.0.0.9', 'consumer')}`, '');
    zk.create('/dubbo/org.x.Greeter/routers/r', '');
    zk.create('/dubbo/org.x.Greeter/configurators/c', '');
    zk.create('/dubbo/config/dubbo/dubbo.properties', 'x');
    zk.create('/dubbo/metadata/org.x.Greeter/provider', '');
    const t = watch(zk, '/dubbo', 'dubbo');
    await t.watcher.start();
    expect(t.watcher.serviceNames()).toEqual(['org.x.Greeter']);
    expect(t.watcher.isDubbo('org.x.Greeter')).toBe(true);
    expect(Object.keys(t.mirror('org.x.Greeter'))).toEqual([url('10.0.0.1')]);
    expect(zk.reads.filter((r) => /consumers|routers|configurators|config|metadata/.test(r))).toEqual([]);
  });

  it('under an auto root, reads a service as flat until a Dubbo category appears, then only its providers', async () => {
    const zk = new FakeZkConnection();
    zk.create('/mixed/svc/10.0.0.1:8080', 'flat');
    const t = watch(zk, '/mixed', 'auto');
    await t.watcher.start();
    expect(t.mirror('svc')).toEqual({ '10.0.0.1:8080': 'flat' });
    zk.create(`/mixed/svc/providers/${url('10.0.0.2')}`, '');
    await eventually(() => expect(t.mirror('svc')).toEqual({ [url('10.0.0.2')]: 'dubbo ' }));
    expect(t.watcher.instancesPath('svc')).toBe('/mixed/svc/providers');
  });
});

describe('TreeWatcher races', () => {
  it('mirrors an instance deleted and re-created between the listing and its data read with its new data', async () => {
    const zk = new FakeZkConnection();
    zk.create('/services/orders/a', 'old');
    const t = watch(zk, '/services');
    await t.watcher.start();
    const release = zk.holdReads();
    zk.create('/services/orders/b', 'first');
    // The listing that names b, and b's data read, wait; meanwhile b goes and comes back.
    await eventually(() => expect(zk.reads.filter((r) => r === 'getChildren /services/orders')).toHaveLength(2));
    release();
    const releaseData = zk.holdReads();
    await eventually(() => expect(zk.reads.filter((r) => r === 'getData /services/orders/b')).toHaveLength(1));
    zk.remove('/services/orders/b');
    zk.create('/services/orders/b', 'second');
    releaseData();
    await eventually(() => expect(t.mirror('orders')).toEqual({ a: 'old', b: 'second' }));
    await eventually(() => expect(zk.armedWatches('data', '/services/orders/b')).toBe(1));
  });

  it('keeps one data watch per instance znode through delete-and-recreate churn', async () => {
    const zk = new FakeZkConnection();
    zk.create('/services/orders/a', 'v0');
    const t = watch(zk, '/services');
    await t.watcher.start();
    for (let round = 1; round <= 20; round++) {
      zk.remove('/services/orders/a');
      zk.create('/services/orders/a', `v${round}`);
      if (round % 3 === 0) zk.set('/services/orders/a', `v${round}b`);
      await eventually(() => expect(t.mirror('orders')).toEqual({ a: round % 3 === 0 ? `v${round}b` : `v${round}` }));
    }
    await eventually(() => expect(zk.armedWatches('data', '/services/orders/a')).toBe(1));
    expect(zk.armedWatches('child', '/services/orders')).toBe(1);
    expect(zk.armedWatches('child', '/services')).toBe(1);
  });
});
