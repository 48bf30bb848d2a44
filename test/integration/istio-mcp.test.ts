// istiod's MCP-over-xDS config source against zk-xds fed by a real ZooKeeper: readiness (a response
// to every type istiod asks for, after first requests with foreign nonces), ServiceEntries wrapped
// as istio.mcp.v1alpha1.Resource, the ACK flow, and updates when registrations change.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { silentLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { decodeMcpResourceValue, decodeServiceEntryBody, MCP_RESOURCE_TYPE_URL, SERVICE_ENTRY_BODY_TYPE_URL } from '../../src/publish/mcp-resources.js';
import { checkServiceEntry } from '../../src/translate/service-entry-checks.js';
import type { ServiceEntrySpec } from '../../src/translate/service-entry.js';
import { serveConfig } from '../support/serve-config.js';
import { ZooKeeperServer } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { eventually } from '../support/eventually.js';
import { counter } from '../support/xds-harness.js';
import type { ReceivedResponse } from '../support/ads-client.js';
import { IstiodLikeClient, ISTIOD_1_23_SERVICE_ENTRY, MESH_CONFIG_TYPE_URL } from '../support/istiod-client.js';

const SE = 'networking.istio.io/v1/ServiceEntry';
const QUIET_MS = 400;
/** The bound: registrations followed within a second. */
const UPDATE_WITHIN_MS = 1000;

let zk: ZooKeeperServer;
let writer: ZkTestClient;
let server: RunningServer;
const clients: IstiodLikeClient[] = [];

const reg = (address: string, port: number, extra: Record<string, unknown> = {}) => JSON.stringify({ address, port, ...extra });

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  writer = await ZkTestClient.connect(zk.connectString);
  await writer.mkdirp('/services/orders');
  await writer.create(
    '/services/orders/a',
    reg('10.1.0.1', 8080, { weight: 3, metadata: { version: 'v1', 'Odd Key': 'x y' }, locality: { region: 'eu', zone: 'eu-1' } }),
  );
  await writer.create('/services/orders/b', reg('fd00::2', 8080));
  await writer.mkdirp('/services/payments');
  await writer.create('/services/payments/a', reg('10.2.0.1', 9090, { metadata: { protocol: 'grpc' } }));
  server = await startServer(
    serveConfig(zk.connectString, { domainSuffix: 'zk.internal', istioNamespace: 'mesh-apps', istioRevision: 'canary', istioExportTo: ['.', 'shop'] }),
    silentLogger(),
  );
  await eventually(() => expect(server.registry.status().initialSyncDone).toBe(true));
}, 30000);

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.stop();
  await writer?.close();
  await zk?.destroy();
});

function istiod(types?: readonly string[]): IstiodLikeClient {
  const c = new IstiodLikeClient(`127.0.0.1:${server.xdsPort}`, types);
  clients.push(c);
  return c;
}

interface Entry {
  name: string;
  version: string;
  labels: Record<string, string>;
  spec: ServiceEntrySpec;
}

/** Decodes every resource of a ServiceEntry response, checking the wrapping on the way. */
function entriesOf(r: ReceivedResponse): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const res of r.resources) {
    expect(res.raw.typeUrl).toBe(MCP_RESOURCE_TYPE_URL);
    const { metadata, bodyTypeUrl, body } = decodeMcpResourceValue(res.raw.value);
    expect(bodyTypeUrl).toBe(SERVICE_ENTRY_BODY_TYPE_URL);
    out.set(metadata.name, { name: metadata.name, version: metadata.version, labels: metadata.labels, spec: decodeServiceEntryBody(body) });
  }
  return out;
}

/** Waits (at most `withinMs`) for a ServiceEntry response after the `seen` first ones. */
async function nextServiceEntries(c: IstiodLikeClient, seen: number, withinMs: number): Promise<ReceivedResponse> {
  await eventually(() => expect(c.responsesOf(SE).length).toBeGreaterThan(seen), withinMs, 10);
  return c.responsesOf(SE)[seen]!;
}

let clientCount = 0;

async function readyClient(nodeId = `istiod-${++clientCount}`): Promise<IstiodLikeClient> {
  const c = istiod();
  c.subscribe(nodeId);
  await eventually(() => expect(c.latest().size).toBe(c.types.length));
  for (const r of c.latest().values()) c.ack(r);
  return c;
}

describe('MCP-over-xDS for istiod', () => {
  it('answers every type istiod asks for (first requests with foreign nonces), so istiod becomes ready', async () => {
    const c = istiod();
    c.subscribe();
    await eventually(() => expect([...c.latest().keys()].sort()).toEqual([...c.types].sort()));
    for (const [typeUrl, r] of c.latest()) {
      expect(r.nonce).not.toBe('');
      // Every type but ServiceEntry is served as an empty set; ServiceEntry carries the catalog.
      if (typeUrl !== SE) expect(r.resources).toEqual([]);
    }
    expect(c.latest().get(MESH_CONFIG_TYPE_URL)!.resources).toEqual([]);
    expect(c.latest().get(SE)!.resources).toHaveLength(2);
    // Exactly one response per type: nothing answered twice.
    expect(c.ads.responses).toHaveLength(c.types.length);
  });

  it('serves each service as a valid ServiceEntry named <namespace>/<name>, with revision label and endpoints', async () => {
    const c = await readyClient();
    const entries = entriesOf(c.latest().get(SE)!);
    expect([...entries.keys()].sort()).toEqual(['mesh-apps/orders', 'mesh-apps/payments']);
    const orders = entries.get('mesh-apps/orders')!;
    expect(orders.labels).toEqual({ 'istio.io/rev': 'canary' });
    expect(orders.version).toMatch(/^[0-9a-f]{16}$/);
    expect(orders.spec).toEqual({
      hosts: ['orders.zk.internal'],
      ports: [{ number: 8080, protocol: 'HTTP', name: 'http-8080' }],
      location: 'MESH_INTERNAL',
      resolution: 'STATIC',
      endpoints: [
        { address: '10.1.0.1', ports: { 'http-8080': 8080 }, weight: 3, labels: { 'Odd-Key': 'x-y', version: 'v1' }, locality: 'eu/eu-1' },
        { address: 'fd00::2', ports: { 'http-8080': 8080 }, weight: 1 },
      ],
      exportTo: ['.', 'shop'],
    });
    expect(entries.get('mesh-apps/payments')!.spec.ports).toEqual([{ number: 9090, protocol: 'GRPC', name: 'grpc-9090' }]);
    for (const e of entries.values()) expect(checkServiceEntry(e.spec, { namespace: 'mesh-apps', labels: e.labels })).toEqual({ errors: [], warnings: [] });
  });

  it('serves Istio 1.22/1.23 (v1alpha3 type URL) the same resources', async () => {
    const c = istiod([MESH_CONFIG_TYPE_URL, ISTIOD_1_23_SERVICE_ENTRY]);
    c.subscribe();
    await eventually(() => expect(c.latest().size).toBe(2));
    const legacy = entriesOf(c.latest().get(ISTIOD_1_23_SERVICE_ENTRY)!);
    const current = await readyClient();
    expect(legacy).toEqual(entriesOf(current.latest().get(SE)!));
  });

  it('takes the ACK of every type and is quiet afterwards', async () => {
    const c = await readyClient('istiod-acking');
    await eventually(() => {
      const stream = server.xds.connectedStreams().find((s) => s.nodeId === 'istiod-acking')!;
      expect([...stream.subscriptions.values()].map((sub) => [sub.typeUrl, sub.syncState()])).toEqual(c.types.map((t) => [t, 'SYNCED']));
    });
    expect(await c.ads.quietFor(QUIET_MS)).toEqual([]);
    expect(await counter(server.metrics, 'acks', SE)).toBeGreaterThan(0);
  });

  it('follows registrations in ZooKeeper: added, changed without effect, removed', async () => {
    const c = await readyClient();
    const first = entriesOf(c.latest().get(SE)!);

    // A new instance: a full set within a second, orders at a new version, payments unchanged.
    await writer.create('/services/orders/c', reg('10.1.0.3', 8081));
    const added = await nextServiceEntries(c, 1, UPDATE_WITHIN_MS);
    c.ack(added);
    const afterAdd = entriesOf(added);
    expect([...afterAdd.keys()].sort()).toEqual(['mesh-apps/orders', 'mesh-apps/payments']);
    expect(afterAdd.get('mesh-apps/orders')!.spec.endpoints.map((e) => [e.address, e.ports['http-8080']])).toEqual([
      ['10.1.0.1', 8080],
      ['10.1.0.3', 8081],
      ['fd00::2', 8080],
    ]);
    expect(afterAdd.get('mesh-apps/orders')!.version).not.toBe(first.get('mesh-apps/orders')!.version);
    expect(afterAdd.get('mesh-apps/payments')!.version).toBe(first.get('mesh-apps/payments')!.version);

    // A registration change that does not show in the entry (its id): the catalog takes it, istiod hears nothing.
    await writer.set('/services/orders/c', reg('10.1.0.3', 8081, { id: 'renamed-instance' }));
    await eventually(() => expect(server.catalog.get('orders')!.instances.map((i) => i.id)).toContain('renamed-instance'));
    expect((await c.ads.quietFor(QUIET_MS)).filter((r) => r.typeUrl === SE)).toEqual([]);

    // The last registration of payments goes: its entry leaves the set.
    await writer.remove('/services/payments/a');
    const removed = await nextServiceEntries(c, 2, UPDATE_WITHIN_MS);
    c.ack(removed);
    const afterRemove = entriesOf(removed);
    expect([...afterRemove.keys()]).toEqual(['mesh-apps/orders']);
    expect(afterRemove.get('mesh-apps/orders')!.version).toBe(afterAdd.get('mesh-apps/orders')!.version);

    // It comes back: served again.
    await writer.create('/services/payments/a', reg('10.2.0.9', 9090, { metadata: { protocol: 'grpc' } }));
    const back = entriesOf(await nextServiceEntries(c, 3, UPDATE_WITHIN_MS));
    expect(back.get('mesh-apps/payments')!.spec.endpoints.map((e) => e.address)).toEqual(['10.2.0.9']);
  });
});
