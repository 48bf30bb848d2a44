// Sidecar scopes against a real ZooKeeper: each source (explicit znode, a Dubbo consumer written by
// a real kazoo client, node metadata) narrows what an Envoy-style node gets; a change outside a
// scope sends nothing to it; scope changes are make-before-break; invalid documents are rejected.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { silentLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { serveConfig } from '../support/serve-config.js';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import { ZooKeeperServer } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { AdsClient, type ReceivedResponse } from '../support/ads-client.js';
import { DeltaClient } from '../support/delta-client.js';
import { RegistrarProcess } from '../support/registrar-process.js';
import { SidecarObserver } from '../support/continuous-callers.js';
import { eventually } from '../support/eventually.js';
import { CliProcess } from '../support/cli-process.js';
import { expireRegistrySession } from '../support/expire-registry-session.js';

let zk: ZooKeeperServer;
let writer: ZkTestClient;
let server: RunningServer;
let kazoo: RegistrarProcess;

const reg = (ip: string, port: number, metadata: Record<string, string> = {}) => JSON.stringify({ address: ip, port, metadata });
type Obj = Record<string, unknown>;
const GREETER = 'org.example.greeter';

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  writer = await ZkTestClient.connect(zk.connectString);
  const services: Array<[string, string, number, Record<string, string>?]> = [
    ['web', '10.1.0.1', 8080],
    ['orders', '10.2.0.1', 8080],
    ['payments', '10.3.0.1', 8080],
    ['pay-gw', '10.4.0.1', 8080],
    ['api', '10.5.0.1', 9090, { protocol: 'grpc' }],
    ['db', '10.6.0.1', 5432],
  ];
  for (const [name, ip, port, md] of services) {
    await writer.mkdirp(`/services/${name}`);
    await writer.create(`/services/${name}/a`, reg(ip, port, md));
  }
  await writer.mkdirp('/zk-xds/policy');
  await writer.create('/zk-xds/policy/db', JSON.stringify({ protocol: 'tcp' }));
  await writer.mkdirp('/zk-xds/scope');
  await writer.create('/zk-xds/scope/frontend', JSON.stringify({ services: ['web', 'pay*'] }));
  // A Dubbo provider and, as Dubbo writes it, a consumer of it from application `shop`.
  kazoo = await RegistrarProcess.kazooDubbo(
    zk.connectString,
    [
      {
        interface: 'org.example.Greeter',
        protocol: 'tri',
        host: '127.0.0.1',
        port: 50051,
        params: [
          ['application', 'greeter-app'],
          ['side', 'provider'],
        ],
      },
    ],
    {
      consumers: [
        {
          interface: 'org.example.Greeter',
          host: '10.9.0.1',
          params: [
            ['application', 'shop'],
            ['category', 'consumers'],
            ['side', 'consumer'],
            ['interface', 'org.example.Greeter'],
            ['pid', '4242'],
          ],
        },
      ],
    },
  );
  server = await startServer(serveConfig(zk.connectString), silentLogger());
  await eventually(() => expect(server.registry.status().initialSyncDone).toBe(true), 15000);
  await eventually(() => expect(server.scopes.book.scopeOf('shop')).toBeDefined(), 15000);
}, 60000);

afterAll(async () => {
  await kazoo?.stop();
  await server?.stop();
  await writer?.close();
  await zk?.destroy();
});

/** Subscribes like Envoy (wildcard CDS and LDS, then the EDS and RDS names they reference), ACKing each. */
async function envoyLike(nodeId: string, cluster: string, metadata?: Record<string, string>) {
  const ads = new AdsClient(`127.0.0.1:${server.xdsPort}`);
  ads.send({ typeUrl: TYPE_URL.cluster, node: { id: nodeId, cluster, userAgent: 'envoy', ...(metadata ? { metadata } : {}) } });
  const clusters = await ads.next(TYPE_URL.cluster);
  ads.ack(clusters);
  const clusterNames = clusters.resources.map((r) => r.name);
  ads.send({ typeUrl: TYPE_URL.endpoint, names: clusterNames });
  const endpoints = clusterNames.length > 0 ? await ads.next(TYPE_URL.endpoint) : null;
  if (endpoints) ads.ack(endpoints, clusterNames);
  ads.send({ typeUrl: TYPE_URL.listener });
  const listeners = await ads.next(TYPE_URL.listener);
  ads.ack(listeners);
  const routeNames = listeners.resources.filter((l) => JSON.stringify(l.object).includes('route_config_name')).map((l) => l.name);
  ads.send({ typeUrl: TYPE_URL.route, names: routeNames });
  const routes = routeNames.length > 0 ? await ads.next(TYPE_URL.route) : null;
  if (routes) ads.ack(routes, routeNames);
  return { ads, clusterNames, listeners, routes, endpointNames: (endpoints?.resources.map((r) => r.name) ?? []).sort(), routeNames };
}

/** A state-of-the-world Envoy-style CDS subscriber that ACKs every response; `clusters` is what it holds. */
function sotwClusters(nodeId: string, cluster: string): { readonly clusters: string[]; stop(): void } {
  const ads = new AdsClient(`127.0.0.1:${server.xdsPort}`);
  ads.send({ typeUrl: TYPE_URL.cluster, node: { id: nodeId, cluster, userAgent: 'envoy' } });
  const state = { clusters: [] as string[], running: true };
  void (async () => {
    while (state.running && !ads.ended) {
      try {
        const r = await ads.next(TYPE_URL.cluster, 1000);
        state.clusters = names(r);
        ads.ack(r);
      } catch {
        // nothing within the second: look again
      }
    }
  })();
  return {
    get clusters() {
      return state.clusters;
    },
    stop: () => {
      state.running = false;
      ads.close();
    },
  };
}

const names = (r: ReceivedResponse | null) => (r?.resources.map((x) => x.name) ?? []).sort();
const vhosts = (r: ReceivedResponse | null) => (r?.resources ?? []).flatMap((x) => (x.object.virtual_hosts as Obj[]).map((v) => v.name as string)).sort();

describe('scope sources', () => {
  it('an explicit /zk-xds/scope/<node cluster> document (names and globs) narrows clusters, endpoints, listeners and routes', async () => {
    const s = await envoyLike('fe-1', 'frontend');
    expect(s.clusterNames.sort()).toEqual(['pay-gw', 'payments', 'web']);
    expect(s.endpointNames).toEqual(['pay-gw', 'payments', 'web']);
    expect(names(s.listeners)).toEqual(['zkxds-outbound-8080']);
    expect(vhosts(s.routes)).toEqual(['pay-gw', 'payments', 'web']);
    expect(server.scopes.views.describe({ id: 'fe-1', cluster: 'frontend', user_agent_name: 'envoy', locality: null }).entries).toEqual([
      { pattern: 'web', source: 'znode', from: '/zk-xds/scope/frontend' },
      { pattern: 'pay*', source: 'znode', from: '/zk-xds/scope/frontend' },
    ]);
    s.ads.close();
  });

  it('a Dubbo consumer registered by kazoo scopes its application to the provider interface', async () => {
    const entries = server.scopes.book.scopeOf('shop')!;
    expect(entries.map((e) => [e.pattern, e.source])).toEqual([[GREETER, 'dubbo-consumer']]);
    expect(entries[0]!.from).toMatch(/^\/dubbo\/org\.example\.Greeter\/consumers\/consumer%3A%2F%2F10\.9\.0\.1%2Forg\.example\.Greeter%3F/);
    const s = await envoyLike('shop-1', 'shop');
    expect(s.clusterNames).toEqual([GREETER]);
    expect(s.endpointNames).toEqual([GREETER]);
    s.ads.close();
  });

  it('node metadata zk-xds.io/scope (a comma list) scopes one node', async () => {
    const s = await envoyLike('meta-1', 'no-document', { 'zk-xds.io/scope': 'api, db' });
    expect(s.clusterNames.sort()).toEqual(['api', 'db']);
    expect(names(s.listeners)).toEqual(['zkxds-outbound-5432', 'zkxds-outbound-9090']);
    s.ads.close();
  });

  it('a node cluster without a scope gets every service, as before', async () => {
    const s = await envoyLike('all-1', 'unscoped');
    expect(s.clusterNames.sort()).toEqual(['api', 'db', GREETER, 'orders', 'pay-gw', 'payments', 'web'].sort());
    s.ads.close();
  });
});

describe('serving scoped sidecars', () => {
  it('a change to a service outside the scope sends nothing to a scoped stream (SotW and delta); one inside does', async () => {
    const scoped = await envoyLike('fe-2', 'frontend');
    const delta = new DeltaClient(`127.0.0.1:${server.xdsPort}`);
    delta.send({ typeUrl: TYPE_URL.cluster, node: { id: 'fe-3', userAgent: 'envoy', cluster: 'frontend' } });
    delta.ack(await delta.next(TYPE_URL.cluster));
    delta.send({ typeUrl: TYPE_URL.endpoint, subscribe: ['web', 'payments', 'pay-gw'] });
    delta.ack(await delta.next(TYPE_URL.endpoint));
    const unscoped = await envoyLike('all-2', 'unscoped');
    const sotwBefore = scoped.ads.responses.length;
    const deltaBefore = delta.responses.length;
    await writer.create('/services/db/b', reg('10.6.0.2', 5432));
    await writer.create('/services/orders/b', reg('10.2.0.2', 8080));
    // The unscoped node is told; by then the scoped views have seen the same change.
    await eventually(() =>
      expect(JSON.stringify(unscoped.ads.responses.filter((r) => r.typeUrl === TYPE_URL.endpoint).map((r) => r.resources.map((x) => x.object)))).toContain(
        '10.2.0.2',
      ),
    );
    await eventually(() =>
      expect(JSON.stringify(unscoped.ads.responses.filter((r) => r.typeUrl === TYPE_URL.endpoint).map((r) => r.resources.map((x) => x.object)))).toContain(
        '10.6.0.2',
      ),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(scoped.ads.responses.slice(sotwBefore)).toEqual([]);
    expect(delta.responses.slice(deltaBefore)).toEqual([]);
    await writer.create('/services/web/b', reg('10.1.0.2', 8080));
    const eds = await scoped.ads.next(TYPE_URL.endpoint, 5000, sotwBefore);
    expect(names(eds)).toEqual(['web']);
    const deltaEds = await delta.next(TYPE_URL.endpoint, 5000, deltaBefore);
    expect(deltaEds.resources.map((r) => r.name)).toEqual(['web']);
    scoped.ads.close();
    unscoped.ads.close();
    delta.close();
  });

  it('--scope-default none serves nothing to a node cluster without a scope, and its scope to one with', async () => {
    const strict = await startServer(serveConfig(zk.connectString, { scopeDefault: 'none' }), silentLogger());
    try {
      await eventually(() => expect(strict.registry.status().initialSyncDone).toBe(true), 15000);
      const ads = new AdsClient(`127.0.0.1:${strict.xdsPort}`);
      ads.send({ typeUrl: TYPE_URL.cluster, node: { id: 'strict-1', cluster: 'unscoped', userAgent: 'envoy' } });
      expect(names(await ads.next(TYPE_URL.cluster))).toEqual([]);
      ads.close();
      const scoped = new AdsClient(`127.0.0.1:${strict.xdsPort}`);
      scoped.send({ typeUrl: TYPE_URL.cluster, node: { id: 'strict-2', cluster: 'frontend', userAgent: 'envoy' } });
      expect(names(await scoped.next(TYPE_URL.cluster))).toEqual(['pay-gw', 'payments', 'web']);
      scoped.close();
    } finally {
      await strict.stop();
    }
  }, 30000);
});

describe('scope changes', () => {
  it('add a service before any route names it and drop one only after the routes stopped naming it (no dangling route on a running sidecar)', async () => {
    await writer.create('/zk-xds/scope/checkout', JSON.stringify({ services: ['web'] }));
    await eventually(() => expect(server.scopes.book.scopeOf('checkout')).toBeDefined());
    const observer = new SidecarObserver(`127.0.0.1:${server.xdsPort}`, 'checkout-1', 'checkout');
    try {
      await eventually(() => expect([...observer.clusters].sort()).toEqual(['web']));
      await eventually(() => expect([...observer.routedClusters()]).toEqual(['web']));
      observer.startChecking();
      await writer.set('/zk-xds/scope/checkout', JSON.stringify({ services: ['web', 'orders'] }));
      await eventually(() => expect([...observer.routedClusters()].sort()).toEqual(['orders', 'web']));
      expect(observer.clusters.has('orders')).toBe(true);
      await writer.set('/zk-xds/scope/checkout', JSON.stringify({ services: ['orders'] }));
      await eventually(() => expect([...observer.clusters].sort()).toEqual(['orders']));
      expect([...observer.routedClusters()]).toEqual(['orders']);
      expect(observer.dangling).toEqual([]);
    } finally {
      await observer.stop();
    }
    // Its last sidecar gone, the node cluster's scoped resources go too (and come back on demand).
    const node = { id: 'checkout-2', cluster: 'checkout', user_agent_name: 'envoy', locality: null };
    await eventually(() => expect(server.scopes.views.describe(node).services).toEqual([]));
    const again = await envoyLike('checkout-3', 'checkout');
    expect(again.clusterNames).toEqual(['orders']);
    expect(server.scopes.views.describe(node).services).toEqual(['orders']);
    again.ads.close();
  });

  it('a node cluster that gains a scope while connected moves to it without a dangling route', async () => {
    const observer = new SidecarObserver(`127.0.0.1:${server.xdsPort}`, 'late-1', 'late');
    const sotw = sotwClusters('late-2', 'late');
    try {
      await eventually(() => expect(sotw.clusters).toContain('db'));
      await eventually(() => expect(observer.clusters.has('db')).toBe(true));
      await eventually(() => expect(observer.routedClusters().has('web')).toBe(true));
      observer.startChecking();
      await writer.create('/zk-xds/scope/late', JSON.stringify({ services: ['orders'] }));
      await eventually(() => expect([...observer.clusters].sort()).toEqual(['orders']));
      expect([...observer.routedClusters()]).toEqual(['orders']);
      await eventually(() => expect(sotw.clusters).toEqual(['orders']));
      await writer.remove('/zk-xds/scope/late');
      await eventually(() => expect(observer.clusters.has('db')).toBe(true));
      await eventually(() => expect(sotw.clusters).toContain('db'));
      await eventually(() => expect(observer.routedClusters().has('web')).toBe(true));
      expect(observer.dangling).toEqual([]);
    } finally {
      sotw.stop();
      await observer.stop();
    }
  });
});

describe('ZooKeeper sessions', () => {
  it('after the session expires, scopes are read again: a document written meanwhile takes effect, the last known ones stay', async () => {
    const before = server.registry.status().sessionsOpened;
    expireRegistrySession(server.registry, [{ op: 'create', path: '/zk-xds/scope/after-expiry', data: JSON.stringify({ services: ['db'] }) }]);
    await eventually(() => expect(server.registry.status().sessionsOpened).toBeGreaterThan(before), 15000);
    await eventually(() => expect(server.scopes.book.scopeOf('after-expiry')?.map((e) => e.pattern)).toEqual(['db']), 15000);
    expect(server.scopes.book.scopeOf('shop')?.map((e) => e.pattern)).toEqual([GREETER]);
    // Watches are armed again on the new session.
    await writer.set('/zk-xds/scope/after-expiry', JSON.stringify({ services: ['api'] }));
    await eventually(() => expect(server.scopes.book.scopeOf('after-expiry')?.map((e) => e.pattern)).toEqual(['api']));
  }, 30000);
});

describe('invalid scope documents', () => {
  it('are rejected with path and field, counted, and the last good scope stays', async () => {
    await writer.set('/zk-xds/scope/frontend', JSON.stringify({ services: ['web', 'Bad Name!'] }));
    await eventually(() =>
      expect(server.scopes.watcher.errors().map((e) => [e.path, e.errors.map((f) => f.field)])).toEqual([['/zk-xds/scope/frontend', ['/services/1']]]),
    );
    expect(server.scopes.book.scopeOf('frontend')!.map((e) => e.pattern)).toEqual(['web', 'pay*']);
    await writer.set('/zk-xds/scope/frontend', '{"servics": ["web"]}');
    await eventually(() =>
      expect(
        server.scopes.watcher
          .errors()[0]!
          .errors.map((f) => f.field)
          .sort(),
      ).toEqual(['/services', '/servics']),
    );
    await writer.set('/zk-xds/scope/frontend', 'not json');
    await eventually(() => expect(server.scopes.watcher.errors()[0]!.errors).toEqual([{ field: '', message: 'is not valid JSON' }]));
    const metric = await server.metrics.registry.getSingleMetricAsString('zkxds_scope_documents_invalid_total');
    expect(metric).toContain('zkxds_scope_documents_invalid_total{node_cluster="frontend"} 3');
    const s = await envoyLike('fe-9', 'frontend');
    expect(s.clusterNames.sort()).toEqual(['pay-gw', 'payments', 'web']);
    s.ads.close();
    await writer.set('/zk-xds/scope/frontend', JSON.stringify({ services: ['web'] }));
    await eventually(() => expect(server.scopes.watcher.errors()).toEqual([]));
    expect(server.scopes.book.scopeOf('frontend')!.map((e) => e.pattern)).toEqual(['web']);
  });
});

describe('operator views', () => {
  it("/debug/proxies and `zk-xds status` show each sidecar's scope and source; `zk-xds inspect` and /debug/scopes name who has a service in scope", async () => {
    const scoped = await envoyLike('shop-2', 'shop');
    const meta = await envoyLike('meta-2', 'no-document', { 'zk-xds.io/scope': '["orders"]' });
    const admin = `http://127.0.0.1:${server.adminPort}`;
    try {
      const proxies = (await (await fetch(`${admin}/debug/proxies`)).json()) as {
        proxies: Array<{ node: string; scope?: { mode: string; entries: Array<{ pattern: string; source: string }>; services: string[] } }>;
      };
      const byNode = new Map(proxies.proxies.map((p) => [p.node, p]));
      expect(byNode.get('shop-2')!.scope).toMatchObject({ mode: 'scoped', entries: [{ pattern: GREETER, source: 'dubbo-consumer' }], services: [GREETER] });
      expect(byNode.get('meta-2')!.scope).toMatchObject({
        mode: 'scoped',
        entries: [{ pattern: 'orders', source: 'node-metadata', from: 'meta-2' }],
        services: ['orders'],
      });
      const status = await CliProcess.run(['status', '--admin', admin]);
      expect(status.stdout.split('\n').find((l) => l.startsWith('shop-2'))).toMatch(/\s1 service \(dubbo-consumer\)$/);
      const scopes = (await (await fetch(`${admin}/debug/scopes?service=${GREETER}`)).json()) as { nodeClusters: Array<{ nodeCluster: string }> };
      expect(scopes.nodeClusters.map((c) => c.nodeCluster)).toEqual(['shop']);
      const inspect = await CliProcess.run(['inspect', 'web', '--admin', admin]);
      expect(inspect.code).toBe(0);
      expect(inspect.stdout).toMatch(
        /in scope of \(sidecars of node clusters without a scope get it too\):\n\s+NODE CLUSTER\s+ENTRY\s+SOURCE\s+FROM\n(.*\n)*\s+frontend\s+web\s+znode\s+\/zk-xds\/scope\/frontend/,
      );
    } finally {
      scoped.ads.close();
      meta.ads.close();
    }
  });
});
