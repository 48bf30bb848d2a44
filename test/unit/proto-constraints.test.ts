// The PGV checker (test/support/proto-constraints.ts) must find real violations, at the exact
// field and rule, in every input form (proto-JSON, protobufjs Message, encoded Any), pass valid
// resources, and then find nothing wrong in what the translators produce for a varied catalog.
import { describe, expect, it } from '@jest/globals';
import type { Service } from '../../src/catalog/model.js';
import { ANY_TYPE } from '../../src/translate/envoy-json.js';
import { resourcesForService } from '../../src/translate/service-resources.js';
import { messageType } from '../../src/xds/protos.js';
import { decodeAny, encodeResource, type EncodedResource } from '../../src/xds/resource-encoding.js';
import { messageNameOf, TYPE_URL, type ResourceKind } from '../../src/xds/resource-types.js';
import { service, type InstanceSpec } from '../support/catalog-fixtures.js';
import { checkAny, checkMessage, checkResourceSet, type Violation } from '../support/proto-constraints.js';

type Obj = Record<string, unknown>;

const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const LOCAL_RATE_LIMIT = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const ADS = { ads: {}, resource_api_version: 'V3' };

// ---------------------------------------------------------------------------------------------
// Valid resources, written as the Envoy docs would; each bad case below breaks one thing.

function edsCluster(): Obj {
  return {
    name: 'orders',
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS, service_name: 'orders' },
    connect_timeout: { seconds: 1, nanos: 500_000_000 },
    lb_policy: 'LEAST_REQUEST',
  };
}

function lbEndpoint(address: string, port: number, weight: number): Obj {
  return {
    endpoint: { address: { socket_address: { address, port_value: port } } },
    health_status: 'HEALTHY',
    load_balancing_weight: { value: weight },
  };
}

function assignment(): Obj {
  return {
    cluster_name: 'orders',
    endpoints: [
      {
        locality: { region: 'eu-west-1', zone: 'eu-west-1a', sub_zone: '' },
        load_balancing_weight: { value: 3 },
        lb_endpoints: [lbEndpoint('10.0.0.1', 8080, 1), lbEndpoint('2001:db8::1', 8443, 2)],
      },
      {
        locality: { region: 'eu-west-1', zone: 'eu-west-1b' },
        load_balancing_weight: { value: 1 },
        lb_endpoints: [lbEndpoint('10.0.1.1', 8080, 1)],
      },
    ],
  };
}

function staticCluster(): Obj {
  const { cluster_name: _unused, ...load } = assignment();
  return { name: 'orders', type: 'STATIC', connect_timeout: { seconds: 2 }, load_assignment: { cluster_name: 'orders', ...load } };
}

function hcm(): Obj {
  return {
    '@type': ANY_TYPE.httpConnectionManager,
    stat_prefix: 'orders',
    rds: { config_source: ADS, route_config_name: 'orders' },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ANY_TYPE.router } }],
  };
}

function apiListener(): Obj {
  return { name: 'orders', api_listener: { api_listener: hcm() } };
}

function tcpListener(): Obj {
  return {
    name: 'ingress',
    address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm() }] }],
  };
}

function tcpProxyListener(): Obj {
  return {
    name: 'db',
    address: { socket_address: { address: '0.0.0.0', port_value: 5432 } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: 'db', cluster: 'orders' } }] }],
  };
}

function routeConfig(): Obj {
  return {
    name: 'orders',
    virtual_hosts: [
      {
        name: 'orders',
        domains: ['orders', 'orders.svc:8080'],
        routes: [
          { match: { prefix: '/admin', headers: [{ name: 'x-tenant', string_match: { exact: 'ops' } }] }, route: { cluster: 'orders' } },
          { match: { prefix: '' }, route: { weighted_clusters: { clusters: [{ name: 'orders', weight: { value: 100 } }] } } },
        ],
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers: one object checked in all three forms the checker accepts.

const TYPE_NAME: Readonly<Record<ResourceKind, string>> = {
  cluster: messageNameOf(TYPE_URL.cluster),
  endpoint: messageNameOf(TYPE_URL.endpoint),
  listener: messageNameOf(TYPE_URL.listener),
  route: messageNameOf(TYPE_URL.route),
};

const pathAndRule = (vs: readonly Violation[]): { path: string; rule: string }[] => vs.map(({ path, rule }) => ({ path, rule }));

function checkJson(kind: ResourceKind, object: Obj): Violation[] {
  return checkMessage(TYPE_NAME[kind], object);
}

/** fromObject with the Root src/ encodes with: the Message form. */
function checkFromObject(kind: ResourceKind, object: Obj): Violation[] {
  return checkMessage(TYPE_NAME[kind], messageType(TYPE_NAME[kind]).fromObject(object));
}

/** The bytes as sent: encodeResource, then the checker decodes them. */
function checkWire(kind: ResourceKind, object: Obj): Violation[] {
  const name = String(object.name ?? object.cluster_name);
  return checkAny(encodeResource(TYPE_URL[kind], name, object).anyBytes);
}

/** What decodeAny gives back (enums by name, 64-bit numbers as strings, Any inline or as bytes). */
function checkDecodedJson(kind: ResourceKind, object: Obj): Violation[] {
  const name = String(object.name ?? object.cluster_name);
  return checkMessage(TYPE_NAME[kind], decodeAny(encodeResource(TYPE_URL[kind], name, object).anyBytes).object);
}

function edited<T extends Obj>(make: () => T, edit: (o: T) => void): () => Obj {
  return () => {
    const o = make();
    edit(o);
    return o;
  };
}

// Deep accessors for editing nested test objects without `any`.
const at = (o: unknown, ...keys: (string | number)[]): Obj => keys.reduce<unknown>((x, k) => (x as Obj)[k], o) as Obj;

const STRICT_CHECK_HEADERS_IN =
  'string.in=["x-envoy-upstream-rq-timeout-ms","x-envoy-upstream-rq-per-try-timeout-ms","x-envoy-max-retries","x-envoy-retry-grpc-on","x-envoy-retry-on"]';

interface BadCase {
  readonly title: string;
  readonly kind: ResourceKind;
  readonly make: () => Obj;
  readonly expected: readonly { path: string; rule: string }[];
  /** False when encoding cannot carry the mistake (proto-JSON only problems). */
  readonly wire: boolean;
}

const BAD: readonly BadCase[] = [
  {
    title: 'Cluster with an empty name',
    kind: 'cluster',
    make: edited(edsCluster, (c) => (c.name = '')),
    expected: [{ path: 'Cluster[].name', rule: 'string.min_len=1' }],
    wire: true,
  },
  {
    title: 'EDS cluster with a zero connect_timeout',
    kind: 'cluster',
    make: edited(edsCluster, (c) => (c.connect_timeout = { seconds: 0 })),
    expected: [{ path: 'Cluster[orders].connect_timeout', rule: 'duration.gt=0s' }],
    wire: true,
  },
  {
    title: 'EDS cluster with a negative connect_timeout',
    kind: 'cluster',
    make: edited(edsCluster, (c) => (c.connect_timeout = { seconds: -1 })),
    expected: [
      { path: 'Cluster[orders].connect_timeout', rule: 'envoy.duration_valid' },
      { path: 'Cluster[orders].connect_timeout', rule: 'duration.gt=0s' },
    ],
    wire: true,
  },
  {
    title: 'endpoint port 70000 (ClusterLoadAssignment)',
    kind: 'endpoint',
    make: edited(assignment, (a) => (at(a, 'endpoints', 0, 'lb_endpoints', 1, 'endpoint', 'address', 'socket_address').port_value = 70000)),
    expected: [{ path: 'ClusterLoadAssignment[orders].endpoints[0].lb_endpoints[1].endpoint.address.socket_address.port_value', rule: 'uint32.lte=65535' }],
    wire: true,
  },
  {
    title: 'endpoint port 70000 (inline load_assignment)',
    kind: 'cluster',
    make: edited(
      staticCluster,
      (c) => (at(c, 'load_assignment', 'endpoints', 0, 'lb_endpoints', 1, 'endpoint', 'address', 'socket_address').port_value = 70000),
    ),
    expected: [{ path: 'Cluster[orders].load_assignment.endpoints[0].lb_endpoints[1].endpoint.address.socket_address.port_value', rule: 'uint32.lte=65535' }],
    wire: true,
  },
  {
    title: 'socket address without a port (required oneof)',
    kind: 'endpoint',
    make: edited(assignment, (a) => delete at(a, 'endpoints', 1, 'lb_endpoints', 0, 'endpoint', 'address', 'socket_address').port_value),
    expected: [{ path: 'ClusterLoadAssignment[orders].endpoints[1].lb_endpoints[0].endpoint.address.socket_address.port_specifier', rule: 'oneof.required' }],
    wire: true,
  },
  {
    title: 'lb_endpoint load_balancing_weight 0',
    kind: 'endpoint',
    make: edited(assignment, (a) => (at(a, 'endpoints', 0, 'lb_endpoints', 0).load_balancing_weight = { value: 0 })),
    expected: [{ path: 'ClusterLoadAssignment[orders].endpoints[0].lb_endpoints[0].load_balancing_weight', rule: 'uint32.gte=1' }],
    wire: true,
  },
  {
    title: 'locality load_balancing_weight 0',
    kind: 'endpoint',
    make: edited(assignment, (a) => (at(a, 'endpoints', 1).load_balancing_weight = { value: 0 })),
    expected: [{ path: 'ClusterLoadAssignment[orders].endpoints[1].load_balancing_weight', rule: 'uint32.gte=1' }],
    wire: true,
  },
  {
    title: 'HttpConnectionManager without stat_prefix (api_listener Any)',
    kind: 'listener',
    make: edited(apiListener, (l) => delete at(l, 'api_listener', 'api_listener').stat_prefix),
    expected: [{ path: 'Listener[orders].api_listener.api_listener.stat_prefix', rule: 'string.min_len=1' }],
    wire: true,
  },
  {
    title: 'route without a match',
    kind: 'route',
    make: edited(routeConfig, (r) => delete at(r, 'virtual_hosts', 0, 'routes', 0).match),
    expected: [{ path: 'RouteConfiguration[orders].virtual_hosts[0].routes[0].match', rule: 'message.required' }],
    wire: true,
  },
  {
    title: 'route without an action (required oneof)',
    kind: 'route',
    make: edited(routeConfig, (r) => delete at(r, 'virtual_hosts', 0, 'routes', 1).route),
    expected: [{ path: 'RouteConfiguration[orders].virtual_hosts[0].routes[1].action', rule: 'oneof.required' }],
    wire: true,
  },
  {
    title: 'virtual host without domains',
    kind: 'route',
    make: edited(routeConfig, (r) => (at(r, 'virtual_hosts', 0).domains = [])),
    expected: [{ path: 'RouteConfiguration[orders].virtual_hosts[0].domains', rule: 'repeated.min_items=1' }],
    wire: true,
  },
  {
    title: 'an enum number outside the enum',
    kind: 'cluster',
    make: edited(edsCluster, (c) => (c.lb_policy = 42)),
    expected: [{ path: 'Cluster[orders].lb_policy', rule: 'enum.defined_only' }],
    wire: true,
  },
  {
    title: 'a header matcher name with a newline',
    kind: 'route',
    make: edited(routeConfig, (r) => (at(r, 'virtual_hosts', 0, 'routes', 0, 'match', 'headers', 0).name = 'x-tenant\nx-evil')),
    expected: [{ path: 'RouteConfiguration[orders].virtual_hosts[0].routes[0].match.headers[0].name', rule: 'string.well_known_regex=HTTP_HEADER_NAME' }],
    wire: true,
  },
  {
    title: 'a header to remove with a newline (repeated items rule)',
    kind: 'route',
    make: edited(routeConfig, (r) => (at(r, 'virtual_hosts', 0).request_headers_to_remove = ['x-ok', 'x-bad\r\n'])),
    expected: [{ path: 'RouteConfiguration[orders].virtual_hosts[0].request_headers_to_remove[1]', rule: 'string.well_known_regex=HTTP_HEADER_NAME' }],
    wire: true,
  },
  {
    title: 'nested Any: HCM in a filter chain with an unnamed HTTP filter',
    kind: 'listener',
    make: edited(tcpListener, (l) => (at(l, 'filter_chains', 0, 'filters', 0, 'typed_config', 'http_filters', 0).name = '')),
    expected: [{ path: 'Listener[ingress].filter_chains[0].filters[0].typed_config.http_filters[0].name', rule: 'string.min_len=1' }],
    wire: true,
  },
  {
    title: 'Any in an Any: Router typed_config with a header it may not check',
    kind: 'listener',
    make: edited(apiListener, (l) => (at(l, 'api_listener', 'api_listener', 'http_filters', 0, 'typed_config').strict_check_headers = ['x-custom'])),
    expected: [{ path: 'Listener[orders].api_listener.api_listener.http_filters[0].typed_config.strict_check_headers[0]', rule: STRICT_CHECK_HEADERS_IN }],
    wire: true,
  },
  {
    title: 'an empty Any (no type_url)',
    kind: 'listener',
    make: edited(apiListener, (l) => (at(l, 'api_listener', 'api_listener', 'http_filters', 0).typed_config = {})),
    expected: [{ path: 'Listener[orders].api_listener.api_listener.http_filters[0].typed_config', rule: 'any.type_url' }],
    wire: true,
  },
  {
    title: 'TcpProxy with an empty stat_prefix',
    kind: 'listener',
    make: edited(tcpProxyListener, (l) => (at(l, 'filter_chains', 0, 'filters', 0, 'typed_config').stat_prefix = '')),
    expected: [{ path: 'Listener[db].filter_chains[0].filters[0].typed_config.stat_prefix', rule: 'string.min_len=1' }],
    wire: true,
  },
  {
    title: 'an HTTP filter type outside src/ protos (loaded on demand) with two violations',
    kind: 'listener',
    make: edited(apiListener, (l) =>
      (at(l, 'api_listener', 'api_listener', 'http_filters') as unknown as Obj[]).unshift({
        name: 'envoy.filters.http.local_ratelimit',
        typed_config: { '@type': LOCAL_RATE_LIMIT, stat_prefix: '', stage: 11 },
      }),
    ),
    expected: [
      { path: 'Listener[orders].api_listener.api_listener.http_filters[0].typed_config.stat_prefix', rule: 'string.min_len=1' },
      { path: 'Listener[orders].api_listener.api_listener.http_filters[0].typed_config.stage', rule: 'uint32.lte=10' },
    ],
    wire: false, // src/ cannot encode a type its Root does not load
  },
  {
    title: 'a metadata map key that is empty',
    kind: 'cluster',
    make: edited(edsCluster, (c) => (c.metadata = { filter_metadata: { '': { fields: {} }, 'com.example': { fields: {} } } })),
    expected: [{ path: 'Cluster[orders].metadata.filter_metadata[""]', rule: 'map.keys.string.min_len=1' }],
    wire: true,
  },
  {
    title: 'a misspelt field name (fromObject would drop it)',
    kind: 'cluster',
    make: edited(edsCluster, (c) => {
      c.conect_timeout = c.connect_timeout;
      delete c.connect_timeout;
    }),
    expected: [{ path: 'Cluster[orders].conect_timeout', rule: 'proto.unknown_field' }],
    wire: false,
  },
  {
    title: 'an enum name that does not exist (fromObject would send 0)',
    kind: 'cluster',
    make: edited(edsCluster, (c) => (c.lb_policy = 'ROUND_ROBBIN')),
    expected: [{ path: 'Cluster[orders].lb_policy', rule: 'proto.enum_name' }],
    wire: false,
  },
  {
    title: "an '@type' no vendored proto defines",
    kind: 'listener',
    make: edited(
      apiListener,
      (l) => (at(l, 'api_listener', 'api_listener', 'http_filters', 0).typed_config = { '@type': 'type.googleapis.com/example.NotVendored' }),
    ),
    // ...and what protobufjs would send instead: an Any with nothing in it.
    expected: [
      { path: 'Listener[orders].api_listener.api_listener.http_filters[0].typed_config', rule: 'any.unknown_type' },
      { path: 'Listener[orders].api_listener.api_listener.http_filters[0].typed_config', rule: 'any.type_url' },
    ],
    wire: false,
  },
];

describe('checkMessage / checkAny: hand-made bad resources', () => {
  it.each(BAD.map((c) => [c.title, c] as [string, BadCase]))('%s (proto-JSON)', (_title, c) => {
    expect(pathAndRule(checkJson(c.kind, c.make()))).toEqual(c.expected);
  });

  const wired = BAD.filter((c) => c.wire).map((c) => [c.title, c] as [string, BadCase]);
  it.each(wired)('%s (protobufjs Message)', (_title, c) => {
    expect(pathAndRule(checkFromObject(c.kind, c.make()))).toEqual(c.expected);
  });
  it.each(wired)('%s (encoded Any)', (_title, c) => {
    expect(pathAndRule(checkWire(c.kind, c.make()))).toEqual(c.expected);
  });
  it.each(wired)('%s (decoded proto-JSON)', (_title, c) => {
    expect(pathAndRule(checkDecodedJson(c.kind, c.make()))).toEqual(c.expected);
  });

  it('names the field and the value in the message', () => {
    const [v] = checkJson('endpoint', BAD.find((c) => c.title.startsWith('endpoint port 70000 (Cluster'))!.make());
    expect(v!.message).toBe('port_value is 70000: must be <= 65535');
    const [d] = checkJson('cluster', BAD.find((c) => c.title.includes('zero connect_timeout'))!.make());
    expect(d!.message).toBe('connect_timeout is 0s: must be > 0s');
    const [h] = checkJson('route', BAD.find((c) => c.title.startsWith('a header matcher name'))!.make());
    expect(h!.message).toBe('name is "x-tenant\\nx-evil": must be a valid header name (no NUL, CR or LF)');
  });

  it('uses the label given instead of Type[name]', () => {
    const bad = edited(edsCluster, (c) => (c.name = ''))();
    expect(pathAndRule(checkMessage(TYPE_NAME.cluster, bad, 'CDS#3'))).toEqual([{ path: 'CDS#3.name', rule: 'string.min_len=1' }]);
  });
});

describe('checkMessage / checkAny: valid resources pass', () => {
  const GOOD: readonly [string, ResourceKind, () => Obj, boolean][] = [
    ['EDS cluster', 'cluster', edsCluster, true],
    ['STATIC cluster with an inline load_assignment', 'cluster', staticCluster, true],
    ['ClusterLoadAssignment with localities, IPv6 and weights', 'endpoint', assignment, true],
    ['empty ClusterLoadAssignment', 'endpoint', () => ({ cluster_name: 'orders' }), true],
    ['api_listener with an HttpConnectionManager', 'listener', apiListener, true],
    ['listener with an HCM filter chain', 'listener', tcpListener, true],
    ['listener with a TcpProxy filter chain', 'listener', tcpProxyListener, true],
    ['RouteConfiguration with header matchers and weighted clusters', 'route', routeConfig, true],
  ];

  it.each(GOOD)('%s', (_title, kind, make, wire) => {
    expect(checkJson(kind, make())).toEqual([]);
    if (!wire) return;
    expect(checkFromObject(kind, make())).toEqual([]);
    expect(checkWire(kind, make())).toEqual([]);
    expect(checkDecodedJson(kind, make())).toEqual([]);
  });

  it('leaves an Any of a type it cannot load alone when the field does not restrict types', () => {
    const listener = apiListener();
    at(listener, 'api_listener', 'api_listener', 'http_filters', 0).typed_config = { type_url: 'type.googleapis.com/example.NotVendored', value: 'CgEx' };
    expect(checkWire('listener', listener)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Whole response sets.

interface JsonSet {
  clusters: Obj[];
  endpoints: Obj[];
  listeners: Obj[];
  routes: Obj[];
}

function goodSet(): JsonSet {
  return { clusters: [edsCluster()], endpoints: [assignment()], listeners: [apiListener(), tcpListener(), tcpProxyListener()], routes: [routeConfig()] };
}

describe('checkResourceSet', () => {
  it('passes a consistent set', () => {
    expect(checkResourceSet(goodSet())).toEqual([]);
  });

  const BROKEN: readonly [string, (s: JsonSet) => void, { path: string; rule: string }[]][] = [
    [
      'route to a missing cluster',
      (s) => (at(s.routes[0], 'virtual_hosts', 0, 'routes', 0, 'route').cluster = 'payments'),
      [{ path: 'RouteConfiguration[orders].virtual_hosts[0].routes[0].route.cluster', rule: 'ref.cluster' }],
    ],
    [
      'weighted cluster that is missing',
      (s) => (at(s.routes[0], 'virtual_hosts', 0, 'routes', 1, 'route', 'weighted_clusters', 'clusters', 0).name = 'gone'),
      [{ path: 'RouteConfiguration[orders].virtual_hosts[0].routes[1].route.weighted_clusters.clusters[0].name', rule: 'ref.cluster' }],
    ],
    [
      'EDS cluster without its ClusterLoadAssignment',
      (s) => (s.endpoints = []),
      [{ path: 'Cluster[orders].eds_cluster_config.service_name', rule: 'ref.cluster_load_assignment' }],
    ],
    [
      'EDS cluster without service_name falls back to its name',
      (s) => {
        delete at(s.clusters[0], 'eds_cluster_config').service_name;
        s.clusters[0]!.name = 'orders-v2';
        s.routes = [];
        s.listeners = [];
      },
      [{ path: 'Cluster[orders-v2].name', rule: 'ref.cluster_load_assignment' }],
    ],
    [
      'HCM whose rds names a missing RouteConfiguration',
      (s) => (s.routes = []),
      [
        { path: 'Listener[orders].api_listener.api_listener.rds.route_config_name', rule: 'ref.route_configuration' },
        { path: 'Listener[ingress].filter_chains[0].filters[0].typed_config.rds.route_config_name', rule: 'ref.route_configuration' },
      ],
    ],
    [
      'TcpProxy to a missing cluster',
      (s) => (at(s.listeners[2], 'filter_chains', 0, 'filters', 0, 'typed_config').cluster = 'postgres'),
      [{ path: 'Listener[db].filter_chains[0].filters[0].typed_config.cluster', rule: 'ref.cluster' }],
    ],
    ['two clusters with one name', (s) => s.clusters.push(edsCluster()), [{ path: 'Cluster[orders].name', rule: 'unique.name' }]],
    ['two assignments with one name', (s) => s.endpoints.push(assignment()), [{ path: 'ClusterLoadAssignment[orders].cluster_name', rule: 'unique.name' }]],
    ['two route configurations with one name', (s) => s.routes.push(routeConfig()), [{ path: 'RouteConfiguration[orders].name', rule: 'unique.name' }]],
    [
      'two listeners with one name',
      (s) => s.listeners.push({ ...tcpProxyListener(), address: { socket_address: { address: '0.0.0.0', port_value: 5433 } } }),
      [{ path: 'Listener[db].name', rule: 'unique.name' }],
    ],
    [
      'two listeners on one address',
      (s) => s.listeners.push({ ...tcpProxyListener(), name: 'db-2' }),
      [{ path: 'Listener[db-2].address', rule: 'unique.address' }],
    ],
  ];

  it.each(BROKEN)('finds %s', (_title, breakIt, expected) => {
    const set = goodSet();
    breakIt(set);
    expect(pathAndRule(checkResourceSet(set))).toEqual(expected);
  });

  it('reads decoded proto-JSON as well (Any as type_url + value when src/ cannot unpack it)', () => {
    const set = goodSet();
    const decoded = (kind: ResourceKind, objects: Obj[]): Obj[] =>
      objects.filter((o) => o !== set.listeners[2]).map((o) => decodeAny(encodeResource(TYPE_URL[kind], 'x', o).anyBytes).object);
    const roundTripped = {
      clusters: decoded('cluster', set.clusters),
      endpoints: decoded('endpoint', set.endpoints),
      listeners: decoded('listener', set.listeners),
      routes: decoded('route', set.routes),
    };
    expect(checkResourceSet(roundTripped)).toEqual([]);
    roundTripped.routes = [];
    expect(pathAndRule(checkResourceSet(roundTripped)).map((v) => v.rule)).toEqual(['ref.route_configuration', 'ref.route_configuration']);
  });
});

// ---------------------------------------------------------------------------------------------
// The real translator output for a generated catalog.

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-south-1'];

/** Service i of a catalog: every sixth kind of registration mix, deterministic. */
function generatedService(i: number): Service {
  const name = [`svc-${i}`, `com.example.Orders${i}`, `payments_api_${i}`][i % 3]!;
  switch (i % 6) {
    case 0:
      return service(name, 0); // no instances at all
    case 1:
      return service(name, 1 + (i % 7));
    case 2:
      return service(name, localitySpread(i));
    case 3:
      return service(name, ipv6Instances(i));
    case 4:
      return service(name, unhealthyMix(i));
    default:
      return service(name, heavyAndDuplicated(i));
  }
}

function localitySpread(i: number): InstanceSpec[] {
  return Array.from({ length: 3 + (i % 9) }, (_, n) => ({
    weight: 1 + ((n * 37 + i) % 100),
    locality: { region: REGIONS[n % 3]!, zone: `${REGIONS[n % 3]}${'abc'[n % 2]}`, subZone: n % 4 === 0 ? `rack-${n}` : '' },
  }));
}

function ipv6Instances(i: number): InstanceSpec[] {
  return Array.from({ length: 2 + (i % 4) }, (_, n) => ({
    address: n % 2 === 0 ? `2001:db8:${i.toString(16)}::${n + 1}` : `fd00::${n + 1}`,
    port: 1 + ((i * 97 + n) % 65535),
    locality: { region: REGIONS[i % 3]!, zone: '', subZone: '' },
  }));
}

/** Some services mixed, some entirely not serving (an empty assignment). */
function unhealthyMix(i: number): InstanceSpec[] {
  const allDown = i % 12 === 4;
  return Array.from({ length: 4 }, (_, n) => ({ healthy: allDown ? false : n % 2 === 0, weight: 1 + n }));
}

/** The largest weights the parsers accept, ports at both ends, and repeated address:port. */
function heavyAndDuplicated(i: number): InstanceSpec[] {
  return [
    { address: '10.9.0.1', port: 65535, weight: 1_000_000 },
    { address: '10.9.0.1', port: 65535, weight: 5 }, // same endpoint again: dropped by the translator
    { address: '10.9.0.2', port: 1, weight: 1_000_000, locality: { region: REGIONS[i % 3]!, zone: 'z', subZone: 's' } },
    { address: '::1', port: 443, weight: 1 },
  ];
}

function translatedCatalog(count: number): { encoded: EncodedResource[]; set: JsonSet } {
  const encoded: EncodedResource[] = [];
  const set: JsonSet = { clusters: [], endpoints: [], listeners: [], routes: [] };
  for (let i = 0; i < count; i++) {
    const svc = generatedService(i);
    const r = resourcesForService(svc);
    encoded.push(
      encodeResource(TYPE_URL.cluster, svc.name, r.cluster),
      encodeResource(TYPE_URL.endpoint, svc.name, r.endpoint),
      encodeResource(TYPE_URL.listener, svc.name, r.listener),
      encodeResource(TYPE_URL.route, svc.name, r.route),
    );
    set.clusters.push({ ...r.cluster });
    set.endpoints.push({ ...r.endpoint });
    set.listeners.push({ ...r.listener });
    set.routes.push({ ...r.route });
  }
  return { encoded, set };
}

describe('translator output for a generated catalog of 300 services', () => {
  const { encoded, set } = translatedCatalog(300);

  it('covers what it claims to: empty, multi-locality, IPv6 and weighted assignments', () => {
    const assignments = set.endpoints as { endpoints?: { lb_endpoints: unknown[] }[] }[];
    expect(assignments.filter((a) => (a.endpoints ?? []).length === 0).length).toBeGreaterThanOrEqual(50);
    expect(assignments.filter((a) => (a.endpoints ?? []).length > 1).length).toBeGreaterThanOrEqual(50);
    expect(JSON.stringify(set.endpoints)).toContain('2001:db8:');
    expect(encoded).toHaveLength(1200);
  });

  it('breaks no PGV rule, in the bytes as sent', () => {
    const violations = encoded.flatMap((e) => checkAny(e.anyBytes));
    expect(violations).toEqual([]);
  });

  it('breaks no PGV rule, as the proto-JSON the translators return', () => {
    const kinds: [ResourceKind, Obj[]][] = [
      ['cluster', set.clusters],
      ['endpoint', set.endpoints],
      ['listener', set.listeners],
      ['route', set.routes],
    ];
    expect(kinds.flatMap(([kind, objects]) => objects.flatMap((o) => checkJson(kind, o)))).toEqual([]);
  });

  it('is a consistent response set, as translated and as decoded from the wire', () => {
    expect(checkResourceSet(set)).toEqual([]);
    const decoded = (url: string): Obj[] => encoded.filter((e) => e.typeUrl === url).map((e) => decodeAny(e.anyBytes).object);
    expect(
      checkResourceSet({
        clusters: decoded(TYPE_URL.cluster),
        endpoints: decoded(TYPE_URL.endpoint),
        listeners: decoded(TYPE_URL.listener),
        routes: decoded(TYPE_URL.route),
      }),
    ).toEqual([]);
  });

  it('checks 2,000 encoded resources of a large catalog, finding nothing to report', () => {
    // (Typically ~100-300 ms here; a walk gone quadratic would show as a slow suite, not a flaky bound.)
    const { encoded: many } = translatedCatalog(500);
    expect(many).toHaveLength(2000);
    expect(many.flatMap((e) => checkAny(e.anyBytes))).toEqual([]);
  });
});
