// The real `zk-xds serve` process configured for mutual TLS through environment variables (as the
// chart does): a client with a certificate from the CA gets resources, a plaintext client does not;
// a key that does not match the certificate stops start-up with a message naming the file and
// none of the key.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliProcess } from '../support/cli-process.js';
import { AdsClient } from '../support/ads-client.js';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import { eventually } from '../support/eventually.js';
import { ZooKeeperServer, freePorts } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { makeCa, makeLeaf } from '../support/test-certs.js';

let zk: ZooKeeperServer;
let dir: string;
const f = (name: string) => path.join(dir, name);
const running: CliProcess[] = [];
const clients: AdsClient[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cli-xds-tls-'));
  makeCa(dir, 'ca');
  makeLeaf(dir, 'server', 'ca');
  makeLeaf(dir, 'other-server', 'ca');
  makeLeaf(dir, 'orders', 'ca', { san: 'URI:spiffe://cluster.local/ns/shop/sa/orders' });
  zk = await ZooKeeperServer.start();
  const writer = await ZkTestClient.connect(zk.connectString);
  await writer.mkdirp('/services/orders');
  await writer.create('/services/orders/a', JSON.stringify({ address: '10.1.0.1', port: 8080 }));
  await writer.close();
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of running) p.kill();
  await zk?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string>): Promise<{ cli: CliProcess; xds: number; admin: number }> {
  const [xds, admin] = await freePorts(2);
  const cli = CliProcess.start(
    ['serve', '--zk', zk.connectString, '--xds-port', String(xds), '--admin-port', String(admin), '--bind-address', '127.0.0.1'],
    env,
  );
  running.push(cli);
  return { cli, xds: xds!, admin: admin! };
}

describe('zk-xds serve with xDS TLS from environment variables', () => {
  it('serves a client with a certificate from the CA and refuses plaintext', async () => {
    const { cli, xds, admin } = await start({
      ZKXDS_XDS_TLS_CERT_FILE: f('server.pem'),
      ZKXDS_XDS_TLS_KEY_FILE: f('server.key'),
      ZKXDS_XDS_TLS_CLIENT_CA_FILE: f('ca.pem'),
    });
    await eventually(async () => expect((await fetch(`http://127.0.0.1:${admin}/readyz`)).status).toBe(200), 20_000);
    const good = new AdsClient(
      `127.0.0.1:${xds}`,
      'ads',
      grpc.credentials.createSsl(readFileSync(f('ca.pem')), readFileSync(f('orders.key')), readFileSync(f('orders.pem'))),
    );
    const plain = new AdsClient(`127.0.0.1:${xds}`);
    clients.push(good, plain);
    for (const c of [good, plain]) c.send({ typeUrl: TYPE_URL.cluster, node: { id: 'o-1', cluster: 'orders' } });
    expect((await good.next(TYPE_URL.cluster, 15_000)).resources.map((r) => r.name)).toEqual(['orders']);
    await eventually(() => expect(plain.status?.code).toBe(grpc.status.UNAVAILABLE), 15_000);
    const line = await cli.waitForLine((l) => l.msg === 'xDS port serves TLS');
    expect(line).toMatchObject({ mutualTls: true, certFile: f('server.pem') });
  });

  it('refuses to start when the key does not match the certificate, naming the key file and printing none of it', async () => {
    const { cli } = await start({ ZKXDS_XDS_TLS_CERT_FILE: f('server.pem'), ZKXDS_XDS_TLS_KEY_FILE: f('other-server.key') });
    const { code } = await cli.exited;
    expect(code).toBe(1);
    expect(cli.stderr).toContain(`${f('other-server.key')}: private key does not match the certificate in ${f('server.pem')}`);
    const keyBody = readFileSync(f('other-server.key'), 'utf8').split('\n')[1]!;
    expect(cli.stderr + cli.stdout).not.toContain(keyBody);
  });
});
