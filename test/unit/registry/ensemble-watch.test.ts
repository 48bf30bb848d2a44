// EnsembleWatch on in-memory ZooKeeper sessions (ZkConnection.open hands out FakeZkConnections on
// one FakeZkTree): the first full read, live changes after it, a session expiry (new session, whole
// tree read again, old mirror gone), a root ZooKeeper denies (not applied, retried on a new
// session), and a lost connection on the same session.
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { DEFAULT_NAMING } from '../../../src/catalog/naming.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { EnsembleWatch, type EnsembleHooks } from '../../../src/registry/ensemble-watch.js';
import { ZkConnection } from '../../../src/zookeeper/connection.js';
import { ZK_NOAUTH } from '../../../src/zookeeper/retry.js';
import { eventually } from '../../support/eventually.js';
import { FakeZkConnection, FakeZkTree } from '../../support/fake-zk-connection.js';

const watches: EnsembleWatch[] = [];
afterEach(async () => {
  await Promise.all(watches.splice(0).map((w) => w.stop()));
  jest.restoreAllMocks();
});

/** Every ZkConnection.open gets the next of `sessions` (then fresh ones on the same tree). */
function openSessions(tree: FakeZkTree, sessions: FakeZkConnection[]): FakeZkConnection[] {
  const opened: FakeZkConnection[] = [];
  jest.spyOn(ZkConnection, 'open').mockImplementation(async () => {
    const s = sessions.shift() ?? new FakeZkConnection(tree);
    opened.push(s);
    return s.asConnection();
  });
  return opened;
}

function ensemble() {
  const events: string[] = [];
  const hooks: EnsembleHooks = {
    onSourceChanged: (_e, rootIndex, service) => events.push(`changed ${rootIndex}:${service}`),
    onPolicyChanged: (name) => events.push(`policy ${name}`),
    onResynced: () => events.push('resynced'),
  };
  const watch = new EnsembleWatch(
    { name: 'one', connect: 'fake:2181', roots: [{ path: '/services', layout: 'auto' }] },
    { sessionTimeoutMs: 4000, naming: DEFAULT_NAMING },
    { log: silentLogger(), metrics: createMetrics({ defaultMetrics: false }), hooks },
  );
  watches.push(watch);
  const addresses = (service: string) =>
    watch
      .entries(0, service)
      .flatMap((e) => (e.instance ? [`${e.instance.address}:${e.instance.port}`] : []))
      .sort();
  return { watch, events, addresses };
}

describe('EnsembleWatch', () => {
  it('resolves start after the first full read, then reports live changes of a service node', async () => {
    const tree = new FakeZkTree();
    tree.create('/services/orders/10.0.0.1:8080');
    openSessions(tree, []);
    const { watch, events, addresses } = ensemble();
    await watch.start();
    expect(watch.isInitialSyncDone).toBe(true);
    expect(events).toEqual(['resynced']);
    expect(watch.sources()).toEqual([{ rootIndex: 0, service: 'orders' }]);
    expect(watch.entries(0, 'orders')[0]).toMatchObject({ name: 'orders', instance: null });
    expect(addresses('orders')).toEqual(['10.0.0.1:8080']);

    tree.create('/services/orders/10.0.0.2:8080');
    await eventually(() => expect(addresses('orders')).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']));
    expect(events).toContain('changed 0:orders');
    expect(watch.status()).toMatchObject({ state: 'connected', sessionsOpened: 1, services: 1, invalidRegistrations: 0 });
  });

  it('after a session expiry opens a new session, reads the whole tree again and drops the old mirror', async () => {
    const tree = new FakeZkTree();
    tree.create('/services/orders/10.0.0.1:8080');
    const opened = openSessions(tree, []);
    const { watch, events, addresses } = ensemble();
    await watch.start();
    const first = opened[0]!;

    first.expire();
    // Changed while no session reads the tree: the new session's full read must see it.
    tree.remove('/services/orders/10.0.0.1:8080');
    tree.create('/services/pay/10.0.1.1:9090');
    await eventually(() => expect(events.filter((e) => e === 'resynced')).toHaveLength(2));
    expect(opened).toHaveLength(2);
    expect(watch.connection()).toBe(opened[1]!.asConnection());
    expect(
      watch
        .sources()
        .map((s) => s.service)
        .sort(),
    ).toEqual(['orders', 'pay']);
    expect(addresses('orders')).toEqual([]);
    expect(addresses('pay')).toEqual(['10.0.1.1:9090']);
    expect(watch.status()).toMatchObject({ state: 'connected', sessionsOpened: 2 });
    // The dead session is read no more.
    const readsBefore = first.reads.length;
    tree.create('/services/pay/10.0.1.2:9090');
    await eventually(() => expect(addresses('pay')).toEqual(['10.0.1.1:9090', '10.0.1.2:9090']));
    expect(first.reads.length).toBe(readsBefore);
  });

  it('does not apply a first read in which ZooKeeper denied a root: start waits, the root is reported, a later session completes it', async () => {
    const tree = new FakeZkTree();
    tree.create('/services/orders/10.0.0.1:8080');
    const denied = new FakeZkConnection(tree);
    denied.failReads(1, ZK_NOAUTH);
    openSessions(tree, [denied]);
    const { watch, events, addresses } = ensemble();
    let started = false;
    const starting = watch.start().then(() => (started = true));
    await eventually(() => expect(watch.status().unreadableRoots).toHaveLength(1));
    expect(watch.status().unreadableRoots[0]).toMatchObject({ path: '/services', kind: 'services', reason: expect.stringContaining('NoAuth') });
    expect(started).toBe(false);
    expect(events).toEqual([]);
    expect(denied.isDead).toBe(true);
    // The retry (after a backoff) opens a new session, which may read.
    await starting;
    expect(watch.status()).toMatchObject({ initialSyncDone: true, unreadableRoots: [], sessionsOpened: 2 });
    expect(addresses('orders')).toEqual(['10.0.0.1:8080']);
  });

  it('keeps its mirror through a lost connection on the same session, and says so in its status', async () => {
    const tree = new FakeZkTree();
    tree.create('/services/orders/10.0.0.1:8080');
    const opened = openSessions(tree, []);
    const { watch, addresses } = ensemble();
    await watch.start();
    opened[0]!.emit('disconnected');
    expect(watch.status()).toMatchObject({ state: 'disconnected', disconnectedSince: expect.any(String) });
    expect(addresses('orders')).toEqual(['10.0.0.1:8080']);
    opened[0]!.emit('connected');
    expect(watch.status()).toMatchObject({ state: 'connected', disconnectedSince: null, sessionsOpened: 1 });
  });
});
