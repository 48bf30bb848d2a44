// The admin port of the real `zk-xds serve` process, bound on a non-loopback address of this
// machine (connections to it come from that address, not loopback): /healthz, /readyz and /metrics
// open to all; /debug/* only with the bearer token of --admin-token-file (401 without, rotated
// with the file), or without a token file only from loopback (403 otherwise); `zk-xds status` and
// `inspect` sending the token. Two planted secrets (the ZooKeeper digest password and the admin
// token) must appear on no page, in no log line and on no process command line.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CliProcess } from '../support/cli-process.js';
import { AdsClient } from '../support/ads-client.js';
import { eventually } from '../support/eventually.js';
import { ZooKeeperServer, freePorts } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { TYPE_URL } from '../../src/xds/resource-types.js';

const PASSWORD = `zkpw-${Math.random().toString(36).slice(2)}`;
const TOKEN = `admintoken-${Math.random().toString(36).slice(2)}`;
const OPEN = ['/healthz', '/readyz', '/metrics'];
const DEBUG = [
  '/debug/status',
  '/debug/proxies',
  '/debug/config_dump?node=envoy-1',
  '/debug/catalog',
  '/debug/resources?service=echo',
  '/debug/services',
  '/debug/convergence',
  '/debug/writer',
  '/debug/policies',
  '/debug/istio',
  '/debug/registrations',
];

let zk: ZooKeeperServer;
let app: ZkTestClient;
let dir: string;
let external: string;
const running: CliProcess[] = [];

/** A non-loopback IPv4 address of this machine: connections to it do not come from loopback. */
function externalAddress(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('this machine has no non-loopback IPv4 address; the address rule is covered by test/unit/admin/debug-access.test.ts');
}

async function get(url: string, token?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, text: await res.text() };
}

async function serve(args: string[]): Promise<{ cli: CliProcess; admin: number; xds: number }> {
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
    ...args,
  ]);
  running.push(cli);
  await cli.waitForLine((l) => l.msg.startsWith('zk-xds listening'), 30_000);
  return { cli, admin: admin!, xds: xds! };
}

beforeAll(async () => {
  external = externalAddress();
  zk = await ZooKeeperServer.start();
  app = await ZkTestClient.connect(zk.connectString);
  await app.mkdirp('/services/echo');
  await app.create('/services/echo/10.3.0.1:8080', JSON.stringify({ address: '10.3.0.1', port: 8080 }));
  dir = await mkdtemp(path.join(os.tmpdir(), 'zkxds-admin-'));
}, 60_000);

afterAll(async () => {
  for (const p of running) p.kill();
  await app?.close();
  await zk?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('admin port access', () => {
  it('with --admin-token-file: /debug wants the token (401 without), probes and metrics stay open, status sends the token, no secret leaks', async () => {
    const tokenFile = path.join(dir, 'admin-token');
    const authFile = path.join(dir, 'zk-auth');
    await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    await writeFile(authFile, `ops:${PASSWORD}\n`, { mode: 0o600 });
    const { cli, admin, xds } = await serve(['--admin-bind-address', external, '--admin-token-file', tokenFile, '--zk-auth-file', authFile]);
    const base = `http://${external}:${admin}`;
    // The admin port listens on its own address only, not on --bind-address.
    await expect(fetch(`http://127.0.0.1:${admin}/healthz`)).rejects.toThrow();
    await eventually(async () => expect((await get(`${base}/readyz`)).status).toBe(200), 20_000);
    // A connected proxy, so that /debug/proxies and config_dump have something to show.
    const envoy = new AdsClient(`127.0.0.1:${xds}`);
    try {
      envoy.send({ typeUrl: TYPE_URL.cluster, node: { id: 'envoy-1', cluster: 'mesh', userAgent: 'envoy' } });
      envoy.ack(await envoy.next(TYPE_URL.cluster));

      for (const p of OPEN) expect([p, (await get(`${base}${p}`)).status]).toEqual([p, 200]);
      for (const p of DEBUG) {
        const bare = await get(`${base}${p}`);
        expect([p, bare.status]).toEqual([p, 401]);
        expect(JSON.parse(bare.text).error).toMatch(/Bearer/);
        expect([p, (await get(`${base}${p}`, 'not-the-token')).status]).toEqual([p, 401]);
      }
      const pages: string[] = [];
      for (const p of [...DEBUG, ...OPEN]) {
        const r = await get(`${base}${p}`, TOKEN);
        expect([p, r.status]).toEqual([p, 200]);
        pages.push(r.text);
      }
      expect(pages.join('\n')).toContain('envoy-1');
      expect(pages.join('\n')).toContain('10.3.0.1');

      // The operator commands: refused without the token, served with it (flag or environment).
      const refused = await CliProcess.run(['status', '--admin', base]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/401.*--admin-token-file/);
      const status = await CliProcess.run(['status', '--admin', base, '--admin-token-file', tokenFile]);
      expect([status.code, status.stderr]).toEqual([0, '']);
      expect(status.stdout).toMatch(/^envoy-1\s+mesh\s+sidecar/m);
      const inspect = await CliProcess.run(['inspect', 'echo', '--admin', base], { ZKXDS_ADMIN_TOKEN_FILE: tokenFile });
      expect([inspect.code, inspect.stderr]).toEqual([0, '']);
      expect(inspect.stdout).toContain('10.3.0.1');

      // No process command line on this machine carries either secret (they come from files).
      const commandLines = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
      expect(commandLines).toContain('--admin-token-file');
      for (const secret of [TOKEN, PASSWORD]) {
        expect(commandLines).not.toContain(secret);
        expect(pages.join('\n')).not.toContain(secret);
        for (const r of [refused, status, inspect]) expect(r.stdout + r.stderr).not.toContain(secret);
      }

      // A rotated Secret: the new token is taken, the old one refused.
      const NEXT = `${TOKEN}-next`;
      await writeFile(`${tokenFile}.new`, NEXT);
      await rename(`${tokenFile}.new`, tokenFile);
      await eventually(async () => expect((await get(`${base}/debug/proxies`, NEXT)).status).toBe(200));
      expect((await get(`${base}/debug/proxies`, TOKEN)).status).toBe(401);
    } finally {
      envoy.close();
    }
    cli.kill('SIGTERM');
    await cli.exited;
    const output = JSON.stringify(cli.lines) + cli.stderr;
    expect(output).toContain('admin token read');
    for (const secret of [TOKEN, PASSWORD]) expect(output).not.toContain(secret);
  }, 120_000);

  it('without a token file: /debug answers loopback and refuses other addresses with 403 and a one-line reason', async () => {
    const { cli, admin } = await serve(['--admin-bind-address', '0.0.0.0']);
    const outside = `http://${external}:${admin}`;
    const inside = `http://127.0.0.1:${admin}`;
    await eventually(async () => expect((await get(`${outside}/readyz`)).status).toBe(200), 20_000);
    for (const p of OPEN) expect([p, (await get(`${outside}${p}`)).status]).toEqual([p, 200]);
    for (const p of DEBUG) {
      const r = await get(`${outside}${p}`, 'any-token');
      expect([p, r.status]).toEqual([p, 403]);
      const reason = (JSON.parse(r.text) as { error: string }).error;
      expect(reason).toMatch(/loopback/);
      expect(reason).not.toContain('\n');
    }
    for (const p of DEBUG.filter((d) => !d.includes('config_dump'))) expect([p, (await get(`${inside}${p}`)).status]).toEqual([p, 200]);
    const refused = await CliProcess.run(['status', '--admin', outside]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/403.*loopback/);
    expect((await CliProcess.run(['status', '--admin', inside])).code).toBe(0);
    cli.kill('SIGTERM');
    await cli.exited;
  }, 120_000);
});
