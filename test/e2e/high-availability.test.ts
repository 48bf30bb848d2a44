// Two zk-xds replicas (real processes) on one real ZooKeeper serve the same proxies. gRPC's own xDS
// client reaches them through a TCP forwarder standing in for the Service's load balancing; replica
// 1 dies and the client's stream lands on replica 2. Versions are content hashes, so replica 2
// serves exactly the versions the client holds: no NACK, no lost endpoint, calls keep succeeding.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import type { ProxyStatus } from '../../src/admin/proxy-status.js';
import type { ResourcesPage } from '../../src/admin/catalog-pages.js';
import { ZooKeeperServer, freePorts } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.js';
import { XdsClientProcess, type CallResult } from '../support/xds-client-process.js';
import { AdsClient } from '../support/ads-client.js';
import { CliProcess } from '../support/cli-process.js';
import { TcpForwarder } from '../support/tcp-forwarder.js';
import { eventually } from '../support/eventually.js';

interface Replica {
  readonly cli: CliProcess;
  readonly xds: number;
  readonly admin: number;
}

let zk: ZooKeeperServer;
let app: ZkTestClient;
let backends: EchoBackend[];
let replicas: Replica[];
let forwarder: TcpForwarder;
let client: XdsClientProcess;

const znode = (b: EchoBackend) => `/services/echo/${b.host}:${b.port}`;
const registration = (b: EchoBackend) => JSON.stringify({ id: b.id, address: b.host, port: b.port });

async function startReplica(): Promise<Replica> {
  const [xds, admin] = await freePorts(2);
  const cli = CliProcess.start([
    'serve',
    '--zk',
    zk.connectString,
    '--xds-port',
    String(xds),
    '--admin-port',
    String(admin),
    '--bind-address',
    '127.0.0.1',
    '--log-level',
    'warn',
  ]);
  const replica = { cli, xds: xds!, admin: admin! };
  await eventually(async () => expect((await fetch(`http://127.0.0.1:${admin}/readyz`)).status).toBe(200), 15000);
  return replica;
}

async function adminJson<T>(r: Replica, path: string): Promise<T> {
  return (await (await fetch(`http://127.0.0.1:${r.admin}${path}`)).json()) as T;
}

async function proxy(r: Replica, node: string): Promise<ProxyStatus | undefined> {
  return (await adminJson<{ proxies: ProxyStatus[] }>(r, '/debug/proxies')).proxies.find((p) => p.node === node);
}

/** NACKs a replica has received, all proxies and types. */
async function nacks(r: Replica): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${r.admin}/metrics`)).text();
  return [...text.matchAll(/^zkxds_xds_nacks_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

/** Every type SYNCED on `r`; returns the versions the proxy was sent (and ACKed) per type. */
async function syncedVersions(r: Replica, node: string): Promise<Record<string, string>> {
  let versions: Record<string, string> = {};
  await eventually(async () => {
    const p = await proxy(r, node);
    expect(p).toBeDefined();
    versions = {};
    for (const t of ['LDS', 'RDS', 'CDS', 'EDS']) {
      expect(p!.types[t]).toMatchObject({ state: 'SYNCED', lastNack: null });
      versions[t] = p!.types[t]!.acked;
    }
  }, 10000);
  return versions;
}

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  app = await ZkTestClient.connect(zk.connectString);
  backends = await Promise.all(['b1', 'b2', 'b3'].map((id) => startEchoBackend(id)));
  await app.mkdirp('/services/echo');
  for (const b of backends.slice(0, 2)) await app.create(znode(b), registration(b), { ephemeral: true });
  replicas = await Promise.all([startReplica(), startReplica()]);
  forwarder = await TcpForwarder.start(replicas[0]!.xds);
  client = await XdsClientProcess.start({ xdsServer: forwarder.address, nodeId: 'ha-client', target: 'echo' });
  await client.waitFor((seen) => seen.has('b1') && seen.has('b2'), { timeoutMs: 15000, probeCalls: 20 });
}, 60000);

afterAll(async () => {
  await client?.stop();
  await forwarder?.close();
  for (const r of replicas ?? []) r.cli.kill();
  await Promise.all((replicas ?? []).map((r) => r.cli.exited));
  await app?.close();
  await Promise.all((backends ?? []).map((b) => b.stop()));
  await zk?.destroy();
});

describe('two replicas serving one proxy', () => {
  it('build identical resources with identical versions from the same ZooKeeper', async () => {
    const [a, b] = await Promise.all(replicas.map((r) => adminJson<ResourcesPage>(r, '/debug/resources?service=echo')));
    expect(a!.views.proxyless.endpoint).toHaveLength(1);
    expect(b).toEqual(a);
  });

  it('a proxy that reconnects carrying replica 1 versions is answered with the same versions by replica 2', async () => {
    const one = new AdsClient(`127.0.0.1:${replicas[0]!.xds}`);
    const two = new AdsClient(`127.0.0.1:${replicas[1]!.xds}`);
    try {
      one.send({ typeUrl: TYPE_URL.cluster, node: { id: 'raw-mover' } });
      const fromOne = await one.next(TYPE_URL.cluster);
      // What a client sends on its new stream: the version it holds, no nonce.
      two.send({ typeUrl: TYPE_URL.cluster, versionInfo: fromOne.versionInfo, node: { id: 'raw-mover' } });
      const fromTwo = await two.next(TYPE_URL.cluster);
      expect(fromTwo.versionInfo).toBe(fromOne.versionInfo);
      expect(fromTwo.resources).toEqual(fromOne.resources);
    } finally {
      one.close();
      two.close();
    }
  });

  it('moves from a dying replica to the other without a NACK or a failed call', async () => {
    const [one, two] = replicas as [Replica, Replica];
    const onOne = await syncedVersions(one, 'ha-client');
    expect(await nacks(one)).toBe(0);
    expect(await proxy(two, 'ha-client')).toBeUndefined();

    // Calls run all through the move.
    const results: CallResult[] = [];
    let moving = true;
    const caller = (async () => {
      while (moving) results.push(...(await client.call(5, { deadlineMs: 2000 })));
    })();

    // Replica 1 dies, which cuts the client's stream; then the balancer notices and sends new
    // connections to replica 2 (reconnects in between find nobody and are retried by the client).
    const connectionsBefore = forwarder.connections;
    one.cli.kill('SIGKILL');
    await one.cli.exited;
    await eventually(async () => expect(await proxy(two, 'ha-client')).toBeUndefined());
    forwarder.retarget(two.xds);

    const onTwo = await syncedVersions(two, 'ha-client');
    expect(forwarder.connections).toBeGreaterThan(connectionsBefore);
    expect(onTwo).toEqual(onOne);
    expect(await nacks(two)).toBe(0);
    const p = await proxy(two, 'ha-client');
    for (const t of Object.values(p!.types)) expect(t.lastNack).toBeNull();

    // Changes keep flowing through replica 2.
    await app.create(znode(backends[2]!), registration(backends[2]!), { ephemeral: true });
    await client.waitFor((seen) => seen.has('b3'), { timeoutMs: 5000, probeCalls: 30 });
    moving = false;
    await caller;
    expect(results.length).toBeGreaterThan(0);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const backendsCalled = new Set(results.flatMap((r) => (r.ok ? [r.backend] : [])));
    expect(backendsCalled.has('b1') && backendsCalled.has('b2')).toBe(true);
    expect(await nacks(two)).toBe(0);
  });
});
