// Issue 5's "done when": a Dubbo 2 provider, a Dubbo 3 application, a Curator service and a Spring
// Cloud service, registered by real clients (kazoo, Apache Curator) in two ZooKeeper ensembles (one
// chrooted and digest-protected, configured by a sources file with credentials from an env
// variable), all reachable through zk-xds by their documented mesh names with gRPC's own xDS client
// calling real gRPC backends.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { serveConfig } from '../support/serve-config.js';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.js';
import { XdsClientProcess } from '../support/xds-client-process.js';
import { totalNacks } from '../support/grpc-end-to-end.js';
import { RegistrarProcess } from '../support/registrar-process.js';
import { ZooKeeperServer, freePorts } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { eventually } from '../support/eventually.js';

const PASSWORD = `e2e-${Math.random().toString(36).slice(2)}`;
const AUTH_ENV = 'ZKXDS_E2E_ZK_AUTH_WEST';
const GREETER = 'org.apache.dubbo.demo.GreeterService';

/** The documented names (README, "Mesh names"). */
const NAMES = {
  dubbo2: '1-0-0.blue.org.apache.dubbo.demo.greeterservice',
  dubbo3: 'tri.shop',
  curator: 'inventory',
  spring: 'billing',
} as const;

let east: ZooKeeperServer;
let west: ZooKeeperServer;
let server: RunningServer;
let backends: Record<'dubbo2' | 'dubbo3' | 'curator' | 'spring' | 'springDown', EchoBackend>;
const registrars: RegistrarProcess[] = [];
const clients: XdsClientProcess[] = [];
let logText = '';

beforeAll(async () => {
  [east, west] = await Promise.all([ZooKeeperServer.start(), ZooKeeperServer.start()]);
  const ids = ['dubbo2', 'dubbo3', 'curator', 'spring', 'springDown'] as const;
  const started = await Promise.all(ids.map((id) => startEchoBackend(id)));
  backends = Object.fromEntries(ids.map((id, i) => [id, started[i]!])) as typeof backends;
  const setup = await ZkTestClient.connect(west.connectString);
  await setup.mkdirp('/prod');
  await setup.close();
  const digest = `zkxds:${PASSWORD}`;
  const [unusedDubboPort] = await freePorts(1);

  // East: a Dubbo 3 application (dubbo + tri endpoints) and a plain Curator service.
  registrars.push(
    await RegistrarProcess.curator(east.connectString, [
      {
        kind: 'dubbo3',
        basePath: '/services',
        name: 'shop',
        id: `127.0.0.1:${unusedDubboPort}`,
        address: '127.0.0.1',
        port: unusedDubboPort!,
        metadata: {
          'dubbo.endpoints': JSON.stringify([
            { port: unusedDubboPort, protocol: 'dubbo' },
            { port: backends.dubbo3.port, protocol: 'tri' },
          ]),
          'dubbo.metadata.revision': 'e2e',
        },
      },
      { kind: 'curator', basePath: '/services', name: 'inventory', id: 'inv-1', address: '127.0.0.1', port: backends.curator.port },
    ]),
  );
  // West (chroot /prod, digest ACLs): a Spring Cloud service (one instance OUT_OF_SERVICE) and a
  // Dubbo 2 provider written by kazoo.
  registrars.push(
    await RegistrarProcess.curator(
      `${west.connectString}/prod`,
      [
        {
          kind: 'spring',
          basePath: '/services',
          name: 'billing',
          id: 'bill-1',
          address: '127.0.0.1',
          port: backends.spring.port,
          metadata: { instance_status: 'UP' },
        },
        {
          kind: 'spring',
          basePath: '/services',
          name: 'billing',
          id: 'bill-2',
          address: '127.0.0.1',
          port: backends.springDown.port,
          metadata: { instance_status: 'OUT_OF_SERVICE' },
        },
      ],
      { digest },
    ),
  );
  registrars.push(
    await RegistrarProcess.kazooDubbo(
      `${west.connectString}/prod`,
      [
        {
          interface: GREETER,
          protocol: 'grpc',
          host: '127.0.0.1',
          port: backends.dubbo2.port,
          params: [
            ['application', 'demo-provider'],
            ['group', 'blue'],
            ['version', '1.0.0'],
            ['side', 'provider'],
            ['methods', 'Who'],
          ],
        },
      ],
      { digest, extra: [`/dubbo/${GREETER}/consumers`, `/dubbo/${GREETER}/configurators`, `/dubbo/${GREETER}/routers`] },
    ),
  );

  const dir = await mkdtemp(path.join(os.tmpdir(), 'zkxds-e2e-'));
  const sourcesFile = path.join(dir, 'sources.yaml');
  await writeFile(
    sourcesFile,
    `ensembles:
  - name: east
    connect: ${east.connectString}
    roots: [{ path: /services, layout: auto }, { path: /dubbo, layout: dubbo }]
  - name: west
    connect: ${west.connectString}
    chroot: /prod
    auth: { env: ${AUTH_ENV} }
    roots: [{ path: /services }, { path: /dubbo, layout: dubbo }]
`,
  );
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logText += chunk.toString('utf8');
      done();
    },
  });
  process.env[AUTH_ENV] = digest;
  try {
    server = await startServer(serveConfig('unused:1', { sourcesFile }), pino({ level: 'debug' }, sink));
  } finally {
    // Read once at start-up; child processes started later must not inherit it.
    delete process.env[AUTH_ENV];
  }
  await eventually(() => expect(server.registry.status().initialSyncDone).toBe(true), 20_000);
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  await server?.stop();
  await Promise.all(registrars.map((r) => r.kill()));
  await Promise.all(Object.values(backends ?? {}).map((b) => b.stop()));
  await Promise.all([east?.destroy(), west?.destroy()]);
});

describe('four frameworks, two ensembles, one mesh', () => {
  it.each(Object.entries(NAMES))(
    '%s is reachable as xds:///%s',
    async (kind, name) => {
      const client = await XdsClientProcess.start({ xdsServer: `127.0.0.1:${server.xdsPort}`, nodeId: `e2e-${kind}`, target: name });
      clients.push(client);
      await client.waitFor((seen) => seen.has(kind), { timeoutMs: 20_000, probeCalls: 5 });
      const results = await client.call(10);
      expect(results.map((r) => (r.ok ? r.backend : `error ${r.code}`))).toEqual(Array(10).fill(kind));
    },
    60_000,
  );

  it('never called the Spring instance marked OUT_OF_SERVICE, nor was NACKed', async () => {
    expect(backends.springDown.callCount()).toBe(0);
    expect(await totalNacks(server)).toBe(0);
  });

  it('tags each instance with its ensemble and keeps the framework identity', () => {
    expect(server.catalog.get(NAMES.dubbo2)).toMatchObject({ identity: { kind: 'dubbo-interface', interface: GREETER, group: 'blue', version: '1.0.0' } });
    expect(server.catalog.get(NAMES.dubbo2)!.instances.map((i) => i.ensemble)).toEqual(['west']);
    expect(server.catalog.get(NAMES.dubbo3)!.instances.map((i) => [i.ensemble, i.port])).toEqual([['east', backends.dubbo3.port]]);
    expect(server.catalog.get(NAMES.spring)!.instances.map((i) => i.ensemble)).toEqual(['west', 'west']);
  });

  it('kept the digest password out of every log line', () => {
    expect(logText).toContain(`env ${AUTH_ENV}`);
    expect(logText).not.toContain(PASSWORD);
  });
});
