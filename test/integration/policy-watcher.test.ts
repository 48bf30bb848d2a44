// PolicyWatcher against a real ZooKeeper server: policies present at start, a root created late or
// deleted, valid and invalid writes, deletions, and a hand-over to a new session's watcher.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import { EMPTY_POLICY, type ServicePolicy } from '../../src/catalog/policy.js';
import { PolicyWatcher, type PolicyError, type PolicyWatcherHooks } from '../../src/registry/policy-watcher.js';
import { ZkConnection } from '../../src/zookeeper/connection.js';
import { eventually } from '../support/eventually.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { ZooKeeperServer } from '../support/zookeeper-server.js';

let zk: ZooKeeperServer;
let writer: ZkTestClient;
let rootCounter = 0;

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  writer = await ZkTestClient.connect(zk.connectString);
});
afterAll(async () => {
  await writer?.close();
  await zk?.destroy();
});

/** Records every hook call, and lets a test wait for the next change of one service. */
class RecordingHooks implements PolicyWatcherHooks {
  readonly changed: string[] = [];
  readonly invalid: PolicyError[] = [];
  readonly readErrors: string[] = [];
  private readonly changeWaiters: Array<{ service: string; resolve: (at: number) => void }> = [];

  onPolicyChanged(service: string): void {
    this.changed.push(service);
    const at = performance.now();
    for (const waiter of this.changeWaiters.filter((w) => w.service === service)) {
      this.changeWaiters.splice(this.changeWaiters.indexOf(waiter), 1);
      waiter.resolve(at);
    }
  }
  onInvalid(err: PolicyError): void {
    this.invalid.push(err);
  }
  onReadError(err: Error, path: string): void {
    this.readErrors.push(`${path}: ${err.message}`);
  }

  /** Resolves with performance.now() at the next onPolicyChanged(service); fails after `timeoutMs`. */
  nextChange(service: string, timeoutMs = 5000): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no onPolicyChanged('${service}') within ${timeoutMs} ms`)), timeoutMs);
      this.changeWaiters.push({
        service,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      });
    });
  }
}

const ORDERS: ServicePolicy = { protocol: 'http', connectTimeoutMs: 2000, retries: { attempts: 3, retryOn: ['5xx', 'reset'] } };
const ORDERS_V2: ServicePolicy = { ...ORDERS, connectTimeoutMs: 500 };
const PAYMENTS: ServicePolicy = { protocol: 'grpc', tls: { sni: 'payments.internal.example.com' } };
const CANARY: ServicePolicy = {
  trafficSplit: {
    label: 'version',
    subsets: [
      { value: 'v1', weight: 90 },
      { value: 'v2', weight: 10 },
    ],
  },
};

const text = (policy: ServicePolicy): string => JSON.stringify(policy);

describe('PolicyWatcher with a real ZooKeeper', () => {
  let root: string;
  const connections: ZkConnection[] = [];
  const watchers: PolicyWatcher[] = [];

  async function startWatcher(previous?: PolicyWatcher): Promise<{ watcher: PolicyWatcher; hooks: RecordingHooks; conn: ZkConnection }> {
    const conn = await ZkConnection.open({ connect: zk.connectString, sessionTimeoutMs: 4000 }, 10000);
    connections.push(conn);
    const hooks = new RecordingHooks();
    const watcher = new PolicyWatcher(conn, root, hooks, previous);
    watchers.push(watcher);
    await watcher.start();
    return { watcher, hooks, conn };
  }

  beforeEach(() => {
    root = `/zk-xds-${++rootCounter}/policy`;
  });
  afterEach(() => {
    for (const w of watchers.splice(0)) w.stop();
    for (const c of connections.splice(0)) c.close();
  });

  it('reads the policies present at start, keeping invalid ones out of force', async () => {
    await writer.mkdirp(root);
    await writer.create(`${root}/orders`, text(ORDERS));
    await writer.create(`${root}/payments`, '{"protocol": "grpc", "conectTimeoutMs": 100}');
    await writer.create(`${root}/inventory`, '');

    const { watcher, hooks } = await startWatcher();

    expect(watcher.services()).toEqual(['inventory', 'orders', 'payments']);
    expect(watcher.policyOf('orders')).toEqual(ORDERS);
    expect(watcher.policyOf('inventory')).toBe(EMPTY_POLICY);
    expect(watcher.policyOf('payments')).toBe(EMPTY_POLICY);
    expect(watcher.policyOf('no-such-service')).toBe(EMPTY_POLICY);
    expect(watcher.errors()).toEqual([
      { service: 'payments', path: `${root}/payments`, errors: [expect.objectContaining({ field: '/conectTimeoutMs' })], at: expect.any(String) },
    ]);
    expect(hooks.changed).toEqual(['orders']);
    expect(hooks.invalid.map((e) => e.service)).toEqual(['payments']);
    expect(hooks.readErrors).toEqual([]);
  });

  it('waits for a root created later, and for policies added to it', async () => {
    const { watcher, hooks } = await startWatcher();
    expect(watcher.services()).toEqual([]);

    await writer.mkdirp(root);
    await writer.create(`${root}/orders`, text(ORDERS));
    await eventually(() => expect(watcher.policyOf('orders')).toEqual(ORDERS));

    await writer.create(`${root}/payments`, text(PAYMENTS));
    await eventually(() => expect(watcher.policyOf('payments')).toEqual(PAYMENTS));
    expect(watcher.services()).toEqual(['orders', 'payments']);
    expect(hooks.changed).toEqual(['orders', 'payments']);
  });

  it('picks up a valid change', async () => {
    await writer.mkdirp(root);
    await writer.create(`${root}/orders`, text(ORDERS));
    const { watcher, hooks } = await startWatcher();

    const seen = hooks.nextChange('orders', 15_000);
    const writtenAt = performance.now();
    await writer.set(`${root}/orders`, text(ORDERS_V2));

    expect(await seen).toBeGreaterThanOrEqual(writtenAt);
    expect(watcher.policyOf('orders')).toEqual(ORDERS_V2);
  });

  it('keeps the previous policy on an invalid change, and clears the error once fixed', async () => {
    await writer.mkdirp(root);
    await writer.create(`${root}/orders`, text(ORDERS));
    const { watcher, hooks } = await startWatcher();
    hooks.changed.length = 0;

    await writer.set(`${root}/orders`, JSON.stringify({ ...ORDERS, retries: { attempts: 11 } }));
    await eventually(() => expect(hooks.invalid).toHaveLength(1));
    expect(hooks.invalid[0]).toMatchObject({ service: 'orders', path: `${root}/orders`, errors: [{ field: '/retries/attempts' }] });
    expect(watcher.errors()).toEqual(hooks.invalid);
    expect(watcher.policyOf('orders')).toEqual(ORDERS);
    expect(hooks.changed).toEqual([]);

    const fixed = hooks.nextChange('orders');
    await writer.set(`${root}/orders`, text(ORDERS_V2));
    await fixed;
    expect(watcher.policyOf('orders')).toEqual(ORDERS_V2);
    expect(watcher.errors()).toEqual([]);
  });

  it('falls back to EMPTY_POLICY when the policy node is deleted, and follows a re-created one', async () => {
    await writer.mkdirp(root);
    await writer.create(`${root}/orders`, text(ORDERS));
    await writer.create(`${root}/payments`, text(PAYMENTS));
    const { watcher, hooks } = await startWatcher();

    const deleted = hooks.nextChange('orders');
    await writer.remove(`${root}/orders`);
    await deleted;
    expect(watcher.policyOf('orders')).toBe(EMPTY_POLICY);
    await eventually(() => expect(watcher.services()).toEqual(['payments']));

    // Deleted and re-created back to back: whichever listing or watch sees it, the new data wins.
    await writer.remove(`${root}/payments`);
    await writer.create(`${root}/payments`, text(CANARY));
    await eventually(() => expect(watcher.policyOf('payments')).toEqual(CANARY));
    expect(watcher.services()).toEqual(['payments']);
  });

  it('clears a deleted invalid policy from errors()', async () => {
    await writer.mkdirp(root);
    await writer.create(`${root}/orders`, '{"port": 0}');
    const { watcher } = await startWatcher();
    expect(watcher.errors().map((e) => e.service)).toEqual(['orders']);

    await writer.remove(`${root}/orders`);
    await eventually(() => expect(watcher.errors()).toEqual([]));
    expect(watcher.services()).toEqual([]);
  });

  it('drops the policies of a vanished root and reads the children of a re-created one', async () => {
    await writer.mkdirp(root);
    await writer.create(`${root}/orders`, text(ORDERS));
    await writer.create(`${root}/payments`, '{"port": 70000}');
    const { watcher, hooks } = await startWatcher();
    hooks.changed.length = 0;

    await writer.removeRecursive(root);
    await eventually(() => expect(watcher.services()).toEqual([]));
    expect(watcher.policyOf('orders')).toBe(EMPTY_POLICY);
    expect(watcher.errors()).toEqual([]);
    expect(hooks.changed).toEqual(['orders']); // payments never had a policy in force

    await writer.mkdirp(root);
    await writer.create(`${root}/shipping`, text(CANARY));
    await writer.create(`${root}/orders`, text(ORDERS_V2));
    await eventually(() => {
      expect(watcher.policyOf('shipping')).toEqual(CANARY);
      expect(watcher.policyOf('orders')).toEqual(ORDERS_V2);
    });
    expect(watcher.services()).toEqual(['orders', 'shipping']);
    expect(hooks.readErrors).toEqual([]);
  });

  it('hands its policies to the watcher of the next session, which reports only real changes', async () => {
    await writer.mkdirp(root);
    await writer.create(`${root}/orders`, text(ORDERS));
    await writer.create(`${root}/payments`, text(PAYMENTS));
    await writer.create(`${root}/inventory`, '{"port": -1}');
    const first = await startWatcher();

    // The session ends (as on expiry); meanwhile operators change things.
    first.conn.close();
    first.watcher.stop();
    await writer.set(`${root}/orders`, text(ORDERS_V2));
    await writer.remove(`${root}/payments`);

    const conn = await ZkConnection.open({ connect: zk.connectString, sessionTimeoutMs: 4000 }, 10000);
    connections.push(conn);
    const hooks = new RecordingHooks();
    const second = new PolicyWatcher(conn, root, hooks, first.watcher);
    watchers.push(second);
    // In force before the first read, so a session change never drops policies even briefly.
    expect(second.policyOf('payments')).toEqual(PAYMENTS);
    await second.start();

    expect(second.policyOf('orders')).toEqual(ORDERS_V2);
    expect(second.policyOf('payments')).toBe(EMPTY_POLICY);
    expect(second.errors().map((e) => e.service)).toEqual(['inventory']);
    expect(hooks.changed.sort()).toEqual(['orders', 'payments']);
    expect(hooks.invalid).toEqual([]); // inventory's data did not change: no new report

    const seen = hooks.nextChange('inventory');
    await writer.set(`${root}/inventory`, '{"port": 9090}');
    await seen;
    expect(second.policyOf('inventory')).toEqual({ port: 9090 });
  });
});
