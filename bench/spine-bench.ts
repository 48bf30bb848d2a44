// The spine's two numbers, on real components: how long zk-xds takes to read S services x I
// instances from a real ZooKeeper and serve them to an ADS client, and how long a znode change
// takes to reach a client's ACK (gRPC's own xDS client, and a raw ADS client that ACKs at once),
// next to ZooKeeper's own notification latency for the same write.
//   node dist/bench/spine-bench.js [--services 1000] [--instances 10] [--changes 50]
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { silentLogger } from '../src/observability/logger.js';
import { startServer } from '../src/cli/serve.js';
import { ZkConnection } from '../src/zookeeper/connection.js';
import { TYPE_URL } from '../src/xds/resource-types.js';
import type { ProxyReply } from '../src/xds/stream-base.js';
import { ZooKeeperServer } from '../test/support/zookeeper-server.js';
import { ZkTestClient } from '../test/support/zk-test-client.js';
import { AdsClient } from '../test/support/ads-client.js';
import { XdsClientProcess } from '../test/support/xds-client-process.js';
import { startEchoBackend } from '../test/support/echo-backend.js';

const { values: args } = parseArgs({
  options: { services: { type: 'string', default: '1000' }, instances: { type: 'string', default: '10' }, changes: { type: 'string', default: '50' } },
});
const S = Number(args.services);
const I = Number(args.instances);
const CHANGES = Number(args.changes);

const svc = (s: number) => `svc-${String(s).padStart(5, '0')}`;
const ip = (s: number, i: number) => `10.${(s >> 8) & 255}.${s & 255}.${i + 1}`;
const registration = (s: number, i: number, weight = 1) => JSON.stringify({ address: ip(s, i), port: 8080, weight });

async function inChunks<T>(items: T[], size: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  for (let k = 0; k < items.length; k += size) await Promise.all(items.slice(k, k + size).map(fn));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${percentile(s, 50).toFixed(1)} ms, p99 ${percentile(s, 99).toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms`;
}

function nextReply(server: { xds: { onReply(l: (r: ProxyReply) => void): () => void } }, pred: (r: ProxyReply) => boolean): Promise<ProxyReply> {
  return new Promise((resolve) => {
    const off = server.xds.onReply((r) => {
      if (pred(r)) {
        off();
        resolve(r);
      }
    });
  });
}

async function main(): Promise<void> {
  process.env.ZK_TEST_JVM ??= 'server';
  const rows: Array<[string, string]> = [];
  const note = (k: string, v: string) => {
    rows.push([k, v]);
    process.stderr.write(`${k}: ${v}\n`);
  };
  const zk = await ZooKeeperServer.start({ tickTimeMs: 2000, maxSessionTimeoutMs: 60000 });
  // A long session: the benchmark's own event loop is busy while zk-xds reads a big tree.
  const writer = await ZkTestClient.connect(zk.connectString, { sessionTimeoutMs: 40000 });
  try {
    const fillStart = performance.now();
    await writer.mkdirp('/services');
    const services = Array.from({ length: S }, (_, s) => s);
    await inChunks(services, 500, (s) => writer.create(`/services/${svc(s)}`, ''));
    const instances = services.flatMap((s) => Array.from({ length: I }, (_, i) => [s, i] as const));
    await inChunks(instances, 2000, ([s, i]) => writer.create(`/services/${svc(s)}/${ip(s, i)}:8080`, registration(s, i)));
    note('ZooKeeper filled', `${S} services x ${I} instances in ${((performance.now() - fillStart) / 1000).toFixed(1)} s`);

    // Read and serve.
    const start = performance.now();
    const server = await startServer(
      {
        zk: zk.connectString,
        zkRoot: '/services',
        zkPolicyRoot: '/zk-xds/policy',
        zkSessionTimeoutMs: 10000,
        bindAddress: '127.0.0.1',
        xdsPort: 0,
        adminPort: 0,
        debounceMs: Number(process.env.BENCH_DEBOUNCE_MS ?? 0),
        maxDelayMs: 100,
        domainSuffix: '',
        sidecarListenAddress: '127.0.0.1',
      },
      silentLogger(),
    );
    while (!server.registry.status().initialSyncDone) await new Promise((r) => setTimeout(r, 5));
    const readMs = performance.now() - start;
    const ads = new AdsClient(`127.0.0.1:${server.xdsPort}`);
    const names = services.map(svc);
    ads.send({ typeUrl: TYPE_URL.cluster, node: { id: 'bench-envoy-like' } });
    ads.send({ typeUrl: TYPE_URL.endpoint, names });
    ads.send({ typeUrl: TYPE_URL.listener });
    ads.send({ typeUrl: TYPE_URL.route, names });
    let received = 0;
    for (const t of [TYPE_URL.cluster, TYPE_URL.endpoint, TYPE_URL.listener, TYPE_URL.route]) {
      const r = await ads.next(t, 30000, 0);
      received += r.resources.length;
      ads.ack(r, t === TYPE_URL.endpoint || t === TYPE_URL.route ? names : []);
    }
    const servedMs = performance.now() - start;
    note(`read ${S * I} instances from ZooKeeper`, `${readMs.toFixed(0)} ms (first complete catalog)`);
    note(`read and served to an ADS client`, `${servedMs.toFixed(0)} ms (${received} resources: CDS+EDS+LDS+RDS)`);

    // Change -> ACK. ZooKeeper's own latency: a watch set by a separate session on the same node.
    const backend = await startEchoBackend('bench-backend');
    await writer.mkdirp('/services/bench-grpc');
    await writer.create(`/services/bench-grpc/${backend.host}:${backend.port}`, JSON.stringify({ address: backend.host, port: backend.port }));
    const grpcClient = await XdsClientProcess.start({ xdsServer: `127.0.0.1:${server.xdsPort}`, nodeId: 'bench-grpc-client', target: 'bench-grpc' });
    await grpcClient.waitFor((seen) => seen.has('bench-backend'), { timeoutMs: 15000 });
    const watcher = await ZkConnection.open({ connect: zk.connectString, sessionTimeoutMs: 10000 }, 10000);
    const path = `/services/bench-grpc/${backend.host}:${backend.port}`;
    const zkLatency: number[] = [];
    const grpcAck: number[] = [];
    const rawAck: number[] = [];
    // Where the time goes: the registry's read of the change (catalog), translation into the cache.
    const toCatalog: number[] = [];
    const toCache: number[] = [];
    const rawReceipt: number[] = [];
    let catalogAt = 0;
    let cacheAt = 0;
    server.catalog.onChange(() => (catalogAt ||= performance.now()));
    server.caches.proxyless.onChange(() => (cacheAt ||= performance.now()));
    // The raw client adds the benchmark service to its EDS subscription.
    const allNames = [...names, 'bench-grpc'];
    const lastEds = [...ads.responses].reverse().find((r) => r.typeUrl === TYPE_URL.endpoint)!;
    const from = ads.responses.length;
    ads.ack(lastEds, allNames);
    ads.ack(await ads.next(TYPE_URL.endpoint, 5000, from), allNames);
    for (let k = 0; k < CHANGES; k++) {
      let watchFired = 0;
      await watcher.getData(path, () => (watchFired = performance.now()));
      const grpcAcked = nextReply(server, (r) => r.kind === 'ack' && r.nodeId === 'bench-grpc-client' && r.typeUrl === TYPE_URL.endpoint);
      const rawAcked = nextReply(server, (r) => r.kind === 'ack' && r.nodeId === 'bench-envoy-like' && r.typeUrl === TYPE_URL.endpoint);
      let rawReceivedAt = 0;
      const rawReceived = ads.next(TYPE_URL.endpoint, 5000, ads.responses.length).then((r) => {
        rawReceivedAt = performance.now();
        ads.ack(r, allNames);
      });
      catalogAt = 0;
      cacheAt = 0;
      const t0 = performance.now();
      await writer.set(path, JSON.stringify({ address: backend.host, port: backend.port, weight: 2 + (k % 2) }));
      const [g, raw] = await Promise.all([grpcAcked, rawAcked, rawReceived]);
      grpcAck.push(g.at - t0);
      rawAck.push(raw.at - t0);
      rawReceipt.push(rawReceivedAt - t0);
      while (!watchFired) await new Promise((r) => setImmediate(r));
      zkLatency.push(watchFired - t0);
      toCatalog.push(catalogAt - t0);
      toCache.push(cacheAt - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
    note(`ZooKeeper write -> watch fired (baseline)`, stats(zkLatency));
    note(`znode write -> catalog changed (zk-xds read it)`, stats(toCatalog));
    note(`znode write -> resources in the cache (translated)`, stats(toCache));
    note(`znode write -> grpc-js-xds ACK received`, stats(grpcAck));
    note(`znode write -> raw ADS client received it`, stats(rawReceipt));
    note(`znode write -> raw ADS client ACK received`, stats(rawAck));
    watcher.close();
    await grpcClient.stop();
    await backend.stop();
    ads.close();
    await server.stop();
  } finally {
    await writer.close();
    await zk.destroy();
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  const table = [`zk-xds spine benchmark (${new Date().toISOString()}, node ${process.version})`, ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`)].join(
    '\n',
  );
  console.log(table);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/spine.txt', `${table}\n`);
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
