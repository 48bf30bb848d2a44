// An Envoy-style sidecar node (user_agent_name "envoy") against zk-xds fed by a real ZooKeeper:
// outbound listeners per port for http, grpc and tcp services, routes by host name, policy-aware
// clusters, a policy change pushed within a second, and an invalid policy rejected as a whole.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { silentLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { serveConfig } from '../support/serve-config.js';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import { ZooKeeperServer } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { AdsClient, type ReceivedResponse } from '../support/ads-client.js';
import { eventually } from '../support/eventually.js';
import { checkAny, checkResourceSet } from '../support/proto-constraints.js';
import { decodeAny } from '../../src/xds/resource-encoding.js';
import { RESOURCE_KINDS } from '../../src/xds/resource-types.js';

let zk: ZooKeeperServer;
let writer: ZkTestClient;
let server: RunningServer;

const reg = (ip: string, port: number, metadata: Record<string, string> = {}) => JSON.stringify({ address: ip, port, metadata });
type Obj = Record<string, unknown>;

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  writer = await ZkTestClient.connect(zk.connectString);
  await writer.mkdirp('/services/web');
  await writer.create('/services/web/a', reg('10.1.0.1', 8080));
  await writer.create('/services/web/b', reg('10.1.0.2', 8080));
  await writer.mkdirp('/services/api');
  await writer.create('/services/api/a', reg('10.2.0.1', 9090, { protocol: 'grpc' }));
  await writer.mkdirp('/services/db');
  await writer.create('/services/db/a', reg('10.3.0.1', 5432));
  await writer.mkdirp('/services/reviews');
  await writer.create('/services/reviews/a', reg('10.4.0.1', 8080, { version: 'v1' }));
  await writer.create('/services/reviews/b', reg('10.4.0.2', 8080, { version: 'v2' }));
  await writer.mkdirp('/zk-xds/policy');
  await writer.create('/zk-xds/policy/db', JSON.stringify({ protocol: 'tcp' }));
  await writer.create(
    '/zk-xds/policy/reviews',
    JSON.stringify({
      trafficSplit: {
        label: 'version',
        subsets: [
          { value: 'v1', weight: 90 },
          { value: 'v2', weight: 10 },
        ],
      },
      requestTimeoutMs: 3000,
      retries: { attempts: 2 },
    }),
  );
  server = await startServer(serveConfig(zk.connectString, { domainSuffix: 'mesh.local' }), silentLogger());
  await eventually(() => expect(server.registry.status().initialSyncDone).toBe(true));
}, 30000);

afterAll(async () => {
  await server?.stop();
  await writer?.close();
  await zk?.destroy();
});

/** Subscribes like Envoy: wildcard CDS and LDS, then the EDS and RDS names they reference. */
async function envoyLike(
  nodeId: string,
): Promise<{ ads: AdsClient; clusters: ReceivedResponse; listeners: ReceivedResponse; routes: ReceivedResponse; endpoints: ReceivedResponse }> {
  const ads = new AdsClient(`127.0.0.1:${server.xdsPort}`);
  ads.send({ typeUrl: TYPE_URL.cluster, node: { id: nodeId, userAgent: 'envoy' } });
  const clusters = await ads.next(TYPE_URL.cluster);
  ads.ack(clusters);
  ads.send({ typeUrl: TYPE_URL.endpoint, names: clusters.resources.map((r) => r.name) });
  const endpoints = await ads.next(TYPE_URL.endpoint);
  ads.ack(
    endpoints,
    clusters.resources.map((r) => r.name),
  );
  ads.send({ typeUrl: TYPE_URL.listener });
  const listeners = await ads.next(TYPE_URL.listener);
  ads.ack(listeners);
  const routeNames = listeners.resources.filter((l) => JSON.stringify(l.object).includes('route_config_name')).map((l) => l.name);
  ads.send({ typeUrl: TYPE_URL.route, names: routeNames });
  const routes = await ads.next(TYPE_URL.route);
  ads.ack(routes, routeNames);
  return { ads, clusters, listeners, routes, endpoints };
}

function filterOf(listener: Obj): Obj {
  return ((listener.filter_chains as Obj[])[0]!.filters as Obj[])[0]!;
}

describe('an Envoy sidecar node', () => {
  it('gets an outbound listener per port: HTTP connection managers for http and grpc, a TCP proxy for tcp', async () => {
    const { ads, listeners } = await envoyLike('sidecar-1');
    const byName = new Map(listeners.resources.map((r) => [r.name, r.object]));
    expect([...byName.keys()].sort()).toEqual(['zkxds-outbound-5432', 'zkxds-outbound-8080', 'zkxds-outbound-9090']);
    expect(filterOf(byName.get('zkxds-outbound-8080')!).name).toBe('envoy.filters.network.http_connection_manager');
    expect(filterOf(byName.get('zkxds-outbound-9090')!).name).toBe('envoy.filters.network.http_connection_manager');
    const tcp = filterOf(byName.get('zkxds-outbound-5432')!);
    expect(tcp.name).toBe('envoy.filters.network.tcp_proxy');
    expect((tcp.typed_config as Obj).cluster).toBe('db');
    expect((byName.get('zkxds-outbound-8080')!.address as Obj).socket_address).toEqual({ address: '127.0.0.1', port_value: 8080 });
    // No proxyless api_listener ever reaches an Envoy (it rejects them over LDS).
    expect(listeners.resources.some((r) => 'api_listener' in r.object)).toBe(false);
    // Every byte the sidecar view serves satisfies Envoy's validate.rules, and references resolve.
    const cache = server.caches.sidecar;
    const entries = (t: string) => [...cache.entries(t).values()];
    expect(RESOURCE_KINDS.flatMap((k) => entries(TYPE_URL[k]).flatMap((e) => checkAny(e.anyBytes)))).toEqual([]);
    const decoded = (t: string) => entries(t).map((e) => decodeAny(e.anyBytes).object);
    expect(
      checkResourceSet({
        clusters: decoded(TYPE_URL.cluster),
        endpoints: decoded(TYPE_URL.endpoint),
        listeners: decoded(TYPE_URL.listener),
        routes: decoded(TYPE_URL.route),
      }),
    ).toEqual([]);
    ads.close();
  });

  it('routes by host name, with and without the domain suffix and port, and splits traffic by subset', async () => {
    const { ads, routes, clusters, endpoints } = await envoyLike('sidecar-2');
    const port8080 = routes.resources.find((r) => r.name === 'zkxds-outbound-8080')!.object;
    const vhosts = port8080.virtual_hosts as Obj[];
    expect(vhosts.map((v) => v.name)).toEqual(['reviews', 'web']);
    expect(vhosts[1]!.domains).toEqual(['web', 'web:8080', 'web.mesh.local', 'web.mesh.local:8080']);
    const reviewsRoute = (vhosts[0]!.routes as Obj[])[0]!.route as Obj;
    expect(reviewsRoute.weighted_clusters).toEqual({
      clusters: [
        { name: 'reviews|version=v1', weight: { value: 90 } },
        { name: 'reviews|version=v2', weight: { value: 10 } },
      ],
    });
    expect(reviewsRoute.timeout).toEqual({ seconds: '3', nanos: 0 });
    expect((reviewsRoute.retry_policy as Obj).num_retries).toEqual({ value: 2 });
    expect(clusters.resources.map((c) => c.name).sort()).toEqual(['api', 'db', 'reviews', 'reviews|version=v1', 'reviews|version=v2', 'web']);
    const v2 = endpoints.resources.find((e) => e.name === 'reviews|version=v2')!.object;
    expect(JSON.stringify(v2)).toContain('10.4.0.2');
    expect(JSON.stringify(v2)).not.toContain('10.4.0.1');
    // gRPC upstreams are spoken to in HTTP/2.
    expect(clusters.resources.find((c) => c.name === 'api')!.object.http2_protocol_options).toEqual({});
    ads.close();
  });

  it('applies a policy written in ZooKeeper', async () => {
    const { ads } = await envoyLike('sidecar-3');
    const from = ads.responses.length;
    await writer.create(
      '/zk-xds/policy/web',
      JSON.stringify({ connectTimeoutMs: 1500, loadBalancing: { policy: 'MAGLEV' }, circuitBreakers: { maxRequests: 100 } }),
    );
    const update = await ads.next(TYPE_URL.cluster, 10_000, from);
    const web = update.resources.find((c) => c.name === 'web')!.object;
    expect(web).toMatchObject({ lb_policy: 'MAGLEV', connect_timeout: { seconds: '1', nanos: 500_000_000 } });
    expect(web.circuit_breakers).toEqual({ thresholds: [{ priority: 'DEFAULT', max_requests: { value: 100 } }] });
    ads.ack(update);
    // Proxyless gRPC cannot do Maglev: its view of the same cluster falls back to round robin.
    expect(server.caches.proxyless.get(TYPE_URL.cluster, 'web')!.object).toMatchObject({ lb_policy: 'ROUND_ROBIN' });
    ads.close();
  });

  it('rejects an invalid policy as a whole, keeps the previous one, and reports the path and field', async () => {
    await writer.mkdirp('/zk-xds/policy');
    await writer.remove('/zk-xds/policy/api');
    await writer.create('/zk-xds/policy/api', JSON.stringify({ connectTimeoutMs: 700 }));
    await eventually(() => expect(server.caches.sidecar.get(TYPE_URL.cluster, 'api')!.object).toMatchObject({ connect_timeout: { nanos: 700_000_000 } }));
    const { ads } = await envoyLike('sidecar-4');
    const from = ads.responses.length;
    await writer.set('/zk-xds/policy/api', JSON.stringify({ connectTimeoutMs: 900, conectTimeout: 5 }));
    await eventually(() => expect(server.registry.policyErrors().map((e) => e.service)).toEqual(['api']));
    const err = server.registry.policyErrors()[0]!;
    expect(err.path).toBe('/zk-xds/policy/api');
    expect(err.errors.map((e) => e.field)).toContain('/conectTimeout');
    expect(await ads.quietFor(300)).toEqual([]);
    expect(ads.responses.length).toBe(from);
    expect(server.caches.sidecar.get(TYPE_URL.cluster, 'api')!.object).toMatchObject({ connect_timeout: { nanos: 700_000_000 } });
    const admin = (await (await fetch(`http://127.0.0.1:${server.adminPort}/debug/policies`)).json()) as { invalid: Array<{ service: string }> };
    expect(admin.invalid.map((e) => e.service)).toEqual(['api']);
    const metric = (await server.metrics.invalidPolicies.get()).values.find((v) => v.labels.service === 'api');
    expect(metric?.value).toBeGreaterThanOrEqual(1);
    // Fixed: the error clears and the new policy applies.
    await writer.set('/zk-xds/policy/api', JSON.stringify({ connectTimeoutMs: 900 }));
    const update = await ads.next(TYPE_URL.cluster, 1000, from);
    expect(update.resources.find((c) => c.name === 'api')!.object).toMatchObject({ connect_timeout: { nanos: 900_000_000 } });
    expect(server.registry.policyErrors()).toEqual([]);
    ads.close();
  });
});
