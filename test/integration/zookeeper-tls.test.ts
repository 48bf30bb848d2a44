// ZooKeeper over TLS (issue 12): a real ZooKeeper serves its secure client port with client
// authentication required (Netty, PKCS12 stores made with openssl and keytool); zk-xds reads it
// with the per-ensemble `tls` of the sources file, through the patched binding's
// zookeeper_init_ssl (patches/). A client certificate from another CA, plaintext against the TLS
// port and an unreadable file all fail, with a message that says so.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { validateSources } from '../../src/registry/sources-config.js';
import { ZkConnection } from '../../src/zookeeper/connection.js';
import { ZkRegistry } from '../../src/registry/zk-registry.js';
import { eventually } from '../support/eventually.js';
import { zkTlsSetup, type ZkTlsSetup } from '../support/zk-tls.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { ZooKeeperServer } from '../support/zookeeper-server.js';

let tls: ZkTlsSetup;
let zk: ZooKeeperServer;
let writer: ZkTestClient;

beforeAll(async () => {
  tls = await zkTlsSetup();
  zk = await ZooKeeperServer.start(tls.serverOptions);
  // Registrars use the plain port; zk-xds the secure one.
  writer = await ZkTestClient.connect(zk.connectString);
}, 60_000);
afterAll(async () => {
  await writer?.close();
  await zk?.destroy();
  tls?.remove();
});

const secure = () => `127.0.0.1:${tls.securePort}`;

describe('ZooKeeper over TLS with client authentication (real ZooKeeper)', () => {
  it('reads the registry over TLS with a client certificate from the trusted CA, and follows changes', async () => {
    await writer.mkdirp('/services/orders');
    await writer.create('/services/orders/a', JSON.stringify({ address: '10.0.0.1', port: 8080 }));
    const catalog = new CatalogStore();
    const sources = validateSources({ ensembles: [{ name: 'secure', connect: secure(), tls: tls.client, roots: [{ path: '/services' }] }] }, 'test');
    const registry = new ZkRegistry(
      { sources, policyRoot: '/zk-xds/policy', sessionTimeoutMs: 4000, debounceMs: 5, maxDelayMs: 50 },
      { log: silentLogger(), metrics: createMetrics({ defaultMetrics: false }), onServices: (services, at) => catalog.offer(services, at) },
    );
    try {
      await registry.start();
      expect(registry.connection()?.options.connect).toBe(secure());
      expect(catalog.get('orders')?.instances.map((i) => `${i.address}:${i.port}`)).toEqual(['10.0.0.1:8080']);
      await writer.create('/services/orders/b', JSON.stringify({ address: '10.0.0.2', port: 8080 }));
      await eventually(() =>
        expect(
          catalog
            .get('orders')
            ?.instances.map((i) => i.address)
            .sort(),
        ).toEqual(['10.0.0.1', '10.0.0.2']),
      );
    } finally {
      await registry.stop();
    }
  }, 60_000);

  it('gets no session with a client certificate from another CA', async () => {
    await expect(ZkConnection.open({ connect: secure(), sessionTimeoutMs: 4000, tls: tls.intruder }, 4000)).rejects.toThrow(
      /no ZooKeeper server answered within 4000 ms over TLS/,
    );
  }, 30_000);

  it('gets no session in plaintext against the TLS port', async () => {
    await expect(ZkConnection.open({ connect: secure(), sessionTimeoutMs: 4000 }, 4000)).rejects.toThrow(/no ZooKeeper server answered/);
  }, 30_000);

  it('names an unreadable TLS file instead of failing to connect', async () => {
    const missing = `${tls.dir}/nope.pem`;
    await expect(ZkConnection.open({ connect: secure(), sessionTimeoutMs: 4000, tls: { ...tls.client, caFile: missing } }, 4000)).rejects.toThrow(
      `ZooKeeper TLS CA file ${missing} cannot be read: ENOENT`,
    );
  });

  it('refuses a sources file whose TLS settings are incomplete or hold a comma', () => {
    expect(() =>
      validateSources({ ensembles: [{ name: 'a', connect: 'h:1', tls: { caFile: '/ca.pem', certFile: '/c.pem' }, roots: [{ path: '/s' }] }] }, 'f'),
    ).toThrow(/ensembles.0.tls: must have required property 'keyFile'/);
    expect(() =>
      validateSources(
        { ensembles: [{ name: 'a', connect: 'h:1', tls: { caFile: '/a,b.pem', certFile: '/c.pem', keyFile: '/k.pem' }, roots: [{ path: '/s' }] }] },
        'f',
      ),
    ).toThrow(/ensembles.0.tls.caFile/);
  });
});
