// istiod's MCP config source over TLS against `zk-xds serve` with its TLS flags and a real
// ZooKeeper. Server-only TLS is what istiod's configSources `tlsSettings: {mode: SIMPLE,
// caCertificates}` speaks: istiod checks zk-xds's certificate and presents none. With mutual TLS,
// the identities file (YAML, read through --xds-identities-file) lets istiod's SPIFFE ID claim its
// node cluster `Kubernetes`; another identity claiming it is denied.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { serveConfig } from '../support/serve-config.js';
import { ZooKeeperServer } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { eventually } from '../support/eventually.js';
import { IstiodLikeClient } from '../support/istiod-client.js';
import { makeCa, makeLeaf } from '../support/test-certs.js';

const SE = 'networking.istio.io/v1/ServiceEntry';
const ISTIOD_ID = 'spiffe://cluster.local/ns/istio-system/sa/istiod';

let dir: string;
const f = (name: string) => path.join(dir, name);
let zk: ZooKeeperServer;
let writer: ZkTestClient;
const servers: RunningServer[] = [];
const clients: IstiodLikeClient[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mcp-tls-'));
  makeCa(dir, 'test-ca');
  makeLeaf(dir, 'server', 'test-ca');
  makeLeaf(dir, 'istiod', 'test-ca', { san: `URI:${ISTIOD_ID}` });
  makeLeaf(dir, 'other', 'test-ca', { san: 'URI:spiffe://cluster.local/ns/shop/sa/orders' });
  writeFileSync(f('identities.yaml'), `identities:\n  "${ISTIOD_ID}": [Kubernetes]\n`);
  zk = await ZooKeeperServer.start();
  writer = await ZkTestClient.connect(zk.connectString);
  await writer.mkdirp('/services/orders');
  await writer.create('/services/orders/a', JSON.stringify({ address: '10.1.0.1', port: 8080 }));
}, 60000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of servers) await s.stop();
  await writer?.close();
  await zk?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(tls: { xdsTlsClientCaFile?: string; xdsIdentitiesFile?: string } = {}): Promise<RunningServer> {
  const server = await startServer(serveConfig(zk.connectString, { xdsTlsCertFile: f('server.pem'), xdsTlsKeyFile: f('server.key'), ...tls }), silentLogger());
  servers.push(server);
  await eventually(() => expect(server.registry.status().initialSyncDone).toBe(true));
  return server;
}

function istiod(server: RunningServer, creds: grpc.ChannelCredentials): IstiodLikeClient {
  const c = new IstiodLikeClient(`127.0.0.1:${server.xdsPort}`, undefined, creds);
  clients.push(c);
  c.subscribe();
  return c;
}

describe('MCP over TLS', () => {
  it('serves istiod over server-only TLS (configSources tlsSettings SIMPLE) and refuses plaintext', async () => {
    const server = await serve();
    const simple = istiod(server, grpc.credentials.createSsl(readFileSync(f('test-ca.pem'))));
    const plain = istiod(server, grpc.credentials.createInsecure());
    await eventually(() => expect(simple.latest().size).toBe(simple.types.length), 15000);
    expect(simple.latest().get(SE)!.resources).toHaveLength(1);
    await eventually(() => expect(plain.ads.status?.code).toBe(grpc.status.UNAVAILABLE), 15000);
    expect(plain.ads.responses).toEqual([]);
  });

  it('with mutual TLS, lets the identities file map istiod to its node cluster and denies another identity', async () => {
    const server = await serve({ xdsTlsClientCaFile: f('test-ca.pem'), xdsIdentitiesFile: f('identities.yaml') });
    const ca = readFileSync(f('test-ca.pem'));
    const mapped = istiod(server, grpc.credentials.createSsl(ca, readFileSync(f('istiod.key')), readFileSync(f('istiod.pem'))));
    const other = istiod(server, grpc.credentials.createSsl(ca, readFileSync(f('other.key')), readFileSync(f('other.pem'))));
    await eventually(() => expect(mapped.latest().size).toBe(mapped.types.length), 15000);
    expect(mapped.latest().get(SE)!.resources).toHaveLength(1);
    await eventually(() => expect(other.ads.status?.code).toBe(grpc.status.PERMISSION_DENIED), 15000);
    expect(other.ads.status?.details).toContain('may not claim node cluster "Kubernetes"');
  });

  it('refuses to start with a bad identities file, naming it and the field', async () => {
    writeFileSync(f('bad-identities.yaml'), `identities:\n  "${ISTIOD_ID}": Kubernetes\nextra: 1\n`);
    await expect(serve({ xdsTlsClientCaFile: f('test-ca.pem'), xdsIdentitiesFile: f('bad-identities.yaml') })).rejects.toThrow(
      new RegExp(
        `invalid identities in identities file ${f('bad-identities.yaml').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .*unknown field "extra".*must be array`,
      ),
    );
  });
});
