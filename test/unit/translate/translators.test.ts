import { describe, expect, it } from '@jest/globals';
import type { Service } from '../../../src/catalog/model.js';
import { clusterFor, DEFAULT_CONNECT_TIMEOUT_MS } from '../../../src/translate/cluster.js';
import { endpointsFor } from '../../../src/translate/endpoints.js';
import { ANY_TYPE } from '../../../src/translate/envoy-json.js';
import type { Json } from '../../support/json.js';
import { apiListenerFor } from '../../../src/translate/listener.js';
import { routeFor } from '../../../src/translate/route.js';
import { resourcesForCatalog, resourcesForService, type ServiceResources } from '../../../src/translate/service-resources.js';
import { decodeAny, encodeResource } from '../../../src/xds/resource-encoding.js';
import { RESOURCE_KINDS, TYPE_URL, type ResourceKind } from '../../../src/xds/resource-types.js';
import { service, type InstanceSpec } from '../../support/catalog-fixtures.js';

// ---------------------------------------------------------------------------------------------
// Typed views of the proto-JSON the translators produce (only the fields the tests read).

interface LocalityJson {
  region: string;
  zone: string;
  sub_zone: string;
}
interface LbEndpointJson {
  endpoint: { address: { socket_address: { address: string; port_value: number } } };
  health_status: string;
  load_balancing_weight: { value: number };
}
interface LocalityGroupJson {
  locality: LocalityJson;
  load_balancing_weight: { value: number };
  lb_endpoints: LbEndpointJson[];
}
interface AssignmentJson {
  cluster_name: string;
  endpoints: LocalityGroupJson[];
}
interface ClusterJson {
  name: string;
  type: string;
  lb_policy: string;
  connect_timeout: { seconds: number; nanos: number };
  eds_cluster_config: { service_name: string; eds_config: { ads: Json; resource_api_version: string } };
}
interface RouteJson {
  name: string;
  virtual_hosts: { name: string; domains: string[]; routes: { match: { prefix: string }; route: { cluster: string } }[] }[];
}
interface HttpConnectionManagerJson {
  '@type': string;
  stat_prefix: string;
  rds: { route_config_name: string; config_source: { ads: Json; resource_api_version: string } };
  http_filters: { name: string; typed_config: { '@type': string } }[];
}
interface ListenerJson {
  name: string;
  api_listener: { api_listener: HttpConnectionManagerJson };
}

const asAssignment = (j: object): AssignmentJson => j as unknown as AssignmentJson;
const asCluster = (j: object): ClusterJson => j as unknown as ClusterJson;
const asRoute = (j: object): RouteJson => j as unknown as RouteJson;
const asListener = (j: object): ListenerJson => j as unknown as ListenerJson;

/** "region/zone/sub_zone" of a locality group, for compact expectations. */
function localityLabel(g: LocalityGroupJson): string {
  return `${g.locality.region}/${g.locality.zone}/${g.locality.sub_zone}`;
}

/** "address:port*weight" of an lb endpoint (IPv6 in brackets so the port stays readable). */
function endpointLabel(e: LbEndpointJson): string {
  const sa = e.endpoint.address.socket_address;
  const host = sa.address.includes(':') ? `[${sa.address}]` : sa.address;
  return `${host}:${sa.port_value}*${e.load_balancing_weight.value}`;
}

interface GroupSummary {
  locality: string;
  weight: number;
  endpoints: string[];
}

function summarize(assignment: AssignmentJson): GroupSummary[] {
  return assignment.endpoints.map((g) => ({
    locality: localityLabel(g),
    weight: g.load_balancing_weight.value,
    endpoints: g.lb_endpoints.map(endpointLabel),
  }));
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const zone = (region: string, z: string, subZone = ''): InstanceSpec['locality'] => ({ region, zone: z, subZone });

// ---------------------------------------------------------------------------------------------

describe('resource names and cross-references', () => {
  it.each<[string, Service]>([
    ['a plain name', service('orders', 2)],
    ['a dotted, dashed name', service('billing-v2.payments.internal', 1)],
    ['a name with a slash (as a gRPC target path may have)', service('team/orders', 1)],
    ['a service with zero instances', service('empty', 0)],
  ])('%s: listener -> route -> cluster -> EDS service_name -> assignment all agree', (_title, svc) => {
    const r = resourcesForService(svc);
    const listener = asListener(r.listener);
    const route = asRoute(r.route);
    const cluster = asCluster(r.cluster);
    const assignment = asAssignment(r.endpoint);

    // A gRPC client dialing xds:///<service> asks for the Listener named exactly like the service.
    expect(listener.name).toBe(svc.name);
    const hcm = listener.api_listener.api_listener;
    expect(hcm.rds.route_config_name).toBe(route.name);

    expect(route.virtual_hosts).toHaveLength(1);
    const vhost = route.virtual_hosts[0]!;
    expect(vhost.domains).toEqual([svc.name]);
    expect(vhost.routes).toHaveLength(1);
    expect(vhost.routes[0]!.route.cluster).toBe(cluster.name);

    expect(cluster.eds_cluster_config.service_name).toBe(assignment.cluster_name);
    expect(assignment.cluster_name).toBe(svc.name);
  });

  it('each translator names its resource after the service', () => {
    const svc = service('inventory', 1);
    expect(asCluster(clusterFor(svc)).name).toBe('inventory');
    expect(asAssignment(endpointsFor(svc)).cluster_name).toBe('inventory');
    expect(asRoute(routeFor(svc)).name).toBe('inventory');
    expect(asListener(apiListenerFor(svc)).name).toBe('inventory');
  });

  it('resourcesForService is exactly the four translators', () => {
    const svc = service('orders', [{ locality: zone('r', 'z') }, { weight: 4 }]);
    expect(resourcesForService(svc)).toEqual({
      cluster: clusterFor(svc),
      endpoint: endpointsFor(svc),
      listener: apiListenerFor(svc),
      route: routeFor(svc),
    });
  });

  it('resourcesForCatalog translates every service under its own name', () => {
    const a = service('a', 1);
    const b = service('b', 0);
    const out = resourcesForCatalog(
      new Map([
        ['a', a],
        ['b', b],
      ]),
    );
    expect([...out.keys()]).toEqual(['a', 'b']);
    expect(out.get('a')).toEqual(resourcesForService(a));
    expect(out.get('b')).toEqual(resourcesForService(b));
  });
});

describe('clusterFor', () => {
  it('is an EDS cluster fed over ADS, round robin; sidecars get the default connect timeout, gRPC (which ignores it) none', () => {
    const proxyless = {
      name: 'orders',
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: 'orders' },
      lb_policy: 'ROUND_ROBIN',
    };
    expect(clusterFor(service('orders', 1))).toEqual(proxyless);
    expect(clusterFor(service('orders', 1), 'sidecar')).toEqual({
      ...proxyless,
      connect_timeout: { seconds: Math.floor(DEFAULT_CONNECT_TIMEOUT_MS / 1000), nanos: (DEFAULT_CONNECT_TIMEOUT_MS % 1000) * 1e6 },
    });
  });

  it('does not depend on instances', () => {
    expect(clusterFor(service('orders', 0))).toEqual(clusterFor(service('orders', [{ weight: 9, locality: zone('x', 'y') }])));
  });
});

describe('routeFor and apiListenerFor', () => {
  it('routes every path of the service host to the service cluster', () => {
    expect(routeFor(service('orders', 1))).toEqual({
      name: 'orders',
      virtual_hosts: [{ name: 'orders', domains: ['orders'], routes: [{ match: { prefix: '' }, route: { cluster: 'orders' } }] }],
    });
  });

  it('builds an api_listener HttpConnectionManager with RDS over ADS and the router filter last', () => {
    const hcm = asListener(apiListenerFor(service('orders', 1))).api_listener.api_listener;
    expect(hcm['@type']).toBe(ANY_TYPE.httpConnectionManager);
    expect(hcm.stat_prefix).toBe('orders');
    expect(hcm.rds.config_source).toEqual({ ads: {}, resource_api_version: 'V3' });
    expect(hcm.http_filters.at(-1)).toEqual({ name: 'envoy.filters.http.router', typed_config: { '@type': ANY_TYPE.router } });
  });
});

// ---------------------------------------------------------------------------------------------

describe('endpointsFor', () => {
  const NONE = '//';

  it.each<[string, InstanceSpec[], GroupSummary[]]>([
    ['no instances: an empty assignment', [], []],
    ['only unhealthy instances: an empty assignment', [{ healthy: false }, { healthy: false, address: '10.0.0.9' }], []],
    [
      'unhealthy instances are left out, healthy ones kept in order',
      [{ address: '10.0.0.1' }, { address: '10.0.0.2', healthy: false }, { address: '10.0.0.3' }],
      [{ locality: NONE, weight: 2, endpoints: ['10.0.0.1:8080*1', '10.0.0.3:8080*1'] }],
    ],
    [
      'duplicate address:port collapses to the first registration',
      [
        { address: '10.0.0.1', port: 80, weight: 2 },
        { address: '10.0.0.1', port: 80, weight: 7 },
        { address: '10.0.0.2', port: 80 },
      ],
      [{ locality: NONE, weight: 3, endpoints: ['10.0.0.1:80*2', '10.0.0.2:80*1'] }],
    ],
    [
      'duplicate across localities keeps the first one and its locality',
      [
        { address: '10.0.0.1', port: 80, locality: zone('us', 'b') },
        { address: '10.0.0.1', port: 80, locality: zone('us', 'a') },
      ],
      [{ locality: 'us/b/', weight: 1, endpoints: ['10.0.0.1:80*1'] }],
    ],
    [
      'an unhealthy first duplicate does not hide a healthy later one',
      [
        { address: '10.0.0.1', port: 80, healthy: false, weight: 5 },
        { address: '10.0.0.1', port: 80, weight: 3 },
      ],
      [{ locality: NONE, weight: 3, endpoints: ['10.0.0.1:80*3'] }],
    ],
    [
      'same address on different ports are different endpoints',
      [
        { address: '10.0.0.1', port: 80 },
        { address: '10.0.0.1', port: 81 },
      ],
      [{ locality: NONE, weight: 2, endpoints: ['10.0.0.1:80*1', '10.0.0.1:81*1'] }],
    ],
    [
      'per-endpoint weights are kept; the locality weight is their sum',
      [{ weight: 1 }, { weight: 10 }, { weight: 100 }],
      [{ locality: NONE, weight: 111, endpoints: ['10.0.0.1:8080*1', '10.0.0.2:8080*10', '10.0.0.3:8080*100'] }],
    ],
    [
      'a weight of 0 (outside the model contract) still gives a locality weight of at least 1',
      [{ weight: 0 }],
      [{ locality: NONE, weight: 1, endpoints: ['10.0.0.1:8080*0'] }],
    ],
    [
      'IPv6 addresses pass through unbracketed, and dedupe by address:port',
      [
        { address: '2001:db8::1', port: 443 },
        { address: '2001:db8::1', port: 443, weight: 9 },
        { address: '::1', port: 443 },
        { address: '10.0.0.1', port: 443 },
      ],
      [{ locality: NONE, weight: 3, endpoints: ['[2001:db8::1]:443*1', '[::1]:443*1', '10.0.0.1:443*1'] }],
    ],
    [
      'several localities are grouped and sorted by region, zone, sub-zone',
      [
        { address: '10.0.0.1', locality: zone('us-west', 'b'), weight: 2 },
        { address: '10.0.0.2', locality: zone('eu-central', 'a') },
        { address: '10.0.0.3', locality: zone('us-west', 'a', 'rack2') },
        { address: '10.0.0.4', locality: zone('us-west', 'a', 'rack1'), weight: 4 },
        { address: '10.0.0.5' },
        { address: '10.0.0.6', locality: zone('us-west', 'b'), weight: 3 },
        { address: '10.0.0.7', locality: zone('us-west', 'a') },
      ],
      [
        { locality: NONE, weight: 1, endpoints: ['10.0.0.5:8080*1'] },
        { locality: 'eu-central/a/', weight: 1, endpoints: ['10.0.0.2:8080*1'] },
        { locality: 'us-west/a/', weight: 1, endpoints: ['10.0.0.7:8080*1'] },
        { locality: 'us-west/a/rack1', weight: 4, endpoints: ['10.0.0.4:8080*4'] },
        { locality: 'us-west/a/rack2', weight: 1, endpoints: ['10.0.0.3:8080*1'] },
        { locality: 'us-west/b/', weight: 5, endpoints: ['10.0.0.1:8080*2', '10.0.0.6:8080*3'] },
      ],
    ],
    [
      'a region-only locality sorts before the same region with a zone',
      [
        { address: '10.0.0.1', locality: zone('r', 'z') },
        { address: '10.0.0.2', locality: zone('r', '') },
      ],
      [
        { locality: 'r//', weight: 1, endpoints: ['10.0.0.2:8080*1'] },
        { locality: 'r/z/', weight: 1, endpoints: ['10.0.0.1:8080*1'] },
      ],
    ],
    [
      'a locality whose instances are all unhealthy is not emitted',
      [
        { address: '10.0.0.1', locality: zone('a', '1'), healthy: false },
        { address: '10.0.0.2', locality: zone('b', '1') },
      ],
      [{ locality: 'b/1/', weight: 1, endpoints: ['10.0.0.2:8080*1'] }],
    ],
  ])('%s', (_title, specs, expected) => {
    const assignment = asAssignment(endpointsFor(service('svc', specs)));
    expect(assignment.cluster_name).toBe('svc');
    expect(summarize(assignment)).toEqual(expected);
  });

  it('writes the full proto-JSON shape of an endpoint and its locality', () => {
    const assignment = endpointsFor(service('svc', [{ address: '10.1.2.3', port: 9000, weight: 5, locality: zone('eu', 'eu-1', 'rack-7') }]));
    expect(assignment).toEqual({
      cluster_name: 'svc',
      endpoints: [
        {
          locality: { region: 'eu', zone: 'eu-1', sub_zone: 'rack-7' },
          load_balancing_weight: { value: 5 },
          lb_endpoints: [
            {
              endpoint: { address: { socket_address: { address: '10.1.2.3', port_value: 9000 } } },
              health_status: 'HEALTHY',
              load_balancing_weight: { value: 5 },
            },
          ],
        },
      ],
    });
  });

  it('a service with zero instances still gets a cluster, route and listener', () => {
    const r = resourcesForService(service('empty', 0));
    expect(r.endpoint).toEqual({ cluster_name: 'empty', endpoints: [] });
    expect(asCluster(r.cluster).name).toBe('empty');
    expect(asRoute(r.route).name).toBe('empty');
    expect(asListener(r.listener).name).toBe('empty');
  });

  it('locality order does not depend on instance order', () => {
    const specs: InstanceSpec[] = [
      { address: '10.0.0.1', locality: zone('c', '1') },
      { address: '10.0.0.2', locality: zone('a', '2') },
      { address: '10.0.0.3', locality: zone('b', '1') },
      { address: '10.0.0.4', locality: zone('a', '1') },
    ];
    const forward = summarize(asAssignment(endpointsFor(service('svc', specs))));
    const backward = summarize(asAssignment(endpointsFor(service('svc', [...specs].reverse()))));
    expect(forward.map((g) => g.locality)).toEqual(['a/1/', 'a/2/', 'b/1/', 'c/1/']);
    expect(backward.map((g) => g.locality)).toEqual(forward.map((g) => g.locality));
  });

  it.each([
    ['one locality', 1],
    ['three localities', 3],
  ])('scales weights down when their sums would pass the uint32 maximum (%s)', (_label, localities) => {
    // 4295 instances at the largest accepted weight (1e6) sum past 2^32 - 1, the limit Envoy puts
    // on a locality's endpoint weights and on a priority's locality weights.
    const specs: InstanceSpec[] = Array.from({ length: 4295 }, (_, i) => ({
      weight: i === 0 ? 1 : 1_000_000,
      address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
      locality: zone(`r${i % localities}`, '1'),
    }));
    const assignment = asAssignment(endpointsFor(service('big', specs)));
    expect(assignment.endpoints).toHaveLength(localities);
    const groups = assignment.endpoints;
    expect(groups.flatMap((g) => g.lb_endpoints)).toHaveLength(4295);
    for (const g of groups) {
      const endpointSum = g.lb_endpoints.reduce((s, e) => s + e.load_balancing_weight.value, 0);
      expect(endpointSum).toBeLessThanOrEqual(0xffffffff);
      expect(g.load_balancing_weight.value).toBe(endpointSum);
      expect(g.lb_endpoints.every((e) => e.load_balancing_weight.value >= 1)).toBe(true);
    }
    expect(groups.reduce((s, g) => s + g.load_balancing_weight.value, 0)).toBeLessThanOrEqual(0xffffffff);
  });
});

// ---------------------------------------------------------------------------------------------

describe('purity', () => {
  const cases: [string, () => Service][] = [
    ['empty service', () => service('empty', 0)],
    [
      'mixed service',
      () =>
        service('mixed', [
          { address: '10.0.0.1', locality: zone('b', '1'), weight: 3, metadata: { version: 'v1' } },
          { address: '10.0.0.1', locality: zone('a', '1') },
          { address: '2001:db8::5', port: 9090, healthy: false },
          { address: '10.0.0.2', locality: zone('a', '1', 'x') },
        ]),
    ],
  ];

  it.each(cases)('%s: same input twice gives deep-equal output, and the frozen input is untouched', (_title, build) => {
    const input = deepFreeze(build());
    const before = structuredClone(input);
    const first = resourcesForService(input);
    const second = resourcesForService(input);
    expect(second).toEqual(first);
    expect(resourcesForService(build())).toEqual(first);
    expect(input).toEqual(before);
  });

  it.each(cases)('%s: outputs do not share mutable state between calls', (_title, build) => {
    const input = deepFreeze(build());
    const first = resourcesForService(input);
    const snapshot = structuredClone(first);
    // Mutating a first result must not leak into a later one.
    (asAssignment(first.endpoint).endpoints as unknown[]).push('garbage');
    expect(resourcesForService(input)).toEqual(snapshot);
  });
});

// ---------------------------------------------------------------------------------------------

describe('translated resources fit the vendored protos', () => {
  const services: [string, Service][] = [
    ['zero instances', service('empty', 0)],
    [
      'localities, weights, IPv6, an unhealthy instance',
      service('orders', [
        { address: '10.0.0.1', locality: zone('us', 'a', 'r1'), weight: 7 },
        { address: '2001:db8::1', port: 443, locality: zone('eu', 'b') },
        { address: '10.0.0.3', healthy: false },
      ]),
    ],
  ];

  function roundTrip(kind: ResourceKind, r: ServiceResources, name: string): Record<string, unknown> {
    const encoded = encodeResource(TYPE_URL[kind], name, r[kind]);
    expect(encoded.name).toBe(name);
    expect(encoded.typeUrl).toBe(TYPE_URL[kind]);
    const decoded = decodeAny(encoded.anyBytes);
    expect(decoded.typeUrl).toBe(TYPE_URL[kind]);
    return decoded.object;
  }

  it.each(services)('%s: every kind encodes and decodes with its type URL', (_title, svc) => {
    const r = resourcesForService(svc);
    const nameField: Record<ResourceKind, string> = { cluster: 'name', endpoint: 'cluster_name', listener: 'name', route: 'name' };
    for (const kind of RESOURCE_KINDS) {
      const object = roundTrip(kind, r, svc.name);
      expect({ kind, name: object[nameField[kind]] }).toEqual({ kind, name: svc.name });
    }
  });

  it.each(services)('%s: cluster enums and references survive', (_title, svc) => {
    const cluster = roundTrip('cluster', resourcesForService(svc), svc.name);
    expect(cluster).toEqual({
      name: svc.name,
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: svc.name },
      lb_policy: 'ROUND_ROBIN',
    });
  });

  it.each(services)('%s: listener keeps the HttpConnectionManager and router Any @types', (_title, svc) => {
    const listener = roundTrip('listener', resourcesForService(svc), svc.name) as unknown as ListenerJson;
    expect(listener.name).toBe(svc.name);
    const hcm = listener.api_listener.api_listener;
    expect(hcm['@type']).toBe(ANY_TYPE.httpConnectionManager);
    expect(hcm.stat_prefix).toBe(svc.name);
    expect(hcm.rds).toEqual({ config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: svc.name });
    expect(hcm.http_filters).toEqual([{ name: 'envoy.filters.http.router', typed_config: { '@type': ANY_TYPE.router } }]);
  });

  it.each(services)('%s: route keeps its (empty-string) prefix match, which is a oneof', (_title, svc) => {
    const route = roundTrip('route', resourcesForService(svc), svc.name);
    expect(route).toEqual({
      name: svc.name,
      virtual_hosts: [{ name: svc.name, domains: [svc.name], routes: [{ match: { prefix: '' }, route: { cluster: svc.name } }] }],
    });
  });

  it('endpoint assignment keeps health_status, weights, localities and addresses', () => {
    const svc = services[1]![1];
    const assignment = roundTrip('endpoint', resourcesForService(svc), svc.name) as unknown as AssignmentJson;
    expect(assignment.cluster_name).toBe('orders');
    expect(summarize(assignment)).toEqual([
      { locality: 'eu/b/', weight: 1, endpoints: ['[2001:db8::1]:443*1'] },
      { locality: 'us/a/r1', weight: 7, endpoints: ['10.0.0.1:8080*7'] },
    ]);
    for (const g of assignment.endpoints) for (const e of g.lb_endpoints) expect(e.health_status).toBe('HEALTHY');
  });

  it('an empty assignment round-trips to no endpoints', () => {
    const assignment = roundTrip('endpoint', resourcesForService(service('empty', 0)), 'empty');
    expect(assignment).toEqual({ cluster_name: 'empty' });
  });

  it('equal inputs encode to equal versions; different endpoints to different ones', () => {
    const v = (svc: Service): string => encodeResource(TYPE_URL.endpoint, svc.name, endpointsFor(svc)).version;
    expect(v(service('svc', 3))).toBe(v(service('svc', 3)));
    expect(v(service('svc', 3))).not.toBe(v(service('svc', 2)));
    expect(v(service('svc', [{ weight: 1 }]))).not.toBe(v(service('svc', [{ weight: 2 }])));
  });
});
