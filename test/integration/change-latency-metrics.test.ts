// Honest latency figures (issue 14): a change counts from when it came to exist in ZooKeeper (its
// znode's mtime, or at least its watch event), not from when zk-xds got round to processing it.
// With a real ZooKeeper, zk-xds (startServer) and raw ADS clients (one Envoy-like, one
// proxyless-like): a write is ACKed by each, and zkxds_change_to_ack_seconds{audience} and
// zkxds_change_to_sent_seconds observe it, /debug/proxies shows each proxy's p50/p99, and the
// figure is at least the time from the write's completion to the ACK (it cannot start later than
// the write).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { silentLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import type { ProxyStatus } from '../../src/admin/proxy-status.js';
import { serveConfig } from '../support/serve-config.js';
import { ZooKeeperServer } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { AdsClient, type ReceivedResponse } from '../support/ads-client.js';
import { eventually } from '../support/eventually.js';

let zk: ZooKeeperServer;
let app: ZkTestClient;
let server: RunningServer;
let admin: string;

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  app = await ZkTestClient.connect(zk.connectString);
  await app.mkdirp('/services/orders');
  await app.create('/services/orders/10.0.0.1:8080', JSON.stringify({ address: '10.0.0.1', port: 8080 }));
  server = await startServer(serveConfig(zk.connectString), silentLogger());
  admin = `http://127.0.0.1:${server.adminPort}`;
  await eventually(() => expect(server.registry.status().initialSyncDone).toBe(true));
}, 60000);

afterAll(async () => {
  await server?.stop();
  await app?.close();
  await zk?.destroy();
});

/** Sum and count of a histogram series, from /metrics. */
async function histogram(name: string, labels: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  const read = (suffix: string) => Number(new RegExp(`^${name}_${suffix}${labels.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { sum: read('sum'), count: read('count') };
}

function hasPort(r: ReceivedResponse, port: number): boolean {
  return JSON.stringify(r.resources.map((x) => x.object)).includes(`"port_value":${port}`);
}

it('counts each proxy audience from the write to its ACK, and shows per-proxy p50/p99', async () => {
  const xds = `127.0.0.1:${server.xdsPort}`;
  const sidecar = new AdsClient(xds);
  const grpc = new AdsClient(xds);
  try {
    sidecar.send({ typeUrl: TYPE_URL.endpoint, names: ['orders'], node: { id: 'envoy-1', userAgent: 'envoy' } });
    grpc.send({ typeUrl: TYPE_URL.endpoint, names: ['orders'], node: { id: 'grpc-1', userAgent: 'gRPC Node' } });
    const firstS = await sidecar.next(TYPE_URL.endpoint, 10000);
    const firstG = await grpc.next(TYPE_URL.endpoint, 10000);
    sidecar.ack(firstS, ['orders']);
    grpc.ack(firstG, ['orders']);
    // The initial answers carry no change: nothing is observed for them.
    expect((await histogram('zkxds_change_to_ack_seconds', '{audience="sidecar"}')).count).toBe(0);

    await app.set('/services/orders/10.0.0.1:8080', JSON.stringify({ address: '10.0.0.1', port: 9090 }));
    const written = performance.now();
    const [s, g] = await Promise.all([sidecar.next(TYPE_URL.endpoint, 10000), grpc.next(TYPE_URL.endpoint, 10000)]);
    expect(hasPort(s, 9090) && hasPort(g, 9090)).toBe(true);
    sidecar.ack(s, ['orders']);
    grpc.ack(g, ['orders']);
    const acked = performance.now();

    await eventually(async () => {
      expect((await histogram('zkxds_change_to_ack_seconds', '{audience="sidecar"}')).count).toBe(1);
      expect((await histogram('zkxds_change_to_ack_seconds', '{audience="proxyless"}')).count).toBe(1);
    });
    for (const audience of ['sidecar', 'proxyless']) {
      const ack = await histogram('zkxds_change_to_ack_seconds', `{audience="${audience}"}`);
      // The change existed before our write call returned; the ACK was handled after we sent it.
      expect(ack.sum * 1000).toBeGreaterThanOrEqual(acked - written);
      const sent = await histogram('zkxds_change_to_sent_seconds', `{audience="${audience}"}`);
      expect(sent.count).toBe(1);
      expect(sent.sum).toBeLessThanOrEqual(ack.sum);
    }
    // The registry saw the write through a watch and measured ZooKeeper's notification.
    expect((await histogram('zkxds_zookeeper_notification_delay_seconds', '')).count).toBeGreaterThanOrEqual(1);

    const proxies = ((await (await fetch(`${admin}/debug/proxies`)).json()) as { proxies: ProxyStatus[] }).proxies;
    for (const node of ['envoy-1', 'grpc-1']) {
      const p = proxies.find((x) => x.node === node)!;
      expect(p.changeToAck).toMatchObject({ count: 1 });
      expect(p.changeToAck!.p50Ms).toBeGreaterThanOrEqual(acked - written - 1);
      expect(p.changeToAck!.p99Ms).toBe(p.changeToAck!.p50Ms);
    }
  } finally {
    sidecar.close();
    grpc.close();
  }
}, 60000);
