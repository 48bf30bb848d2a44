// What a mesh sees of real Dubbo shops: kazoo writing Dubbo 2 providers over dubbo://, tri:// and
// an unknown protocol, a Dubbo 3 process registered twice (register-mode=all: interface-level
// dubbo:// and tri:// providers plus an application-level Curator instance), Curator instances with
// an IPv6 zone id and a lower-case `subzone`, and JSON instances with weight 0, all read by
// `zk-xds serve` from a real ZooKeeper. Checked through the ServiceEntries an istiod-like MCP client
// gets, the listeners and endpoints an Envoy-like sidecar gets, what a proxyless client gets, and
// /debug/catalog; and that a provider restarting on the same address leaves its ServiceEntry alone.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { decodeMcpResourceValue, decodeServiceEntryBody } from '../../src/publish/mcp-resources.js';
import { checkServiceEntry } from '../../src/translate/service-entry-checks.js';
import type { ServiceEntrySpec } from '../../src/translate/service-entry.js';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import { encodeAny } from '../../src/xds/resource-encoding.js';
import type { CatalogPage } from '../../src/admin/catalog-pages.js';
import { serveConfig } from '../support/serve-config.js';
import { ZooKeeperServer } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { RegistrarProcess, type DubboProviderSpec } from '../support/registrar-process.js';
import { IstiodLikeClient } from '../support/istiod-client.js';
import { AdsClient, type ReceivedResponse } from '../support/ads-client.js';
import { checkAny, checkResourceSet } from '../support/proto-constraints.js';
import { eventually } from '../support/eventually.js';

const SE = 'networking.istio.io/v1/ServiceEntry';
/** How long to wait for an answer on a loaded machine (an upper bound for failing, not a measurement). */
const WAIT_MS = 30_000;
jest.setTimeout(4 * WAIT_MS);
const NS = 'zk-xds';
const ORDERS = '1-0-0.g.org.acme.orders';
const GREETER = '1-0-0.org.acme.greeter';
const LEGACY = 'org.acme.legacy';
const SHOP_INTERFACE = 'org.acme.shop';
const DUBBO3_ENDPOINTS = JSON.stringify([
  { port: 20880, protocol: 'dubbo' },
  { port: 50051, protocol: 'tri' },
]);

/** The orders provider on 10.5.0.1 as one process start writes it: pid, timestamp and methods change with every start. */
function ordersProvider(pid: number, timestamp: number, methods: string): DubboProviderSpec {
  return {
    interface: 'org.acme.Orders',
    protocol: 'dubbo',
    host: '10.5.0.1',
    port: 20880,
    params: [
      ['anyhost', 'true'],
      ['application', 'orders-app'],
      ['dubbo', '2.0.2'],
      ['group', 'g'],
      ['interface', 'org.acme.Orders'],
      ['methods', methods],
      ['owner', 'team-a'],
      ['pid', String(pid)],
      ['release', '3.2.11'],
      ['side', 'provider'],
      ['tag', 'gray'],
      ['timestamp', String(timestamp)],
      ['version', '1.0.0'],
    ],
    data: '10.5.0.1',
  };
}

let zk: ZooKeeperServer;
let writer: ZkTestClient;
let server: RunningServer;
let admin: string;
let logText = '';
let ordersProcess: RegistrarProcess;
const registrars: RegistrarProcess[] = [];
const clients: Array<{ close(): void }> = [];

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  writer = await ZkTestClient.connect(zk.connectString);
  ordersProcess = await RegistrarProcess.kazooDubbo(zk.connectString, [ordersProvider(101, 1_700_000_000_001, 'cancel,create')]);
  registrars.push(
    await RegistrarProcess.kazooDubbo(zk.connectString, [
      // Drained by Dubbo's own weight=0: registered, takes no traffic.
      {
        ...ordersProvider(55, 1_700_000_000_000, 'cancel,create'),
        host: '10.5.0.2',
        data: '10.5.0.2',
        params: [
          ['application', 'orders-app'],
          ['group', 'g'],
          ['version', '1.0.0'],
          ['side', 'provider'],
          ['weight', '0'],
        ],
      },
      {
        interface: 'org.acme.Greeter',
        protocol: 'tri',
        host: '10.5.0.3',
        port: 50052,
        params: [
          ['application', 'greeter-app'],
          ['version', '1.0.0'],
          ['side', 'provider'],
          ['pid', '77'],
        ],
      },
      {
        interface: 'org.acme.Legacy',
        protocol: 'frob',
        host: '10.5.0.4',
        port: 7000,
        params: [
          ['application', 'legacy-app'],
          ['side', 'provider'],
        ],
      },
      // Dubbo 3 with register-mode=all: the interface over both protocols...
      {
        interface: 'org.acme.Shop',
        protocol: 'dubbo',
        host: '10.6.0.1',
        port: 20880,
        params: [
          ['application', 'shop'],
          ['side', 'provider'],
          ['register-mode', 'all'],
        ],
      },
      {
        interface: 'org.acme.Shop',
        protocol: 'tri',
        host: '10.6.0.1',
        port: 50051,
        params: [
          ['application', 'shop'],
          ['side', 'provider'],
          ['register-mode', 'all'],
        ],
      },
    ]),
  );
  registrars.push(
    await RegistrarProcess.curator(zk.connectString, [
      // ...and the same process as an application-level instance.
      {
        kind: 'dubbo3',
        basePath: '/services',
        name: 'shop',
        id: '10.6.0.1:20880',
        address: '10.6.0.1',
        port: 20880,
        metadata: { 'dubbo.endpoints': DUBBO3_ENDPOINTS, 'dubbo.metadata.revision': 'r1', 'dubbo.metadata.storage-type': 'local' },
      },
      { kind: 'curator', basePath: '/services', name: 'linklocal', id: 'l-1', address: 'fd00::2%eth0', port: 8080 },
      {
        kind: 'spring',
        basePath: '/services',
        name: 'billing',
        id: 'b-1',
        address: '10.2.0.1',
        port: 9000,
        metadata: { region: 'eu', zone: 'eu-1', subzone: 'rack-7' },
      },
    ]),
  );
  await writer.mkdirp('/services/drained');
  await writer.create('/services/drained/a', JSON.stringify({ address: '10.7.0.1', port: 8080, weight: 0 }));
  await writer.create('/services/drained/b', JSON.stringify({ address: '10.7.0.2', port: 8080, locality: { region: 'eu', zone: 'eu-2', sub_zone: 'r1' } }));
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logText += chunk.toString('utf8');
      done();
    },
  });
  server = await startServer(serveConfig(zk.connectString), pino({ level: 'info' }, sink));
  admin = `http://127.0.0.1:${server.adminPort}`;
  await eventually(() => expect(server.registry.status().initialSyncDone).toBe(true));
  await eventually(() => expect(server.catalog.get('linklocal')?.instances).toHaveLength(1));
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.stop();
  await Promise.all([ordersProcess, ...registrars].map((r) => r?.kill()));
  await writer?.close();
  await zk?.destroy();
});

interface Entry {
  version: string;
  spec: ServiceEntrySpec;
}

function entriesOf(r: ReceivedResponse): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const res of r.resources) {
    const { metadata, body } = decodeMcpResourceValue(res.raw.value);
    out.set(metadata.name.slice(NS.length + 1), { version: metadata.version, spec: decodeServiceEntryBody(body) });
  }
  return out;
}

async function istiod(): Promise<IstiodLikeClient> {
  const c = new IstiodLikeClient(`127.0.0.1:${server.xdsPort}`, [SE]);
  clients.push(c);
  c.subscribe();
  await eventually(() => expect(c.responsesOf(SE).length).toBeGreaterThan(0), WAIT_MS);
  c.ack(c.responsesOf(SE).at(-1)!);
  return c;
}

type Obj = Record<string, unknown>;

/** Subscribes as an Envoy sidecar: wildcard CDS and LDS, then the EDS and RDS names they name. */
async function sidecar(): Promise<{ clusters: ReceivedResponse; endpoints: ReceivedResponse; listeners: ReceivedResponse; routes: ReceivedResponse }> {
  const ads = new AdsClient(`127.0.0.1:${server.xdsPort}`);
  clients.push(ads);
  ads.send({ typeUrl: TYPE_URL.cluster, node: { id: 'envoy-1', userAgent: 'envoy' } });
  const clusters = await ads.next(TYPE_URL.cluster, WAIT_MS);
  ads.ack(clusters);
  ads.send({ typeUrl: TYPE_URL.endpoint, names: clusters.resources.map((r) => r.name) });
  const endpoints = await ads.next(TYPE_URL.endpoint, WAIT_MS);
  ads.send({ typeUrl: TYPE_URL.listener });
  const listeners = await ads.next(TYPE_URL.listener, WAIT_MS);
  const routeNames = listeners.resources.filter((l) => JSON.stringify(l.object).includes('route_config_name')).map((l) => l.name);
  ads.send({ typeUrl: TYPE_URL.route, names: routeNames });
  const routes = await ads.next(TYPE_URL.route, WAIT_MS);
  return { clusters, endpoints, listeners, routes };
}

function byName(r: ReceivedResponse): Map<string, Obj> {
  return new Map(r.resources.map((x) => [x.name, x.object as Obj]));
}

function filterOf(listener: Obj): Obj {
  return ((listener.filter_chains as Obj[])[0]!.filters as Obj[])[0]!;
}

function lbEndpoints(assignment: Obj | undefined): string[] {
  const groups =
    (assignment?.endpoints as
      | Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { address: string; port_value: number } } } }> }>
      | undefined) ?? [];
  return groups
    .flatMap((g) => g.lb_endpoints.map((e) => `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`))
    .sort();
}

describe('Dubbo registrations in the mesh', () => {
  it('maps registration protocols to ServiceEntry ports: dubbo -> TCP, tri -> GRPC, unknown -> TCP', async () => {
    const entries = entriesOf((await istiod()).responsesOf(SE).at(-1)!);
    expect(entries.get(ORDERS)!.spec.ports).toEqual([{ number: 20880, protocol: 'TCP', name: 'tcp-20880' }]);
    expect(entries.get(GREETER)!.spec.ports).toEqual([{ number: 50052, protocol: 'GRPC', name: 'grpc-50052' }]);
    expect(entries.get(LEGACY)!.spec.ports).toEqual([{ number: 7000, protocol: 'TCP', name: 'tcp-7000' }]);
    // The Dubbo 3 application: its own name on its registered (dubbo) port, and one per protocol.
    expect(entries.get('shop')!.spec.ports).toEqual([{ number: 20880, protocol: 'TCP', name: 'tcp-20880' }]);
    expect(entries.get('dubbo.shop')!.spec.ports).toEqual([{ number: 20880, protocol: 'TCP', name: 'tcp-20880' }]);
    expect(entries.get('tri.shop')!.spec.ports).toEqual([{ number: 50051, protocol: 'GRPC', name: 'grpc-50051' }]);
    for (const [name, e] of entries) expect([name, checkServiceEntry(e.spec, { namespace: NS, labels: {} }).errors]).toEqual([name, []]);
    // The unknown protocol is said once, with the service and where it was read.
    expect(logText.match(/a protocol zk-xds does not know/g)).toHaveLength(1);
    expect(logText).toMatch(/"service":"org\.acme\.legacy","protocol":"frob","source":"\/dubbo\/org\.acme\.Legacy\/providers\/frob%3A%2F%2F10\.5\.0\.4/);
    const page = (await (await fetch(`${admin}/debug/catalog`)).json()) as CatalogPage;
    const shown = new Map(page.services.map((x) => [x.name, [x.protocol, x.unknownProtocols]]));
    expect(shown.get(LEGACY)).toEqual(['tcp', ['frob']]);
    expect(shown.get(ORDERS)).toEqual(['tcp', []]);
    expect(shown.get(GREETER)).toEqual(['grpc', []]);
    expect(shown.get('linklocal')).toEqual(['http', []]);
  });

  it("keeps only stable labels: version, group, application, protocol, tags and the user's own; no pid, timestamp, methods", async () => {
    const entries = entriesOf((await istiod()).responsesOf(SE).at(-1)!);
    expect(entries.get(ORDERS)!.spec.endpoints).toEqual([
      {
        address: '10.5.0.1',
        ports: { 'tcp-20880': 20880 },
        weight: 100,
        labels: { application: 'orders-app', group: 'g', owner: 'team-a', protocol: 'dubbo', tag: 'gray', version: '1.0.0' },
      },
    ]);
    // The catalog still has everything that was read.
    const read = server.catalog.get(ORDERS)!.instances.find((i) => i.address === '10.5.0.1')!;
    expect(read.metadata).toMatchObject({ pid: '101', methods: 'cancel,create', timestamp: '1700000000001' });
    // Dubbo 3 bookkeeping metadata is not a label either.
    expect(entries.get('shop')!.spec.endpoints[0]!.labels).toEqual({ protocol: 'dubbo' });
  });

  it('weight 0 means registered, takes no traffic, for a Dubbo provider and a JSON instance alike', async () => {
    const entries = entriesOf((await istiod()).responsesOf(SE).at(-1)!);
    expect(entries.get(ORDERS)!.spec.endpoints.map((e) => e.address)).toEqual(['10.5.0.1']);
    expect(entries.get('drained')!.spec.endpoints.map((e) => e.address)).toEqual(['10.7.0.2']);
    expect(server.registry.invalidRegistrations()).toEqual([]);
    const page = (await (await fetch(`${admin}/debug/catalog?service=drained`)).json()) as CatalogPage;
    expect(page.services[0]!.instances.map((i) => [i.address, i.weight, i.healthy])).toEqual([
      ['10.7.0.1', 0, false],
      ['10.7.0.2', 1, true],
    ]);
    const { endpoints } = await sidecar();
    expect(lbEndpoints(byName(endpoints).get(ORDERS))).toEqual(['10.5.0.1:20880']);
    expect(lbEndpoints(byName(endpoints).get('drained'))).toEqual(['10.7.0.2:8080']);
  });

  it('strips an IPv6 zone id everywhere and says so on /debug/catalog; reads every spelling of subZone', async () => {
    const entries = entriesOf((await istiod()).responsesOf(SE).at(-1)!);
    expect(entries.get('linklocal')!.spec.endpoints.map((e) => e.address)).toEqual(['fd00::2']);
    const { endpoints } = await sidecar();
    expect(lbEndpoints(byName(endpoints).get('linklocal'))).toEqual(['fd00::2:8080']);
    const page = (await (await fetch(`${admin}/debug/catalog?service=linklocal`)).json()) as CatalogPage;
    expect(page.services[0]!.instances[0]).toMatchObject({ address: 'fd00::2', notes: [expect.stringContaining('IPv6 zone id "%eth0" removed')] });
    expect(entries.get('billing')!.spec.endpoints[0]!.locality).toBe('eu/eu-1/rack-7');
    expect(entries.get('drained')!.spec.endpoints[0]!.locality).toBe('eu/eu-2/r1');
  });

  it("gives sidecars a TCP proxy for dubbo and an HTTP/2 route for tri, all within Envoy's validation rules", async () => {
    const { clusters, endpoints, listeners, routes } = await sidecar();
    const l = byName(listeners);
    // Port 20880 is TCP, so one service owns it (the first by name); the others are reported.
    expect(filterOf(l.get('zkxds-outbound-20880')!)).toMatchObject({ name: 'envoy.filters.network.tcp_proxy', typed_config: { cluster: ORDERS } });
    expect(filterOf(l.get('zkxds-outbound-7000')!)).toMatchObject({ name: 'envoy.filters.network.tcp_proxy', typed_config: { cluster: LEGACY } });
    expect(filterOf(l.get('zkxds-outbound-50052')!).name).toBe('envoy.filters.network.http_connection_manager');
    expect(byName(clusters).get(GREETER)!.http2_protocol_options).toEqual({});
    expect(byName(clusters).get(ORDERS)!.http2_protocol_options).toBeUndefined();
    expect([...server.publisher.sidecarConflicts().keys()].sort()).toEqual(['dubbo.shop', 'shop']);
    // Every resource as it was sent, checked against the validate.rules in Envoy's protos.
    const all = [clusters, endpoints, listeners, routes];
    expect(all.flatMap((r) => r.resources.flatMap((res) => checkAny(anyBytesOf(res.raw))))).toEqual([]);
    expect(
      checkResourceSet({
        clusters: clusters.resources.map((r) => r.object),
        endpoints: endpoints.resources.map((r) => r.object),
        listeners: listeners.resources.map((r) => r.object),
        routes: routes.resources.map((r) => r.object),
      }),
    ).toEqual([]);
  });

  it('Dubbo 3 dual registration: both levels are served by their own names, and each routes to the process once', async () => {
    const entries = entriesOf((await istiod()).responsesOf(SE).at(-1)!);
    // The interface registered over dubbo:// and tri:// is one service speaking one protocol
    // (on a tie, grpc): its endpoint is the tri port, never both ports of the one process.
    expect(entries.get(SHOP_INTERFACE)!.spec.ports).toEqual([{ number: 50051, protocol: 'GRPC', name: 'grpc-50051' }]);
    expect(entries.get(SHOP_INTERFACE)!.spec.endpoints.map((e) => [e.address, e.ports])).toEqual([['10.6.0.1', { 'grpc-50051': 50051 }]]);
    const { endpoints } = await sidecar();
    const eds = byName(endpoints);
    expect(lbEndpoints(eds.get(SHOP_INTERFACE))).toEqual(['10.6.0.1:50051']);
    expect(lbEndpoints(eds.get('tri.shop'))).toEqual(['10.6.0.1:50051']);
    expect(lbEndpoints(eds.get('dubbo.shop'))).toEqual(['10.6.0.1:20880']);
    expect(lbEndpoints(eds.get('shop'))).toEqual(['10.6.0.1:20880']);
    // The catalog keeps both registrations of the interface, as read.
    expect(
      server.catalog
        .get(SHOP_INTERFACE)!
        .instances.map((i) => `${i.metadata.protocol}:${i.port}`)
        .sort(),
    ).toEqual(['dubbo:20880', 'tri:50051']);
    // The endpoint count is what proxies get: the interface's dubbo registration is not counted again.
    const served = [...eds.values()].reduce((n, a) => n + lbEndpoints(a).length, 0);
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    expect(metrics).toContain(`zkxds_endpoints{health="serving"} ${served}`);
  });

  it('gives proxyless gRPC clients a Listener for grpc services only: a dubbo service is not callable over gRPC', async () => {
    const ads = new AdsClient(`127.0.0.1:${server.xdsPort}`);
    clients.push(ads);
    ads.send({ typeUrl: TYPE_URL.listener, names: [ORDERS, GREETER, 'tri.shop', 'shop', LEGACY], node: { id: 'grpc-1', userAgent: 'grpc-node-js' } });
    const listeners = await ads.next(TYPE_URL.listener, WAIT_MS);
    expect(listeners.resources.map((r) => r.name).sort()).toEqual([GREETER, 'tri.shop']);
  });

  it('a provider restarting on the same address (new pid, timestamp, znode) does not change its ServiceEntry', async () => {
    const c = await istiod();
    const before = entriesOf(c.responsesOf(SE).at(-1)!).get(ORDERS)!;
    const seen = c.responsesOf(SE).length;
    // The new process registers before the old one's node is gone, as after a quick restart.
    const restarted = await RegistrarProcess.kazooDubbo(zk.connectString, [ordersProvider(202, 1_700_000_000_999, 'cancel,create,refund')]);
    registrars.push(restarted);
    await eventually(() => expect(server.catalog.get(ORDERS)!.instances.filter((i) => i.address === '10.5.0.1')).toHaveLength(2), WAIT_MS);
    await ordersProcess.stop();
    await eventually(
      () =>
        expect(
          server.catalog
            .get(ORDERS)!
            .instances.filter((i) => i.address === '10.5.0.1')
            .map((i) => i.metadata.pid),
        ).toEqual(['202']),
      WAIT_MS,
    );
    // Something else changes afterwards, so a response is certain to have come after the restart.
    await writer.create('/services/drained/c', JSON.stringify({ address: '10.7.0.3', port: 8080 }));
    await eventually(() => expect(entriesOf(c.responsesOf(SE).at(-1)!).get('drained')!.spec.endpoints).toHaveLength(2), WAIT_MS);
    const after = c
      .responsesOf(SE)
      .slice(seen)
      .map((r) => entriesOf(r).get(ORDERS)!.version);
    expect(after.length).toBeGreaterThan(0);
    expect(new Set(after)).toEqual(new Set([before.version]));
  });
});

/** The received Any re-encoded as bytes, for the validate.rules checker. */
function anyBytesOf(raw: { typeUrl: string; value: Uint8Array }): Uint8Array {
  return encodeAny(raw.typeUrl, raw.value);
}
