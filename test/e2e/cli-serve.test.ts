// `zk-xds serve` as a real process: configuration by flags and environment variables, the admin
// endpoints, and a graceful shutdown on SIGTERM.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ZooKeeperServer, fourLetterWord, freePorts } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { CliProcess } from '../support/cli-process.js';
import { AdsClient } from '../support/ads-client.js';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import { eventually } from '../support/eventually.js';
import { decodeMcpResourceValue, decodeServiceEntryBody } from '../../src/publish/mcp-resources.js';

let zk: ZooKeeperServer;
let writer: ZkTestClient;
const running: CliProcess[] = [];

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  writer = await ZkTestClient.connect(zk.connectString);
  await writer.mkdirp('/registry/web');
  await writer.create('/registry/web/10.9.0.1:8080', '');
  await writer.create('/registry/web/10.9.0.2:8080', '');
});
afterAll(async () => {
  for (const p of running) p.kill();
  await writer?.close();
  await zk?.destroy();
});

async function serve(args: string[], env: Record<string, string> = {}): Promise<{ cli: CliProcess; xds: number; admin: number }> {
  const [xds, admin] = await freePorts(2);
  const cli = CliProcess.start(['serve', '--xds-port', String(xds), '--admin-port', String(admin), '--bind-address', '127.0.0.1', ...args], env);
  running.push(cli);
  await cli.waitForLine((l) => l.msg.startsWith('zk-xds listening'));
  return { cli, xds: xds!, admin: admin! };
}

async function get(port: number, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, text: await res.text() };
}

describe('zk-xds serve', () => {
  it('takes its configuration from environment variables and serves the admin endpoints', async () => {
    const { admin } = await serve([], { ZKXDS_ZK: zk.connectString, ZKXDS_ZK_ROOT: '/registry' });
    expect((await get(admin, '/healthz')).status).toBe(200);
    await eventually(async () => expect((await get(admin, '/readyz')).status).toBe(200), 10000);
    const ready = JSON.parse((await get(admin, '/readyz')).text) as { zookeeper: { root: string; state: string; services: number } };
    expect(ready.zookeeper).toMatchObject({ root: '/registry', state: 'connected', services: 1 });
    const metrics = (await get(admin, '/metrics')).text;
    expect(metrics).toMatch(/^zkxds_services 1$/m);
    expect(metrics).toMatch(/^zkxds_endpoints\{health="serving"\} 2$/m);
    expect(metrics).toMatch(/^zkxds_zookeeper_connected 1$/m);
    expect(metrics).toMatch(/^zkxds_zookeeper_session_state\{state="connected"\} 1$/m);
    expect(metrics).toMatch(/^zkxds_zookeeper_session_state\{state="connecting"\} 0$/m);
    expect(metrics).toMatch(/^zkxds_xds_resources\{type="CDS",view="proxyless"\} 1$/m);
    expect(metrics).toMatch(/^zkxds_xds_resources\{type="LDS",view="sidecar"\} 1$/m);
    expect(metrics).toContain('zkxds_process_resident_memory_bytes');
    expect((await get(admin, '/nope')).status).toBe(404);
  });

  it('is not ready while ZooKeeper cannot be reached, and says why', async () => {
    const [deadPort] = await freePorts(1);
    const { admin } = await serve(['--zk', `127.0.0.1:${deadPort}`, '--zk-session-timeout-ms', '2000']);
    const r = await get(admin, '/readyz');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text)).toMatchObject({ ready: false, zookeeper: { state: 'connecting', initialSyncDone: false } });
    expect((await get(admin, '/metrics')).text).toMatch(/^zkxds_zookeeper_session_state\{state="connecting"\} 1$/m);
  });

  it('closes xDS streams and its ZooKeeper session cleanly on SIGTERM', async () => {
    const { cli, xds, admin } = await serve(['--zk', zk.connectString, '--zk-root', '/registry']);
    await eventually(async () => expect((await get(admin, '/readyz')).status).toBe(200), 10000);
    const ads = new AdsClient(`127.0.0.1:${xds}`);
    ads.send({ typeUrl: TYPE_URL.cluster, node: { id: 'sigterm-test' } });
    expect((await ads.next(TYPE_URL.cluster)).resources.map((r) => r.name)).toEqual(['web']);
    const sessions = async () => (await fourLetterWord(zk.port, 'cons')).split('\n').filter((l) => l.includes('sid=')).length;
    const sessionsBefore = await sessions();
    cli.kill('SIGTERM');
    const exit = await cli.exited;
    expect(exit.code).toBe(0);
    await eventually(() => expect(ads.ended).toBe(true), 3000);
    // The session was closed, not left to time out.
    expect(await sessions()).toBe(sessionsBefore - 1);
    expect(cli.lines.some((l) => l.msg === 'stopped')).toBe(true);
    ads.close();
  });

  it('stops cleanly (exit 0) on a SIGTERM that arrives while ZooKeeper is still being reached', async () => {
    const [dead] = await freePorts(1);
    const { cli } = await serve(['--zk', `127.0.0.1:${dead}`]);
    cli.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
    expect(cli.lines.some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('takes the Istio settings from environment variables and serves ServiceEntries with them over MCP', async () => {
    const { xds, admin } = await serve(['--zk', zk.connectString, '--zk-root', '/registry', '--domain-suffix', 'zk.internal'], {
      ZKXDS_ISTIO_NAMESPACE: 'mesh-zk',
      ZKXDS_ISTIO_REVISION: '1-29-0',
      ZKXDS_ISTIO_EXPORT_TO: '., frontend',
    });
    await eventually(async () => expect((await get(admin, '/readyz')).status).toBe(200), 10000);
    expect(JSON.parse((await get(admin, '/debug/istio')).text)).toEqual({
      namespace: 'mesh-zk',
      revision: '1-29-0',
      exportTo: ['.', 'frontend'],
      rejected: {},
    });
    const ads = new AdsClient(`127.0.0.1:${xds}`);
    ads.send({ typeUrl: 'networking.istio.io/v1/ServiceEntry', nonce: '2026-01-01 00:00:00 +0000 UTC', node: { id: 'istiod' } });
    const [resource] = (await ads.next('networking.istio.io/v1/ServiceEntry')).resources;
    const { metadata, body } = decodeMcpResourceValue(resource!.raw.value);
    expect(metadata).toMatchObject({ name: 'mesh-zk/web', labels: { 'istio.io/rev': '1-29-0' } });
    expect(decodeServiceEntryBody(body)).toMatchObject({ hosts: ['web.zk.internal'], exportTo: ['.', 'frontend'] });
    ads.close();
  });

  it('on a first start against an unreachable ZooKeeper, does not claim to serve last known services it never had', async () => {
    const [dead] = await freePorts(1);
    const { cli } = await serve(['--zk', `127.0.0.1:${dead}`, '--zk-session-timeout-ms', '1000']);
    const line = await cli.waitForLine((l) => l.msg.startsWith('cannot open a ZooKeeper session'), 30000);
    expect(line.msg).toBe('cannot open a ZooKeeper session; no services known yet (the first read of this ensemble is not done)');
    expect(cli.lines.some((l) => l.msg.includes('last known services'))).toBe(false);
  });

  it('rejects a bad Istio namespace with a clear message', async () => {
    const cli = CliProcess.start(['serve', '--istio-namespace', 'Not_A_Namespace']);
    running.push(cli);
    expect((await cli.exited).code).not.toBe(0);
    expect(cli.stderr).toMatch(/--istio-namespace.*expected a Kubernetes namespace name/);
  });

  it('rejects a bad flag with a clear message', async () => {
    const cli = CliProcess.start(['serve', '--xds-port', 'seventy']);
    running.push(cli);
    const exit = await cli.exited;
    expect(exit.code).not.toBe(0);
    expect(cli.stderr).toMatch(/--xds-port.*expected an integer/);
  });
});
