// Every layout, written by real registrars, read from two real ZooKeeper servers at once: Curator
// ServiceDiscovery (plain, Spring Cloud Zookeeper and Dubbo 3 payloads side by side under one root,
// and under another base path) in ensemble `east`; Dubbo 2 providers written by kazoo into a
// digest-protected, chrooted ensemble `west`. Checks names, merging, tags, skips and that the
// password never reaches the logs.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { CatalogStore } from '../../src/catalog/catalog-store.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { validateSources } from '../../src/registry/sources-config.js';
import { ZkRegistry } from '../../src/registry/zk-registry.js';
import { eventually } from '../support/eventually.js';
import { RegistrarProcess } from '../support/registrar-process.js';
import { ZooKeeperServer } from '../support/zookeeper-server.js';
import { ZkTestClient, ZkError } from '../support/zk-test-client.js';

const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;
const DIGEST = `zkxds:${PASSWORD}`;
const GREETER = 'org.apache.dubbo.demo.GreeterService';
const DUBBO3_ENDPOINTS = JSON.stringify([
  { port: 20880, protocol: 'dubbo' },
  { port: 50051, protocol: 'tri' },
]);

let east: ZooKeeperServer;
let west: ZooKeeperServer;
const registrars: RegistrarProcess[] = [];
let registry: ZkRegistry | undefined;
const catalog = new CatalogStore();
let metrics: Metrics;
let logText = '';
let authFile: string;

function endpoints(name: string): string[] {
  return (catalog.get(name)?.instances ?? []).map((i) => `${i.ensemble}/${i.address}:${i.port}${i.healthy ? '' : ' (down)'}`).sort();
}

beforeAll(async () => {
  [east, west] = await Promise.all([ZooKeeperServer.start(), ZooKeeperServer.start()]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zkxds-auth-'));
  authFile = path.join(dir, 'west');
  await writeFile(authFile, `${DIGEST}\n`, { mode: 0o600 });
  // The chroot must exist before a chrooted client can write below it.
  const setup = await ZkTestClient.connect(west.connectString);
  await setup.mkdirp('/prod');
  await setup.close();
  registrars.push(
    await RegistrarProcess.curator(east.connectString, [
      { kind: 'curator', basePath: '/services', name: 'inventory', id: 'inv-1', address: '10.1.0.1', port: 8080 },
      { kind: 'curator', basePath: '/services', name: 'inventory', id: 'inv-2', address: '10.1.0.2', port: 8080, enabled: false },
      {
        kind: 'spring',
        basePath: '/services',
        name: 'billing',
        id: 'bill-1',
        address: '10.2.0.1',
        port: 9000,
        metadata: { instance_status: 'UP', zone: 'z1' },
      },
      {
        kind: 'spring',
        basePath: '/services',
        name: 'billing',
        id: 'bill-2',
        address: '10.2.0.2',
        port: 9000,
        metadata: { instance_status: 'OUT_OF_SERVICE' },
      },
      {
        kind: 'dubbo3',
        basePath: '/services',
        name: 'shop',
        id: '10.3.0.1:20880',
        address: '10.3.0.1',
        port: 20880,
        metadata: { 'dubbo.endpoints': DUBBO3_ENDPOINTS, 'dubbo.metadata.revision': 'a1b2', 'dubbo.metadata.storage-type': 'local' },
      },
      // Another base path, with a name the default one also has: the same service, merged.
      { kind: 'curator', basePath: '/discovery/prod', name: 'inventory', id: 'inv-3', address: '10.1.0.3', port: 8080 },
    ]),
  );
  registrars.push(
    await RegistrarProcess.kazooDubbo(
      `${west.connectString}/prod`,
      [
        {
          interface: GREETER,
          protocol: 'dubbo',
          host: '10.4.0.1',
          port: 20880,
          params: [
            ['anyhost', 'true'],
            ['application', 'demo-provider'],
            ['group', 'blue'],
            ['version', '1.0.0'],
            ['interface', GREETER],
            ['methods', 'sayHello,sayHelloAsync'],
            ['side', 'provider'],
            ['weight', '200'],
            ['deprecated', null],
            ['timestamp', '1700000000000'],
          ],
          data: '10.4.0.1',
        },
        {
          interface: GREETER,
          protocol: 'dubbo',
          host: '10.4.0.2',
          port: 20880,
          params: [
            ['application', 'demo-provider'],
            ['group', 'blue'],
            ['version', '1.0.0'],
            ['side', 'provider'],
            ['disabled', 'true'],
          ],
        },
        {
          interface: GREETER,
          protocol: 'tri',
          host: '10.4.0.3',
          port: 50051,
          params: [
            ['application', 'demo-provider'],
            ['side', 'provider'],
          ],
        },
      ],
      {
        extra: [
          `/dubbo/${GREETER}/consumers/${encodeURIComponent(`consumer://10.9.9.9/${GREETER}?side=consumer`)}`,
          `/dubbo/${GREETER}/routers`,
          `/dubbo/${GREETER}/configurators/${encodeURIComponent(`override://0.0.0.0/${GREETER}?disabled=true`)}`,
          '/dubbo/config/dubbo/dubbo.properties',
          `/dubbo/mapping/${GREETER}`,
          `/dubbo/metadata/${GREETER}/provider/demo-provider`,
        ],
        digest: DIGEST,
      },
    ),
  );
  // The same Curator service in the other ensemble (written with the credentials, so ACL'd).
  registrars.push(
    await RegistrarProcess.curator(
      `${west.connectString}/prod`,
      [{ kind: 'curator', basePath: '/services', name: 'inventory', id: 'inv-4', address: '10.1.0.4', port: 8080 }],
      { digest: DIGEST },
    ),
  );
  metrics = createMetrics({ defaultMetrics: false });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logText += chunk.toString('utf8');
      done();
    },
  });
  const sources = validateSources(
    {
      ensembles: [
        {
          name: 'east',
          connect: east.connectString,
          roots: [
            { path: '/services', layout: 'auto' },
            { path: '/discovery/prod', layout: 'curator' },
          ],
        },
        {
          name: 'west',
          connect: west.connectString,
          chroot: '/prod',
          auth: { file: authFile },
          roots: [{ path: '/dubbo', layout: 'dubbo' }, { path: '/services' }],
        },
      ],
    },
    'test',
  );
  registry = new ZkRegistry(
    { sources, policyRoot: '/zk-xds/policy', sessionTimeoutMs: 4000, debounceMs: 5, maxDelayMs: 50 },
    { log: pino({ level: 'debug' }, sink), metrics, onServices: (services, at) => catalog.offer(services, at) },
  );
  await registry.start();
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await Promise.all(registrars.map((r) => r.kill()));
  await Promise.all([east?.destroy(), west?.destroy()]);
});

describe('real registrars, two ensembles, every layout', () => {
  it('serves the plain Curator service, merged from two base paths and two ensembles, with enabled=false as not serving', () => {
    expect(endpoints('inventory')).toEqual(['east/10.1.0.1:8080', 'east/10.1.0.2:8080 (down)', 'east/10.1.0.3:8080', 'west/10.1.0.4:8080']);
    expect(catalog.get('inventory')?.identity).toEqual({ kind: 'service', name: 'inventory' });
    const sources = catalog
      .get('inventory')!
      .instances.map((i) => `${i.ensemble}:${i.source.slice(0, i.source.lastIndexOf('/'))}`)
      .sort();
    // Each instance keeps where it came from; the west one's path includes that ensemble's chroot.
    expect(sources).toEqual(['east:/discovery/prod/inventory', 'east:/services/inventory', 'east:/services/inventory', 'west:/prod/services/inventory']);
  });

  it('reads Spring Cloud and Dubbo 3 payloads side by side under one root', () => {
    expect(endpoints('billing')).toEqual(['east/10.2.0.1:9000', 'east/10.2.0.2:9000 (down)']);
    expect(catalog.get('billing')!.instances[0]!.locality.zone).toBe('z1');
    // The Dubbo 3 application: its own name on its registered port, and one service per protocol.
    expect(endpoints('shop')).toEqual(['east/10.3.0.1:20880']);
    expect(endpoints('dubbo.shop')).toEqual(['east/10.3.0.1:20880']);
    expect(endpoints('tri.shop')).toEqual(['east/10.3.0.1:50051']);
    expect(catalog.get('tri.shop')?.identity).toEqual({ kind: 'dubbo-application', application: 'shop', protocol: 'tri' });
    expect(catalog.get('tri.shop')!.instances[0]!.format).toBe('dubbo-app');
  });

  it('reads Dubbo 2 providers from the chrooted, digest-protected ensemble, a service per interface+group+version', () => {
    expect(endpoints('1-0-0.blue.org.apache.dubbo.demo.greeterservice')).toEqual(['west/10.4.0.1:20880', 'west/10.4.0.2:20880 (down)']);
    expect(endpoints('org.apache.dubbo.demo.greeterservice')).toEqual(['west/10.4.0.3:50051']);
    const blue = catalog.get('1-0-0.blue.org.apache.dubbo.demo.greeterservice')!;
    expect(blue.identity).toEqual({ kind: 'dubbo-interface', interface: GREETER, group: 'blue', version: '1.0.0' });
    const first = blue.instances[0]!;
    expect(first).toMatchObject({ format: 'dubbo', weight: 200, ensemble: 'west' });
    expect(first.source.startsWith(`/prod/dubbo/${GREETER}/providers/`)).toBe(true);
    expect(first.metadata).toMatchObject({
      application: 'demo-provider',
      methods: 'sayHello,sayHelloAsync',
      deprecated: '',
      protocol: 'dubbo',
      anyhost: 'true',
    });
  });

  it('skips consumers, routers, configurators and Dubbo bookkeeping trees without calling them invalid', () => {
    const names = [...catalog.snapshot().keys()];
    expect(names.some((n) => /config|mapping|metadata|consumer|router/.test(n))).toBe(false);
    expect(registry!.invalidRegistrations()).toEqual([]);
  });

  it('status shows both ensembles, their roots and the credentials user only', () => {
    const status = registry!.status();
    expect(status.initialSyncDone).toBe(true);
    expect(status.ensembles.map((e) => [e.name, e.state, e.chroot, e.authUser])).toEqual([
      ['east', 'connected', '', null],
      ['west', 'connected', '/prod', 'zkxds'],
    ]);
    expect(JSON.stringify(status)).not.toContain(PASSWORD);
  });

  it('ZooKeeper itself refuses the protected tree to a client without the credentials (NoAuth)', async () => {
    const anonymous = await ZkTestClient.connect(`${west.connectString}/prod`);
    try {
      const err = await anonymous.children('/dubbo').then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ZkError);
      expect((err as ZkError).code).toBe(-102);
    } finally {
      await anonymous.close();
    }
  });

  it('reports two different services on one mesh name, serves one deterministically, and recovers', async () => {
    const writer = await ZkTestClient.connect(east.connectString);
    const clash = `/services/${GREETER}`;
    try {
      await writer.mkdirp(clash);
      await writer.create(`${clash}/i1`, JSON.stringify({ address: '10.8.0.1', port: 1234 }));
      await eventually(() => expect(registry!.nameCollisions().map((c) => c.name)).toEqual(['org.apache.dubbo.demo.greeterservice']));
      const [collision] = registry!.nameCollisions();
      expect(collision!.identities).toEqual([`dubbo:${GREETER}::`, `service:${GREETER}`]);
      expect(collision!.sources).toEqual([[`west:/prod/dubbo/${GREETER}`], [`east:/services/${GREETER}`]]);
      // The identity first in sort order is served; the other is left out, not merged.
      expect(endpoints('org.apache.dubbo.demo.greeterservice')).toEqual(['west/10.4.0.3:50051']);
      expect((await metrics.nameCollisions.get()).values[0]!.value).toBe(1);
      expect(registry!.status().nameCollisions).toHaveLength(1);
      expect(logText).toContain('two different services claim one mesh name');
      await writer.removeRecursive(clash);
      await eventually(() => expect(registry!.nameCollisions()).toEqual([]));
      expect((await metrics.nameCollisions.get()).values[0]!.value).toBe(0);
    } finally {
      await writer.removeRecursive(clash);
      await writer.close();
    }
  });

  it('without the credentials, a refused root makes the read incomplete: reported, nothing offered, retried', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const offered: string[] = [];
    const blind = new ZkRegistry(
      {
        sources: validateSources(
          { ensembles: [{ name: 'west', connect: west.connectString, chroot: '/prod', roots: [{ path: '/dubbo', layout: 'dubbo' }] }] },
          'test',
        ),
        policyRoot: '/zk-xds/policy',
        sessionTimeoutMs: 4000,
        debounceMs: 5,
        maxDelayMs: 50,
      },
      { log: pino({ level: 'silent' }), metrics: m, onServices: (list) => offered.push(...list.map((s) => s.name)) },
    );
    let started = false;
    void blind.start().then(() => (started = true));
    try {
      await eventually(() => expect(blind.status().sessionsOpened).toBeGreaterThanOrEqual(2), 15_000);
      const status = blind.status();
      expect(status).toMatchObject({ initialSyncDone: false, services: 0 });
      expect(status.ensembles[0]!.unreadableRoots).toEqual([
        { path: '/prod/dubbo', kind: 'services', reason: expect.stringContaining('no credentials configured'), since: expect.any(String) },
      ]);
      expect(offered).toEqual([]);
      expect(started).toBe(false);
      // The second session is counted when it opens; its refused read follows a moment later.
      await eventually(async () => {
        const denied = (await m.zkReadErrors.get()).values.find((v) => v.labels.code === '-102');
        expect(denied?.value).toBeGreaterThanOrEqual(2);
      });
    } finally {
      await blind.stop();
    }
  });

  it('follows a registrar leaving: its ephemeral registrations disappear from the catalog', async () => {
    const kazoo = registrars[1]!;
    await kazoo.stop();
    await eventually(() => expect(endpoints('1-0-0.blue.org.apache.dubbo.demo.greeterservice')).toEqual([]), 10_000);
    expect(endpoints('org.apache.dubbo.demo.greeterservice')).toEqual([]);
  });

  it('never wrote the password to the logs', () => {
    expect(logText).toContain('using ZooKeeper digest credentials');
    expect(logText).toContain(authFile);
    expect(logText).not.toContain(PASSWORD);
  });
});
