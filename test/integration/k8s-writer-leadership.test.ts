// The ServiceEntry writer under its leader election (startKubernetesServiceEntries, as serve wires
// it), against a real ZooKeeper and the fake API server: a leader that loses its ZooKeeper
// connection is a former leader, and sends nothing to the API server until it leads again, whatever
// the catalog or the namespace does meanwhile (another replica may be leading by then).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import { startKubernetesServiceEntries, type KubernetesServiceEntries } from '../../src/istio/kubernetes-service-entries.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { service } from '../support/catalog-fixtures.js';
import { eventually } from '../support/eventually.js';
import { FakeKubeApiServer } from '../support/fake-kube-apiserver.js';
import { ZooKeeperServer } from '../support/zookeeper-server.js';

const NS = 'mesh';

let zk: ZooKeeperServer;
let kube: FakeKubeApiServer;
let entries: KubernetesServiceEntries | undefined;

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  kube = await FakeKubeApiServer.start({ tls: true, token: 'leadership-test-token' });
});
afterAll(async () => {
  await entries?.stop();
  await kube?.stop();
  await zk?.destroy();
});

const writes = () => kube.requests.filter((r) => r.method !== 'GET');
const exists = (name: string): boolean => {
  try {
    kube.store.get(NS, name);
    return true;
  } catch {
    return false;
  }
};

describe('ServiceEntry writes and leadership', () => {
  it('the former leader sends no write while disconnected from ZooKeeper, and catches up once it leads again', async () => {
    const catalog = new CatalogStore();
    catalog.offer([service('orders', 1), service('gone-later', 1)]);
    entries = startKubernetesServiceEntries(
      {
        zk: { connect: zk.connectString, sessionTimeoutMs: 4000 },
        entries: { namespace: NS, exportTo: ['*'], domainSuffix: 'zk.internal' },
        kubeconfig: await kube.writeKubeconfig(NS),
        leaderElectionPath: '/zk-xds/k8s-leadership-test',
        writesPerSecond: 100,
      },
      catalog,
      () => true,
      silentLogger(),
      createMetrics({ defaultMetrics: false }),
    );
    await eventually(() => expect(exists('orders') && exists('gone-later')).toBe(true), 10000);

    await zk.freeze();
    let writesWhileFormer: string[];
    try {
      // The client notices the silent server after about 2/3 of the session timeout.
      await eventually(() => expect(entries!.election.isLeader).toBe(false), 10000);
      const before = writes().length;
      // Everything that would make a leader write: a changed service, a new one, a gone one, and
      // drift in the namespace (an owned object deleted by hand).
      catalog.offer([service('orders', 2), service('payments', 1), service('gone-later', 0)]);
      kube.store.delete(NS, 'orders', {}, 'kubectl');
      await eventually(() => expect(entries!.writer.desiredNames()).toEqual(['orders', 'payments']));
      // Absence can only be watched for a while: a second (the writer's retries start at 200 ms).
      await new Promise((r) => setTimeout(r, 1000));
      writesWhileFormer = writes()
        .slice(before)
        .map((r) => `${r.method} ${r.name}`);
    } finally {
      await zk.thaw();
    }
    expect(writesWhileFormer).toEqual([]);

    await eventually(() => expect(entries!.election.isLeader).toBe(true), 15000);
    await eventually(() => {
      expect(exists('orders')).toBe(true);
      expect(exists('payments')).toBe(true);
      expect(exists('gone-later')).toBe(false);
    }, 10000);
  }, 60000);
});
