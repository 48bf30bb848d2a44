// Smoke-sized version of the sidecar scope benchmark (bench/scope-bench.ts): the load generator's
// Envoy-style proxies, each with a node cluster of its own scoped by a document in a real
// ZooKeeper, sync holding only their scope's services, and a change reaches exactly the proxies
// whose scope holds the changed service.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { silentLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { serveConfig } from '../support/serve-config.js';
import { ZooKeeperServer } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { eventually } from '../support/eventually.js';
import { epochNow, startLoad, type LoadRun, type ResponseRecord } from '../../bench/loadgen/run.js';

const SERVICES = 12;
const INSTANCES = 2;
const SCOPE = 3;
const PROXIES = 12;
const svc = (s: number) => `svc-${String(s).padStart(5, '0')}`;
const scopeOf = (p: number) => Array.from({ length: SCOPE }, (_, k) => svc((p * SCOPE + k) % SERVICES));
const reg = (s: number, i: number) => JSON.stringify({ address: `10.0.${s}.${i + 1}`, port: 8080 });

let zk: ZooKeeperServer;
let writer: ZkTestClient;
let server: RunningServer;
const runs: LoadRun[] = [];
const receipts: Array<{ proxy: number; t: number; names: readonly string[] }> = [];

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  writer = await ZkTestClient.connect(zk.connectString);
  for (let s = 0; s < SERVICES; s++) {
    await writer.mkdirp(`/services/${svc(s)}`);
    for (let i = 0; i < INSTANCES; i++) await writer.create(`/services/${svc(s)}/i${i}`, reg(s, i));
  }
  await writer.mkdirp('/zk-xds/scope');
  for (let p = 0; p < 2 * PROXIES; p++) await writer.create(`/zk-xds/scope/app-${p}`, JSON.stringify({ services: scopeOf(p) }));
  server = await startServer(serveConfig(zk.connectString), silentLogger());
  await eventually(() => expect(server.registry.status().initialSyncDone).toBe(true), 15000);
  const onResponse = (r: ResponseRecord) => {
    if (r.type === 'EDS') receipts.push({ proxy: r.proxy, t: r.t, names: r.names ?? [] });
  };
  const base = { server: `127.0.0.1:${server.xdsPort}`, proxies: PROXIES, style: 'envoy', nodeClusterTemplate: 'app-{i}', onResponse } as const;
  runs.push(startLoad({ ...base, protocol: 'sotw', firstIndex: 0 }), startLoad({ ...base, protocol: 'delta', firstIndex: PROXIES }));
}, 60000);

afterAll(async () => {
  for (const run of runs) run.stop();
  await server?.stop();
  await writer?.close();
  await zk?.destroy();
});

describe('scoped load generator smoke run', () => {
  it('syncs every proxy holding only its scope', async () => {
    await Promise.all(runs.map((r) => r.settled()));
    for (const p of runs.flatMap((r) => r.proxies)) {
      expect(p.synced).toBe(true);
      expect(p.holdings()).toEqual({ clusters: SCOPE, assignments: SCOPE, endpoints: SCOPE * INSTANCES, listeners: 1, routes: 1 });
    }
  });

  it("sends a changed service's endpoints to the proxies whose scope holds it, and to no other", async () => {
    const changed = svc(4);
    const at = epochNow();
    await writer.create(`/services/${changed}/i9`, reg(4, 9));
    const all = runs.flatMap((r) => r.proxies).map((p) => p.config.index);
    const holders = all.filter((p) => scopeOf(p).includes(changed));
    expect(holders.length).toBeGreaterThan(0);
    const receivers = () => new Set(receipts.filter((r) => r.t >= at && r.names.includes(changed)).map((r) => r.proxy));
    await eventually(() => expect([...receivers()].sort()).toEqual([...holders].sort()), 10000);
    await new Promise((r) => setTimeout(r, 300));
    expect([...receivers()].sort()).toEqual([...holders].sort());
    expect(receipts.filter((r) => r.t >= at && !holders.includes(r.proxy))).toEqual([]);
  });
});
