// A configured root ZooKeeper refuses to list (NoAuth) after the first read: the new session's
// read is incomplete, so it is not applied. The last complete read stays in the catalog (nothing
// is offered), the registry reports the root as unreadable and the catalog as stale, and once the
// ACL allows reading again a retry on a new session reads the tree and clears both.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import ZooKeeper from 'zookeeper';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import type { Service } from '../../src/catalog/model.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { ZkRegistry } from '../../src/registry/zk-registry.js';
import { registryReadiness } from '../../src/admin/readiness.js';
import { ZooKeeperServer } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { expireRegistrySession } from '../support/expire-registry-session.js';
import { eventually } from '../support/eventually.js';

const PERMS = ZooKeeper.constants as unknown as Record<'ZOO_PERM_ALL' | 'ZOO_PERM_READ', number>;
const ROOT = '/refused';

let zk: ZooKeeperServer;
let writer: ZkTestClient;

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  writer = await ZkTestClient.connect(zk.connectString);
  await writer.mkdirp(`${ROOT}/keep`);
  await writer.create(`${ROOT}/keep/a`, JSON.stringify({ address: '10.6.0.1', port: 80 }));
}, 30_000);
afterAll(async () => {
  await writer?.close();
  await zk?.destroy();
});

describe('a root refused on a later session', () => {
  it('keeps the last complete read, reports the root and the staleness, and recovers when readable again', async () => {
    const catalog = new CatalogStore();
    const offered: Service[][] = [];
    catalog.onChange((change) => offered.push([...change.upserts]));
    const registry = new ZkRegistry(
      { connect: zk.connectString, root: ROOT, policyRoot: '/refused-policy', sessionTimeoutMs: 4000, debounceMs: 5, maxDelayMs: 50 },
      { log: silentLogger(), metrics: createMetrics({ defaultMetrics: false }), onServices: (services, at) => catalog.offer(services, at) },
    );
    try {
      await registry.start();
      expect(catalog.get('keep')?.instances.map((i) => i.address)).toEqual(['10.6.0.1']);
      const offeredBefore = offered.length;

      await writer.setWorldPerms(ROOT, PERMS.ZOO_PERM_ALL & ~PERMS.ZOO_PERM_READ);
      expireRegistrySession(registry);
      await eventually(() => expect(registry.status().ensembles[0]!.unreadableRoots.map((r) => r.path)).toEqual([ROOT]), 15_000);
      const status = registry.status();
      expect(status.initialSyncDone).toBe(true);
      expect(status.staleSeconds).toBeGreaterThan(0);
      expect(registryReadiness(status)).toMatchObject({ ready: false, notReady: [{ ensemble: 'default', root: ROOT }] });
      // Nothing of the refused read reached the catalog.
      expect(offered.length).toBe(offeredBefore);
      expect(catalog.get('keep')?.instances.map((i) => i.address)).toEqual(['10.6.0.1']);

      await writer.setWorldPerms(ROOT, PERMS.ZOO_PERM_ALL);
      await eventually(() => expect(registryReadiness(registry.status())).toEqual({ ready: true, notReady: [], catalogStaleSeconds: 0 }), 20_000);
      expect(offered.length).toBe(offeredBefore);
      expect(catalog.get('keep')?.instances.map((i) => i.address)).toEqual(['10.6.0.1']);
    } finally {
      await registry.stop();
    }
  }, 60_000);
});
