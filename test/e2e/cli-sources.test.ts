// The real `zk-xds serve` process with digest credentials from a file (--zk-auth-file) against a
// ZooKeeper tree that only those credentials can read, and clear start-up errors for a bad sources
// file or credentials file. The password must appear in no output of the process.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CliProcess } from '../support/cli-process.js';
import { AdsClient } from '../support/ads-client.js';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import { eventually } from '../support/eventually.js';
import { RegistrarProcess } from '../support/registrar-process.js';
import { ZooKeeperServer, freePorts } from '../support/zookeeper-server.js';

const PASSWORD = `cli-${Math.random().toString(36).slice(2)}`;
let zk: ZooKeeperServer;
let registrar: RegistrarProcess;
let dir: string;
const running: CliProcess[] = [];

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  dir = await mkdtemp(path.join(os.tmpdir(), 'zkxds-cli-'));
  registrar = await RegistrarProcess.kazooDubbo(
    zk.connectString,
    [
      {
        interface: 'org.x.Greeter',
        protocol: 'dubbo',
        host: '10.7.0.1',
        port: 20880,
        params: [
          ['side', 'provider'],
          ['version', '2'],
        ],
      },
    ],
    { digest: `ops:${PASSWORD}` },
  );
}, 60_000);
afterAll(async () => {
  for (const p of running) p.kill();
  await registrar?.kill();
  await zk?.destroy();
});

async function start(args: string[]): Promise<{ cli: CliProcess; admin: number; xds: number }> {
  const [xds, admin] = await freePorts(2);
  const cli = CliProcess.start(['serve', '--xds-port', String(xds), '--admin-port', String(admin), '--bind-address', '127.0.0.1', ...args]);
  running.push(cli);
  return { cli, admin: admin!, xds: xds! };
}

describe('zk-xds serve with ZooKeeper credentials and sources files', () => {
  it('reads an ACL-protected Dubbo tree with --zk-auth-file, and never prints the password', async () => {
    const authFile = path.join(dir, 'zk-auth');
    await writeFile(authFile, `ops:${PASSWORD}\n`, { mode: 0o600 });
    const { cli, admin } = await start(['--zk', zk.connectString, '--zk-auth-file', authFile]);
    await eventually(async () => expect((await fetch(`http://127.0.0.1:${admin}/readyz`)).status).toBe(200), 15_000);
    const ready = (await (await fetch(`http://127.0.0.1:${admin}/readyz`)).json()) as {
      zookeeper: { services: number; ensembles: { name: string; authUser: string }[] };
    };
    expect(ready.zookeeper.services).toBe(1);
    expect(ready.zookeeper.ensembles).toMatchObject([{ name: 'default', authUser: 'ops' }]);
    const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
    expect(metrics).toMatch(/^zkxds_endpoints\{health="serving"\} 1$/m);
    expect(metrics).toMatch(/^zkxds_zookeeper_ensemble_connected\{ensemble="default"\} 1$/m);
    cli.kill('SIGTERM');
    await cli.exited;
    const output = JSON.stringify(cli.lines) + cli.stderr;
    expect(output).toContain('using ZooKeeper digest credentials');
    expect(output).not.toContain(PASSWORD);
  });

  it('with a wrong password is not ready, names the refused root, serves nothing, and recovers once the file is fixed', async () => {
    const WRONG = `wrong-${Math.random().toString(36).slice(2)}`;
    const authFile = path.join(dir, 'zk-auth-wrong');
    await writeFile(authFile, `ops:${WRONG}\n`, { mode: 0o600 });
    const { cli, admin, xds } = await start(['--zk', zk.connectString, '--zk-auth-file', authFile]);
    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${admin}/readyz`);
      return { status: res.status, body: (await res.json()) as { notReady: Array<{ ensemble: string; root?: string; reason: string }> } };
    };
    await cli.waitForLine((l) => l.msg.includes('ZooKeeper denied reading a configured root'), 20_000);
    const r = await readyz();
    expect(r.status).toBe(503);
    expect(r.body.notReady).toEqual([{ ensemble: 'default', root: '/dubbo', reason: expect.stringMatching(/NoAuth.*user 'ops'/) }]);
    // A wildcard CDS client (an Envoy on a new pod) gets no empty list: nothing at all.
    const envoy = new AdsClient(`127.0.0.1:${xds}`);
    try {
      envoy.send({ typeUrl: TYPE_URL.cluster, node: { id: 'envoy-on-new-pod', userAgent: 'envoy' } });
      expect(await envoy.quietFor(1500)).toEqual([]);
      expect((await readyz()).status).toBe(503);
      // The Secret is fixed: the next retry reads the file again and the held request is answered.
      await writeFile(authFile, `ops:${PASSWORD}\n`, { mode: 0o600 });
      const cds = await envoy.next(TYPE_URL.cluster, 60_000);
      expect(cds.resources.length).toBeGreaterThan(0);
      expect(envoy.responses.filter((x) => x.typeUrl === TYPE_URL.cluster)[0]).toBe(cds);
      await eventually(async () => expect((await readyz()).status).toBe(200));
    } finally {
      envoy.close();
    }
    cli.kill('SIGTERM');
    await cli.exited;
    const output = JSON.stringify(cli.lines) + cli.stderr;
    expect(output).not.toContain(PASSWORD);
    expect(output).not.toContain(WRONG);
  }, 90_000);

  it('validate reads the ensembles of a sources file, with their credentials, as serve would', async () => {
    const authFile = path.join(dir, 'zk-auth-validate');
    await writeFile(authFile, `ops:${PASSWORD}\n`, { mode: 0o600 });
    const file = path.join(dir, 'sources-validate.yaml');
    await writeFile(
      file,
      `ensembles:\n  - name: main\n    connect: ${zk.connectString}\n    auth: { file: ${authFile} }\n    roots: [{ path: /dubbo, layout: dubbo }]\n`,
    );
    const res = await CliProcess.run(['validate', '--sources-file', file]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`read the ensembles of ${file}: 1 service(s), 1 registration(s)`);
    expect(res.stdout).toContain('OK: zk-xds would accept everything');
    expect(res.stdout + res.stderr).not.toContain(PASSWORD);
  });

  it('validate with a wrong password says at once which root ZooKeeper refused, and exits 2', async () => {
    const WRONG = `wrong-${Math.random().toString(36).slice(2)}`;
    const authFile = path.join(dir, 'zk-auth-validate-wrong');
    await writeFile(authFile, `ops:${WRONG}\n`, { mode: 0o600 });
    const res = await CliProcess.run(['validate', '--zk', zk.connectString, '--zk-auth-file', authFile, '--timeout-ms', '60000']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/ZooKeeper denied reading default:\/dubbo \(.*NoAuth.*user 'ops'/);
    expect(res.stdout + res.stderr).not.toContain(WRONG);
  });

  it('refuses to start on a sources file with a bad field, naming it', async () => {
    const file = path.join(dir, 'sources.yaml');
    await writeFile(file, `ensembles:\n  - name: main\n    connect: ${zk.connectString}\n    roots: [{ path: /services, layout: eureka }]\n`);
    const { cli } = await start(['--sources-file', file]);
    const { code } = await cli.exited;
    expect(code).toBe(1);
    expect(cli.stderr).toContain(`invalid sources in sources file ${file}: ensembles.0.roots.0.layout: must be equal to one of the allowed values`);
  });

  it('refuses to start on a malformed credentials file, naming the file but not its content', async () => {
    const authFile = path.join(dir, 'zk-auth-bad');
    await writeFile(authFile, `${PASSWORD}\n`);
    const { cli } = await start(['--zk', zk.connectString, '--zk-auth-file', authFile]);
    const { code } = await cli.exited;
    expect(code).toBe(1);
    expect(cli.stderr).toContain(`ZooKeeper credentials in file ${authFile} are not one line of the form user:password`);
    expect(cli.stderr + JSON.stringify(cli.lines)).not.toContain(PASSWORD);
  });
});
