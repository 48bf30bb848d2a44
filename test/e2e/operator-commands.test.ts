// What an operator sees when a proxy misbehaves, with real parts: registrations (good and bad)
// and a bad policy in a real ZooKeeper, zk-xds serving them, gRPC's own xDS client, an Envoy-like
// raw client and a raw client that NACKs connected to it, and the real `zk-xds` CLI answering
// `status`, `inspect` and `validate` from the admin port and from ZooKeeper.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { silentLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import type { ProxyStatus } from '../../src/admin/proxy-status.js';
import type { ConfigDump } from '../../src/admin/config-dump.js';
import type { CatalogPage, ResourcesPage } from '../../src/admin/catalog-pages.js';
import { serveConfig } from '../support/serve-config.js';
import { ZooKeeperServer, freePorts } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.js';
import { XdsClientProcess } from '../support/xds-client-process.js';
import { AdsClient } from '../support/ads-client.js';
import { DeltaClient } from '../support/delta-client.js';
import { CliProcess } from '../support/cli-process.js';
import { eventually } from '../support/eventually.js';

let zk: ZooKeeperServer;
let app: ZkTestClient;
let server: RunningServer;
let backends: EchoBackend[];
let grpcClient: XdsClientProcess;
let sidecar: AdsClient;
let admin: string;

const BAD_JSON = '{"address": "10.1.2.3", "port": 80';
const BAD_POLICY = JSON.stringify({ loadBalancing: { policy: 'FASTEST' } });

async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${admin}${path}`);
  return { status: res.status, body: (await res.json()) as T };
}

async function metricsText(): Promise<string> {
  return (await fetch(`${admin}/metrics`)).text();
}

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  app = await ZkTestClient.connect(zk.connectString);
  backends = await Promise.all(['b1', 'b2'].map((id) => startEchoBackend(id)));
  await app.mkdirp('/services/echo');
  for (const b of backends) await app.create(`/services/echo/${b.host}:${b.port}`, JSON.stringify({ id: b.id, address: b.host, port: b.port }));
  await app.create('/services/echo/broken', BAD_JSON);
  await app.mkdirp('/zk-xds/policy');
  await app.create('/zk-xds/policy/echo', BAD_POLICY);
  // A clean tree next to it, for `validate` finding nothing.
  await app.mkdirp('/clean/web');
  await app.create('/clean/web/10.9.0.1:8080', '');
  await app.mkdirp('/clean-policy');

  server = await startServer(serveConfig(zk.connectString), silentLogger());
  admin = `http://127.0.0.1:${server.adminPort}`;
  await eventually(() => expect(server.registry.status().initialSyncDone).toBe(true));
  grpcClient = await XdsClientProcess.start({ xdsServer: `127.0.0.1:${server.xdsPort}`, nodeId: 'grpc-client', target: 'echo', node: { cluster: 'shop' } });
  await grpcClient.waitFor((seen) => seen.has('b1') && seen.has('b2'), { timeoutMs: 15000, probeCalls: 20 });
  // An Envoy sidecar's first steps: wildcard CDS, ACKed.
  sidecar = new AdsClient(`127.0.0.1:${server.xdsPort}`);
  sidecar.send({ typeUrl: TYPE_URL.cluster, node: { id: 'envoy-sidecar', cluster: 'mesh', userAgent: 'envoy' } });
  sidecar.ack(await sidecar.next(TYPE_URL.cluster));
}, 60000);

afterAll(async () => {
  sidecar?.close();
  await grpcClient?.stop();
  await server?.stop();
  await app?.close();
  await Promise.all((backends ?? []).map((b) => b.stop()));
  await zk?.destroy();
});

describe('admin debug pages and the zk-xds CLI', () => {
  it('status shows every proxy SYNCED, and NACKED for a proxy that rejected a response', async () => {
    const nacker = new AdsClient(`127.0.0.1:${server.xdsPort}`);
    try {
      nacker.send({ typeUrl: TYPE_URL.endpoint, names: ['echo'], node: { id: 'nacker', cluster: 'shop' } });
      const r = await nacker.next(TYPE_URL.endpoint);
      nacker.nack(r, '', 'xDS response validation errors: [resource index 0: rejected by test]', ['echo']);
      await eventually(async () =>
        expect((await getJson<{ proxies: ProxyStatus[] }>('/debug/proxies')).body.proxies.find((p) => p.node === 'nacker')?.types.EDS?.state).toBe('NACKED'),
      );

      const { body } = await getJson<{ proxies: ProxyStatus[] }>('/debug/proxies');
      const byNode = new Map(body.proxies.map((p) => [p.node, p]));
      expect([...byNode.keys()]).toEqual(['envoy-sidecar', 'grpc-client', 'nacker']);
      const grpc = byNode.get('grpc-client')!;
      expect(grpc).toMatchObject({ cluster: 'shop', kind: 'proxyless', protocol: 'sotw' });
      expect(grpc.userAgent).toMatch(/^gRPC Node/);
      for (const t of ['LDS', 'RDS', 'CDS', 'EDS']) {
        await eventually(async () => {
          const p = (await getJson<{ proxies: ProxyStatus[] }>('/debug/proxies')).body.proxies.find((x) => x.node === 'grpc-client')!;
          expect(p.types[t]).toMatchObject({ state: 'SYNCED', lastNack: null });
          expect(p.types[t]!.acked).toBe(p.types[t]!.sent);
        });
      }
      expect(byNode.get('envoy-sidecar')).toMatchObject({
        kind: 'sidecar',
        types: { CDS: { state: 'SYNCED', sent: server.caches.sidecar.version(TYPE_URL.cluster) } },
      });
      expect(byNode.get('nacker')!.types.EDS).toMatchObject({
        state: 'NACKED',
        sent: r.versionInfo,
        acked: '',
        lastNack: { version: r.versionInfo, message: expect.stringContaining('rejected by test') },
      });

      const table = await CliProcess.run(['status', '--admin', admin]);
      expect(table).toMatchObject({ code: 0, stderr: '' });
      const lines = table.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^NODE\s+CLUSTER\s+KIND\s+PROTOCOL\s+CDS\s+LDS\s+EDS\s+RDS\s+CHANGE->ACK P50\/P99 MS\s+CONNECTED SINCE\s+SCOPE$/);
      expect(lines.find((l) => l.startsWith('grpc-client'))).toMatch(
        /^grpc-client\s+shop\s+proxyless\s+sotw\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED\s+(-|[\d.]+\/[\d.]+)\s+\d{4}-/,
      );
      expect(lines.find((l) => l.startsWith('envoy-sidecar'))).toMatch(/^envoy-sidecar\s+mesh\s+sidecar\s+sotw\s+SYNCED\s+-\s+-\s+-\s/);
      expect(lines.find((l) => l.startsWith('nacker'))).toMatch(
        new RegExp(`^nacker\\s+shop\\s+proxyless\\s+sotw\\s+-\\s+-\\s+NACKED \\(${r.versionInfo}\\)\\s+-\\s`),
      );

      const json = await CliProcess.run(['status', '--admin', admin, '-o', 'json']);
      expect(JSON.parse(json.stdout)).toEqual((await getJson('/debug/proxies')).body);
      expect(json).toMatchObject({ code: 0, stderr: '' });

      // The NACK is counted against its proxy and type, and the proxies by kind.
      const metrics = await metricsText();
      expect(metrics).toMatch(/^zkxds_xds_proxy_nacks_total\{node="nacker",type="EDS"\} 1$/m);
      expect(metrics).toMatch(/^zkxds_xds_connected_proxies\{kind="proxyless"\} 2$/m);
      expect(metrics).toMatch(/^zkxds_xds_connected_proxies\{kind="sidecar"\} 1$/m);
    } finally {
      nacker.close();
    }
    // Gone proxies take their NACK series with them (bounded cardinality).
    await eventually(async () => expect(await metricsText()).not.toContain('node="nacker"'));
    expect(await metricsText()).toMatch(/^zkxds_xds_connected_proxies\{kind="proxyless"\} 1$/m);
  });

  it('config_dump shows what a proxy was sent, decoded, with versions and ACK state', async () => {
    const { status, body } = await getJson<ConfigDump>('/debug/config_dump?node=grpc-client');
    expect(status).toBe(200);
    expect(body).toMatchObject({ node: 'grpc-client', kind: 'proxyless', protocol: 'sotw' });
    expect(body.streams).toHaveLength(1);
    const types = new Map(body.streams[0]!.types.map((t) => [t.type, t]));
    expect([...types.keys()].sort()).toEqual(['CDS', 'EDS', 'LDS', 'RDS']);
    const eds = types.get('EDS')!;
    expect(eds).toMatchObject({ state: 'SYNCED', subscribed: 1, pendingChanges: [], currentVersion: eds.sent });
    expect(eds.resources.map((r) => r.name)).toEqual(['echo']);
    const ports = JSON.stringify(eds.resources[0]!.resource);
    for (const b of backends) expect(ports).toContain(`"port_value":${b.port}`);
    const lds = types.get('LDS')!;
    expect(lds.resources[0]).toMatchObject({ name: 'echo', version: server.caches.proxyless.get(TYPE_URL.listener, 'echo')!.version });
    expect(lds.resources[0]!.resource).toHaveProperty('api_listener');

    const onlyEds = await getJson<ConfigDump>('/debug/config_dump?node=grpc-client&type=EDS');
    expect(onlyEds.body.streams[0]!.types.map((t) => t.type)).toEqual(['EDS']);
    const unknown = await getJson<{ error: string }>('/debug/config_dump?node=nobody');
    expect(unknown).toEqual({ status: 404, body: { error: 'no proxy with node id "nobody" is connected' } });
    expect((await getJson('/debug/config_dump')).status).toBe(400);
  });

  it('a delta proxy on two per-type streams is one proxy with both streams listed', async () => {
    const cds = new DeltaClient(`127.0.0.1:${server.xdsPort}`, 'cds');
    const eds = new DeltaClient(`127.0.0.1:${server.xdsPort}`, 'eds');
    try {
      cds.send({ typeUrl: TYPE_URL.cluster, node: { id: 'delta-envoy', userAgent: 'envoy' } });
      cds.ack(await cds.next(TYPE_URL.cluster));
      eds.send({ typeUrl: TYPE_URL.endpoint, subscribe: ['echo'], node: { id: 'delta-envoy', userAgent: 'envoy' } });
      const sent = await eds.next(TYPE_URL.endpoint);
      eds.ack(sent);
      await eventually(async () => {
        const p = (await getJson<{ proxies: ProxyStatus[] }>('/debug/proxies')).body.proxies.find((x) => x.node === 'delta-envoy');
        expect(p).toMatchObject({
          kind: 'sidecar',
          protocol: 'delta',
          types: { CDS: { state: 'SYNCED', subscribed: '*' }, EDS: { state: 'SYNCED', subscribed: 1 } },
        });
        expect(p!.streams.map((st) => st.api)).toEqual(['delta-cds', 'delta-eds']);
      });
      const dump = (await getJson<ConfigDump>('/debug/config_dump?node=delta-envoy')).body;
      expect(dump.streams.map((st) => st.types.map((t) => t.type))).toEqual([['CDS'], ['EDS']]);
      const echo = dump.streams[1]!.types[0]!.resources[0]!;
      // Delta tracks per resource what the client holds: it is what the cache holds now.
      expect(echo).toMatchObject({ name: 'echo', sentVersion: sent.resources[0]!.version, version: sent.resources[0]!.version });
      expect(echo.resource).toEqual(sent.resources[0]!.object);
    } finally {
      cds.close();
      eds.close();
    }
  });

  it('the catalog page shows instances as read and the registrations skipped with why', async () => {
    const { body } = await getJson<CatalogPage>('/debug/catalog?service=echo');
    expect(body.services).toHaveLength(1);
    const echo = body.services[0]!;
    expect(echo.instances.map((i) => i.source).sort()).toEqual(backends.map((b) => `/services/echo/${b.host}:${b.port}`).sort());
    expect(echo.instances.every((i) => i.format === 'json')).toBe(true);
    expect(echo.skipped).toEqual([
      { ensemble: 'default', service: 'echo', path: '/services/echo/broken', reason: 'data starts with "{" but is not valid json (malformed or truncated)' },
    ]);
    expect(echo.policyError).toMatchObject({ path: '/zk-xds/policy/echo', errors: [expect.objectContaining({ field: '/loadBalancing/policy' })] });
    expect((await getJson('/debug/catalog?service=nope')).status).toBe(404);
  });

  it('inspect prints registrations, skipped ones with why, the rejected policy and the resources', async () => {
    const res = await CliProcess.run(['inspect', 'echo'], { ZKXDS_ADMIN_URL: admin });
    expect(res).toMatchObject({ code: 0, stderr: '' });
    const out = res.stdout;
    expect(out).toContain('registrations read: 2');
    for (const b of backends) expect(out).toMatch(new RegExp(`/services/echo/127\\.0\\.0\\.1:${b.port}\\s+json\\s+127\\.0\\.0\\.1\\s+${b.port}\\s+1\\s+yes`));
    expect(out).toContain('registrations skipped: 1\n  /services/echo/broken: data starts with "{" but is not valid json (malformed or truncated)');
    expect(out).toContain('policy write rejected (the policy above stays in force): /zk-xds/policy/echo');
    expect(out).toMatch(/\/loadBalancing\/policy: /);
    const edsVersion = server.caches.proxyless.get(TYPE_URL.endpoint, 'echo')!.version;
    expect(out).toMatch(new RegExp(`proxyless\\s+endpoint\\s+echo\\s+${edsVersion}\\s+2 endpoints`));
    expect(out).toMatch(/sidecar\s+cluster\s+echo\s+\S+\s+type EDS/);

    const asJson = await CliProcess.run(['inspect', 'echo', '--admin', admin, '-o', 'json']);
    expect(asJson).toMatchObject({ code: 0, stderr: '' });
    const json = JSON.parse(asJson.stdout) as { resources: ResourcesPage };
    expect(json.resources.views.proxyless.endpoint[0]).toMatchObject({ name: 'echo', version: edsVersion });

    const missing = await CliProcess.run(['inspect', 'nope', '--admin', admin]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no service named "nope"');
  });

  it('status and inspect name the admin URL and exit 2 when it cannot be reached', async () => {
    const [dead] = await freePorts(1);
    const url = `http://127.0.0.1:${dead}`;
    for (const args of [['status'], ['inspect', 'echo']]) {
      const res = await CliProcess.run([...args, '--admin', url]);
      expect(res.code).toBe(2);
      expect(res.stderr).toContain(`cannot reach the zk-xds admin port at ${url}`);
    }
  });

  it('validate reports every rejected registration and policy and exits 1', async () => {
    // Another bad registration in another service, read only by validate's own pass.
    await app.mkdirp('/services/cart');
    await app.create('/services/cart/not-an-address', '');
    const res = await CliProcess.run(['validate', '--zk', zk.connectString]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(
      'rejected registrations: 2\n  /services/cart/not-an-address: empty data and the znode name is not host:port\n  /services/echo/broken: data starts with "{" but is not valid json',
    );
    expect(res.stdout).toContain('rejected policies: 1\n  /zk-xds/policy/echo:\n    /loadBalancing/policy: ');
    expect(res.stdout).toMatch(/2 service\(s\), 4 registration\(s\)/);
    const json = JSON.parse((await CliProcess.run(['validate', '--zk', zk.connectString, '-o', 'json'])).stdout) as {
      rejectedRegistrations: unknown[];
      rejectedPolicies: unknown[];
    };
    expect(json.rejectedRegistrations).toHaveLength(2);
    expect(json.rejectedPolicies).toHaveLength(1);
  });

  it('validate exits 0 on a clean tree and 2 when ZooKeeper cannot be read', async () => {
    const clean = await CliProcess.run(['validate', '--zk', zk.connectString, '--zk-root', '/clean', '--zk-policy-root', '/clean-policy']);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('OK: zk-xds would accept everything');
    const [dead] = await freePorts(1);
    const unreachable = await CliProcess.run(['validate', '--zk', `127.0.0.1:${dead}`, '--timeout-ms', '1500', '--zk-session-timeout-ms', '1000']);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toContain(`could not read ZooKeeper at 127.0.0.1:${dead} within 1500 ms`);
  });
});

describe('config_dump while a push is held back', () => {
  it('says which subscribed resources changed since the last response, and the versions sent and current', async () => {
    // A long push interval holds the change back long enough to look at it.
    const slow = await startServer(serveConfig(zk.connectString, { minPushIntervalMs: 3000 }), silentLogger());
    const raw = new AdsClient(`127.0.0.1:${slow.xdsPort}`);
    try {
      await eventually(() => expect(slow.registry.status().initialSyncDone).toBe(true));
      raw.send({ typeUrl: TYPE_URL.endpoint, names: ['echo'], node: { id: 'held-back' } });
      const first = await raw.next(TYPE_URL.endpoint);
      raw.ack(first, ['echo']);
      const extra = '/services/echo/127.0.0.1:1';
      await app.create(extra, '', { ephemeral: true });
      const dumpOf = async () => (await (await fetch(`http://127.0.0.1:${slow.adminPort}/debug/config_dump?node=held-back`)).json()) as ConfigDump;
      await eventually(async () => expect((await dumpOf()).streams[0]!.types[0]!.pendingChanges).toEqual(['echo']));
      const eds = (await dumpOf()).streams[0]!.types[0]!;
      expect(eds).toMatchObject({ state: 'SYNCED', sent: first.versionInfo, acked: first.versionInfo });
      expect(eds.currentVersion).not.toBe(first.versionInfo);
      expect(JSON.stringify(eds.resources[0]!.resource)).toContain('"port_value":1');
      // Once the push goes out, nothing is pending and sent catches up with current.
      const pushed = await raw.next(TYPE_URL.endpoint, 10000);
      raw.ack(pushed, ['echo']);
      await eventually(async () =>
        expect((await dumpOf()).streams[0]!.types[0]).toMatchObject({
          pendingChanges: [],
          sent: pushed.versionInfo,
          currentVersion: pushed.versionInfo,
          state: 'SYNCED',
        }),
      );
      await app.remove(extra);
    } finally {
      raw.close();
      await slow.stop();
    }
  }, 30000);
});
