// Table-driven tests of how each ServicePolicy field is translated, for both audiences: proxyless
// gRPC (what gRPC's xDS client implements) and Envoy sidecars. Every translated object is also
// checked against the validate.rules of its Envoy proto.
import { describe, expect, it } from '@jest/globals';
import type { Service } from '../../../src/catalog/model.js';
import type { LoadBalancing, Protocol, ServicePolicy } from '../../../src/catalog/policy.js';
import { clusterFor, clustersFor, DEFAULT_CONNECT_TIMEOUT_MS } from '../../../src/translate/cluster.js';
import { assignmentsFor, endpointsFor } from '../../../src/translate/endpoints.js';
import { ANY_TYPE, type Audience } from '../../../src/translate/envoy-json.js';
import type { Json } from '../../support/json.js';
import { routeFor } from '../../../src/translate/route.js';
import { routeActionFor } from '../../../src/translate/route-action.js';
import { protocolOf, sidecarPortOf, subsetClusterName, subsetsOf } from '../../../src/translate/service-shape.js';
import { portRouteFor } from '../../../src/translate/sidecar-route.js';
import { sidecarDomains, virtualHostFor } from '../../../src/translate/virtual-host.js';
import { service, type InstanceSpec } from '../../support/catalog-fixtures.js';
import { checkMessage } from '../../support/proto-constraints.js';

// ---------------------------------------------------------------------------------------------
// Helpers

const AUDIENCES: readonly Audience[] = ['proxyless', 'sidecar'];

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const ROUTE_CONFIGURATION = 'envoy.config.route.v3.RouteConfiguration';
const ASSIGNMENT = 'envoy.config.endpoint.v3.ClusterLoadAssignment';

/** The sidecar port and domain suffix the sidecar route configurations are built with. */
const SIDECAR_PORT = 8080;
const SUFFIX = 'svc.mesh';

type Obj = Record<string, unknown>;

interface Duration {
  seconds: number;
  nanos: number;
}
interface VirtualHostJson {
  name: string;
  domains: string[];
  routes: { match: { prefix: string }; route: Obj }[];
}
interface RouteConfigurationJson {
  name: string;
  virtual_hosts: VirtualHostJson[];
}
interface AssignmentJson {
  cluster_name: string;
  endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { address: string; port_value: number } } } }[] }[];
}

const ms = (seconds: number, nanos = 0): Duration => ({ seconds, nanos });

function expectValid(typeName: string, object: object): void {
  expect(checkMessage(typeName, object)).toEqual([]);
}

/** All clusters of the service for the audience, each checked against the Cluster proto. */
function validClusters(svc: Service, audience: Audience): Obj[] {
  const clusters = clustersFor(svc, audience);
  for (const c of clusters) expectValid(CLUSTER, c);
  return clusters as Obj[];
}

/** The service's main cluster for the audience, checked against the Cluster proto. */
function validCluster(svc: Service, audience: Audience): Obj {
  const main = clusterFor(svc, audience);
  expect(main).toEqual(clustersFor(svc, audience)[0]);
  expectValid(CLUSTER, main);
  return main as Obj;
}

/**
 * The RouteConfiguration the audience gets for the service (proxyless: routeFor; sidecar: the
 * port's route with just this service), checked against its proto.
 */
function validRouteConfig(svc: Service, audience: Audience): RouteConfigurationJson {
  const config = audience === 'proxyless' ? routeFor(svc) : portRouteFor(SIDECAR_PORT, [svc], SUFFIX);
  expectValid(ROUTE_CONFIGURATION, config);
  return config as unknown as RouteConfigurationJson;
}

/** The service's RouteAction as the audience receives it, inside a valid RouteConfiguration. */
function validAction(svc: Service, audience: Audience): Obj {
  const config = validRouteConfig(svc, audience);
  expect(config.virtual_hosts).toHaveLength(1);
  const routes = config.virtual_hosts[0]!.routes;
  expect(routes).toHaveLength(1);
  expect(routes[0]!.route).toEqual(routeActionFor(svc, audience));
  return routes[0]!.route;
}

/** The listed keys of an object that are present (absent ones are left out, not undefined). */
function pick(o: Obj, keys: readonly string[]): Obj {
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}

/** Every case once per audience: [audience, ...case]. */
function forBoth<T extends readonly unknown[]>(cases: readonly T[]): [Audience, ...T][] {
  return AUDIENCES.flatMap((a) => cases.map((c) => [a, ...c] as [Audience, ...T]));
}

/** Instances declaring metadata `protocol` values (undefined: no protocol key). */
function withProtocols(values: (string | undefined)[]): InstanceSpec[] {
  return values.map((p): InstanceSpec => ({ metadata: p === undefined ? {} : { protocol: p } }));
}

// ---------------------------------------------------------------------------------------------

describe('protocol', () => {
  const cases: [string, InstanceSpec[], ServicePolicy, Protocol][] = [
    ['no policy, no instances: http', [], {}, 'http'],
    ['no policy, instances without metadata: http', withProtocols([undefined, undefined]), {}, 'http'],
    ['policy grpc wins over instance metadata', withProtocols(['http', 'http']), { protocol: 'grpc' }, 'grpc'],
    ['policy tcp wins over instance metadata', withProtocols(['grpc']), { protocol: 'tcp' }, 'tcp'],
    ['policy http wins over instance metadata', withProtocols(['grpc', 'grpc']), { protocol: 'http' }, 'http'],
    ['policy protocol without instances', [], { protocol: 'grpc' }, 'grpc'],
    ['metadata: the majority wins', withProtocols(['http', 'grpc', 'grpc']), {}, 'grpc'],
    ['metadata: the majority wins (tcp)', withProtocols(['tcp', 'tcp', 'grpc', undefined]), {}, 'tcp'],
    ['metadata: case-insensitive', withProtocols(['GRPC', 'Grpc', 'http']), {}, 'grpc'],
    ['metadata: case-insensitive values count together', withProtocols(['TCP', 'tcp', 'HTTP']), {}, 'tcp'],
    ['metadata: registration protocols map to mesh ones (dubbo and thrift are tcp)', withProtocols(['dubbo', 'thrift', 'tri']), {}, 'tcp'],
    ['metadata: Triple is grpc', withProtocols(['tri', 'tri', 'dubbo']), {}, 'grpc'],
    ['metadata: rest is http', withProtocols(['rest', 'rest', 'dubbo']), {}, 'http'],
    ['metadata: unknown values are tcp, and vote as tcp', withProtocols(['mystery', 'other', 'grpc']), {}, 'tcp'],
    ['metadata: empty values do not vote', withProtocols(['', '', 'grpc']), {}, 'grpc'],
    ['metadata: the policy overrides the registration protocol', withProtocols(['dubbo', 'dubbo']), { protocol: 'grpc' }, 'grpc'],
    ['metadata: instances without the key do not vote', withProtocols([undefined, undefined, undefined, 'grpc']), {}, 'grpc'],
    ['metadata: a tie goes to the lowest name', withProtocols(['http', 'grpc']), {}, 'grpc'],
  ];

  it.each(cases)('%s', (_title, instances, policy, expected) => {
    expect(protocolOf(service('svc', instances, policy))).toBe(expected);
  });

  it.each(forBoth(cases))('%s: %s: http2_protocol_options only on sidecar clusters of grpc services', (audience, _title, instances, policy, expected) => {
    const svc = service('svc', instances, policy);
    const cluster = validCluster(svc, audience);
    if (audience === 'sidecar' && expected === 'grpc') expect(cluster.http2_protocol_options).toEqual({});
    else expect(cluster).not.toHaveProperty('http2_protocol_options');
  });

  it.each(AUDIENCES)('%s: a grpc split gives http2_protocol_options to the subset clusters alike', (audience) => {
    const svc = service('svc', [{ metadata: { version: 'v1' } }], {
      protocol: 'grpc',
      trafficSplit: { label: 'version', subsets: [{ value: 'v1', weight: 100 }] },
    });
    const clusters = validClusters(svc, audience);
    expect(clusters).toHaveLength(2);
    for (const c of clusters) expect('http2_protocol_options' in c).toBe(audience === 'sidecar');
  });
});

// ---------------------------------------------------------------------------------------------

describe('port', () => {
  const ports = (...values: number[]): InstanceSpec[] => values.map((port) => ({ port }));

  const cases: [string, InstanceSpec[], ServicePolicy, number | undefined][] = [
    ['policy port wins over instance ports', ports(8080, 8080), { port: 9000 }, 9000],
    ['policy port without instances', [], { port: 443 }, 443],
    ['one instance', ports(3000), {}, 3000],
    ['the most common instance port', ports(81, 80, 80, 81, 80), {}, 80],
    ['the most common port even when higher', ports(9090, 9090, 80), {}, 9090],
    ['the lowest port on a tie', ports(9090, 8080), {}, 8080],
    ['the lowest of the tied most common ports', ports(9090, 9090, 8080, 8080, 7000), {}, 8080],
    ['no instances and no policy port: none', [], {}, undefined],
  ];

  it.each(cases)('%s', (_title, instances, policy, expected) => {
    expect(sidecarPortOf(service('svc', instances, policy))).toBe(expected);
  });

  it.each(forBoth(cases))('%s: %s: the port does not change clusters or the route action', (audience, _title, instances, policy) => {
    const withPort = service('svc', instances, policy);
    const withoutPort = service('svc', instances, { ...policy, port: undefined });
    expect(validClusters(withPort, audience)).toEqual(clustersFor(withoutPort, audience));
    expect(validAction(withPort, audience)).toEqual(routeActionFor(withoutPort, audience));
  });
});

// ---------------------------------------------------------------------------------------------

describe('loadBalancing', () => {
  const LB_KEYS = ['lb_policy', 'ring_hash_lb_config', 'least_request_lb_config'] as const;
  const RR = { lb_policy: 'ROUND_ROBIN' };

  /** [title, loadBalancing, proxyless cluster fields, sidecar cluster fields] */
  const cases: [string, LoadBalancing | undefined, Obj, Obj][] = [
    ['none: round robin', undefined, RR, RR],
    ['ROUND_ROBIN', { policy: 'ROUND_ROBIN' }, RR, RR],
    ['LEAST_REQUEST', { policy: 'LEAST_REQUEST' }, RR, { lb_policy: 'LEAST_REQUEST', least_request_lb_config: {} }],
    [
      'LEAST_REQUEST with choiceCount',
      { policy: 'LEAST_REQUEST', choiceCount: 3 },
      RR,
      { lb_policy: 'LEAST_REQUEST', least_request_lb_config: { choice_count: { value: 3 } } },
    ],
    [
      'LEAST_REQUEST with the largest choiceCount',
      { policy: 'LEAST_REQUEST', choiceCount: 100 },
      RR,
      { lb_policy: 'LEAST_REQUEST', least_request_lb_config: { choice_count: { value: 100 } } },
    ],
    ['RANDOM', { policy: 'RANDOM' }, RR, { lb_policy: 'RANDOM' }],
    ['RING_HASH', { policy: 'RING_HASH' }, { lb_policy: 'RING_HASH', ring_hash_lb_config: {} }, { lb_policy: 'RING_HASH', ring_hash_lb_config: {} }],
    [
      'RING_HASH with both ring sizes',
      { policy: 'RING_HASH', ringMinSize: 1024, ringMaxSize: 8192 },
      { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: { value: 1024 }, maximum_ring_size: { value: 8192 } } },
      { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: { value: 1024 }, maximum_ring_size: { value: 8192 } } },
    ],
    [
      'RING_HASH with the minimum ring size only',
      { policy: 'RING_HASH', ringMinSize: 64 },
      { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: { value: 64 } } },
      { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: { value: 64 } } },
    ],
    [
      'RING_HASH with the largest maximum ring size only',
      { policy: 'RING_HASH', ringMaxSize: 8_388_608 },
      { lb_policy: 'RING_HASH', ring_hash_lb_config: { maximum_ring_size: { value: 8_388_608 } } },
      { lb_policy: 'RING_HASH', ring_hash_lb_config: { maximum_ring_size: { value: 8_388_608 } } },
    ],
    [
      'RING_HASH hashing on a header',
      { policy: 'RING_HASH', hashOn: { header: 'x-user-id' } },
      { lb_policy: 'RING_HASH', ring_hash_lb_config: {} },
      { lb_policy: 'RING_HASH', ring_hash_lb_config: {} },
    ],
    ['MAGLEV', { policy: 'MAGLEV' }, RR, { lb_policy: 'MAGLEV' }],
    ['MAGLEV hashing on the source IP', { policy: 'MAGLEV', hashOn: { sourceIp: true } }, RR, { lb_policy: 'MAGLEV' }],
  ];

  it.each(forBoth(cases))('%s: %s', (audience, _title, loadBalancing, proxyless, sidecar) => {
    const svc = service('svc', 2, loadBalancing ? { loadBalancing } : {});
    expect(pick(validCluster(svc, audience), LB_KEYS)).toEqual(audience === 'proxyless' ? proxyless : sidecar);
  });

  it.each(forBoth(cases))('%s: %s: subset clusters balance alike', (audience, _title, loadBalancing) => {
    const svc = service('svc', [{ metadata: { v: 'a' } }, { metadata: { v: 'b' } }], {
      ...(loadBalancing ? { loadBalancing } : {}),
      trafficSplit: {
        label: 'v',
        subsets: [
          { value: 'a', weight: 50 },
          { value: 'b', weight: 50 },
        ],
      },
    });
    const [main, ...subsets] = validClusters(svc, audience);
    expect(subsets).toHaveLength(2);
    for (const s of subsets) expect(pick(s, LB_KEYS)).toEqual(pick(main!, LB_KEYS));
  });

  /** [title, loadBalancing, sidecar route hash_policy (undefined: none)]; proxyless: NO_PROXYLESS_HASH below. */
  const hashCases: [string, LoadBalancing | undefined, unknown[] | undefined][] = [
    ['no load balancing: no hash policy', undefined, undefined],
    ['ROUND_ROBIN: no hash policy', { policy: 'ROUND_ROBIN' }, undefined],
    ['RING_HASH without hashOn: no hash policy', { policy: 'RING_HASH' }, undefined],
    ['MAGLEV without hashOn: no hash policy', { policy: 'MAGLEV' }, undefined],
    ['RING_HASH on a header', { policy: 'RING_HASH', hashOn: { header: 'x-user-id' } }, [{ header: { header_name: 'x-user-id' } }]],
    ['MAGLEV on a header', { policy: 'MAGLEV', hashOn: { header: 'X-Session' } }, [{ header: { header_name: 'X-Session' } }]],
    ['RING_HASH on a pseudo-header', { policy: 'RING_HASH', hashOn: { header: ':authority' } }, [{ header: { header_name: ':authority' } }]],
    ['RING_HASH on the source IP', { policy: 'RING_HASH', hashOn: { sourceIp: true } }, [{ connection_properties: { source_ip: true } }]],
    ['MAGLEV on the source IP', { policy: 'MAGLEV', hashOn: { sourceIp: true } }, [{ connection_properties: { source_ip: true } }]],
  ];

  // gRPC gets ROUND_ROBIN for MAGLEV and ignores source-IP hashing: no hash policy for it then.
  const NO_PROXYLESS_HASH = new Set(['MAGLEV on a header', 'RING_HASH on the source IP', 'MAGLEV on the source IP']);

  it.each(forBoth(hashCases))('%s: hash_policy: %s', (audience, title, loadBalancing, sidecarExpected) => {
    const expected = audience === 'proxyless' && NO_PROXYLESS_HASH.has(title) ? undefined : sidecarExpected;
    const action = validAction(service('svc', 1, loadBalancing ? { loadBalancing } : {}), audience);
    if (expected === undefined) expect(action).not.toHaveProperty('hash_policy');
    else expect(action.hash_policy).toEqual(expected);
  });

  it.each(AUDIENCES)('%s: hash_policy does not touch the cluster choice', (audience) => {
    const action = validAction(service('svc', 1, { loadBalancing: { policy: 'RING_HASH', hashOn: { header: 'x-user-id' } } }), audience);
    expect(action.cluster).toBe('svc');
  });
});

// ---------------------------------------------------------------------------------------------

describe('connectTimeoutMs', () => {
  const cases: [string, number | undefined, Duration][] = [
    ['unset: the 5 s default', undefined, ms(5)],
    ['1 ms', 1, ms(0, 1_000_000)],
    ['250 ms', 250, ms(0, 250_000_000)],
    ['999 ms', 999, ms(0, 999_000_000)],
    ['1000 ms', 1000, ms(1)],
    ['1500 ms', 1500, ms(1, 500_000_000)],
    ['the 5 s default written out', 5000, ms(5)],
    ['one day, the largest accepted', 86_400_000, ms(86_400)],
  ];

  it('the default is 5 s', () => {
    expect(DEFAULT_CONNECT_TIMEOUT_MS).toBe(5000);
  });

  it.each(forBoth(cases))('%s: %s', (audience, _title, connectTimeoutMs, expected) => {
    const svc = service('svc', 1, connectTimeoutMs === undefined ? {} : { connectTimeoutMs });
    // gRPC ignores Cluster.connect_timeout: it is left out for proxyless clients.
    expect(validCluster(svc, audience).connect_timeout).toEqual(audience === 'sidecar' ? expected : undefined);
  });
});

// ---------------------------------------------------------------------------------------------

describe('requestTimeoutMs', () => {
  const cases: [string, number | undefined, Duration | undefined][] = [
    ['unset: no timeout field', undefined, undefined],
    ['0 (no timeout) is written out as 0 (proxyless: left out, the same for gRPC)', 0, ms(0)],
    ['250 ms', 250, ms(0, 250_000_000)],
    ['1500 ms', 1500, ms(1, 500_000_000)],
    ['15 s', 15_000, ms(15)],
    ['one day', 86_400_000, ms(86_400)],
  ];

  it.each(forBoth(cases))('%s: %s', (audience, _title, requestTimeoutMs, written) => {
    const expected = audience === 'proxyless' && requestTimeoutMs === 0 ? undefined : written;
    const action = validAction(service('svc', 1, requestTimeoutMs === undefined ? {} : { requestTimeoutMs }), audience);
    if (expected === undefined) {
      expect(action).not.toHaveProperty('timeout');
      expect(action).not.toHaveProperty('max_stream_duration');
    } else if (audience === 'sidecar') {
      expect(action.timeout).toEqual(expected);
      expect(action).not.toHaveProperty('max_stream_duration');
    } else {
      expect(action.max_stream_duration).toEqual({ max_stream_duration: expected });
      expect(action).not.toHaveProperty('timeout');
    }
  });

  it.each(AUDIENCES)('%s: the timeout applies to a traffic split as well', (audience) => {
    const svc = service('svc', 1, { requestTimeoutMs: 2000, trafficSplit: { label: 'v', subsets: [{ value: 'a', weight: 100 }] } });
    const action = validAction(svc, audience);
    expect(audience === 'sidecar' ? action.timeout : action.max_stream_duration).toEqual(audience === 'sidecar' ? ms(2) : { max_stream_duration: ms(2) });
  });
});

// ---------------------------------------------------------------------------------------------

describe('retries', () => {
  type Retries = NonNullable<ServicePolicy['retries']>;
  const HTTP_DEFAULT = '5xx,connect-failure,refused-stream';
  const GRPC_DEFAULT = 'unavailable,cancelled,connect-failure,refused-stream';
  const GRPC_STATUSES = ['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'];

  /** Where the protocol comes from: the policy, one instance's metadata, or nowhere (http). */
  type ProtocolSource = Protocol | 'metadata grpc' | undefined;

  /** [title, protocol, retries, proxyless retry_policy, sidecar retry_policy] (undefined: none) */
  const cases: [string, ProtocolSource, Retries | undefined, Obj | undefined, Obj | undefined][] = [
    ['no retries: no retry policy', undefined, undefined, undefined, undefined],
    ['no retries on grpc: no retry policy', 'grpc', undefined, undefined, undefined],
    [
      'http default retry_on',
      undefined,
      { attempts: 3 },
      { retry_on: 'unavailable,cancelled', num_retries: { value: 3 } },
      { retry_on: HTTP_DEFAULT, num_retries: { value: 3 } },
    ],
    [
      'explicit http default retry_on',
      'http',
      { attempts: 1 },
      { retry_on: 'unavailable,cancelled', num_retries: { value: 1 } },
      { retry_on: HTTP_DEFAULT, num_retries: { value: 1 } },
    ],
    [
      'grpc default retry_on',
      'grpc',
      { attempts: 2 },
      { retry_on: 'unavailable,cancelled', num_retries: { value: 2 } },
      { retry_on: GRPC_DEFAULT, num_retries: { value: 2 } },
    ],
    [
      'grpc from instance metadata picks the grpc default',
      'metadata grpc',
      { attempts: 2 },
      { retry_on: 'unavailable,cancelled', num_retries: { value: 2 } },
      { retry_on: GRPC_DEFAULT, num_retries: { value: 2 } },
    ],
    [
      'only HTTP tokens: proxyless gets no retry policy',
      'http',
      { attempts: 3, retryOn: ['5xx', 'reset', 'connect-failure'] },
      undefined,
      { retry_on: '5xx,reset,connect-failure', num_retries: { value: 3 } },
    ],
    [
      'only HTTP tokens on grpc: proxyless gets no retry policy',
      'grpc',
      { attempts: 3, retryOn: ['gateway-error', 'retriable-4xx', 'refused-stream', 'retriable-status-codes'] },
      undefined,
      { retry_on: 'gateway-error,retriable-4xx,refused-stream,retriable-status-codes', num_retries: { value: 3 } },
    ],
    [
      'mixed tokens: proxyless keeps the gRPC statuses, in order',
      'grpc',
      { attempts: 4, retryOn: ['5xx', 'unavailable', 'reset', 'deadline-exceeded'] },
      { retry_on: 'unavailable,deadline-exceeded', num_retries: { value: 4 } },
      { retry_on: '5xx,unavailable,reset,deadline-exceeded', num_retries: { value: 4 } },
    ],
    [
      'every gRPC status token is kept by both',
      'grpc',
      { attempts: 5, retryOn: GRPC_STATUSES },
      { retry_on: GRPC_STATUSES.join(','), num_retries: { value: 5 } },
      { retry_on: GRPC_STATUSES.join(','), num_retries: { value: 5 } },
    ],
    [
      'gRPC status tokens on an http service',
      'http',
      { attempts: 1, retryOn: ['resource-exhausted'] },
      { retry_on: 'resource-exhausted', num_retries: { value: 1 } },
      { retry_on: 'resource-exhausted', num_retries: { value: 1 } },
    ],
    [
      'perTryTimeoutMs',
      'http',
      { attempts: 3, perTryTimeoutMs: 2500, retryOn: ['5xx', 'internal'] },
      { retry_on: 'internal', num_retries: { value: 3 } },
      { retry_on: '5xx,internal', num_retries: { value: 3 }, per_try_timeout: ms(2, 500_000_000) },
    ],
    [
      'perTryTimeoutMs with default retry_on',
      'grpc',
      { attempts: 2, perTryTimeoutMs: 100 },
      { retry_on: 'unavailable,cancelled', num_retries: { value: 2 } },
      { retry_on: GRPC_DEFAULT, num_retries: { value: 2 }, per_try_timeout: ms(0, 100_000_000) },
    ],
    [
      'attempts 0 is written out as 0',
      'http',
      { attempts: 0 },
      { retry_on: 'unavailable,cancelled', num_retries: { value: 0 } },
      { retry_on: HTTP_DEFAULT, num_retries: { value: 0 } },
    ],
    [
      'the largest attempts',
      'grpc',
      { attempts: 10, retryOn: ['unavailable'] },
      { retry_on: 'unavailable', num_retries: { value: 10 } },
      { retry_on: 'unavailable', num_retries: { value: 10 } },
    ],
  ];

  it.each(forBoth(cases))('%s: %s', (audience, _title, protocol, retries, proxyless, sidecar) => {
    const fromMetadata = protocol === 'metadata grpc';
    const instances: InstanceSpec[] = fromMetadata ? withProtocols(['grpc']) : [{}];
    const policy: ServicePolicy = { ...(protocol && !fromMetadata ? { protocol } : {}), ...(retries ? { retries } : {}) };
    const action = validAction(service('svc', instances, policy), audience);
    const expected = audience === 'proxyless' ? proxyless : sidecar;
    if (expected === undefined) expect(action).not.toHaveProperty('retry_policy');
    else expect(action.retry_policy).toEqual(expected);
  });

  it.each(AUDIENCES)('%s: retries do not change the cluster', (audience) => {
    const svc = service('svc', 1, { retries: { attempts: 3, perTryTimeoutMs: 100 } });
    expect(validCluster(svc, audience)).toEqual(clusterFor(service('svc', 1), audience));
  });
});

// ---------------------------------------------------------------------------------------------

describe('circuitBreakers', () => {
  type Breakers = NonNullable<ServicePolicy['circuitBreakers']>;
  const MAX_UINT32 = 4_294_967_295;

  /** [title, circuitBreakers, thresholds[0] (undefined: no circuit_breakers)] */
  const cases: [string, Breakers | undefined, Obj | undefined][] = [
    ['unset: no circuit_breakers', undefined, undefined],
    ['empty: only the priority', {}, { priority: 'DEFAULT' }],
    ['maxConnections', { maxConnections: 1024 }, { priority: 'DEFAULT', max_connections: { value: 1024 } }],
    ['maxPendingRequests', { maxPendingRequests: 256 }, { priority: 'DEFAULT', max_pending_requests: { value: 256 } }],
    ['maxRequests', { maxRequests: 2048 }, { priority: 'DEFAULT', max_requests: { value: 2048 } }],
    ['maxRetries', { maxRetries: 8 }, { priority: 'DEFAULT', max_retries: { value: 8 } }],
    ['maxRetries 0 is written out', { maxRetries: 0 }, { priority: 'DEFAULT', max_retries: { value: 0 } }],
    ['the uint32 maximum', { maxConnections: MAX_UINT32 }, { priority: 'DEFAULT', max_connections: { value: MAX_UINT32 } }],
    [
      'all four',
      { maxConnections: 1024, maxPendingRequests: 256, maxRequests: 2048, maxRetries: 8 },
      {
        priority: 'DEFAULT',
        max_connections: { value: 1024 },
        max_pending_requests: { value: 256 },
        max_requests: { value: 2048 },
        max_retries: { value: 8 },
      },
    ],
  ];

  it.each(forBoth(cases))('%s: %s', (audience, _title, circuitBreakers, sidecarExpected) => {
    const svc = service('svc', 1, circuitBreakers ? { circuitBreakers } : {});
    const cluster = validCluster(svc, audience);
    const expected = audience === 'sidecar' ? sidecarExpected : grpcThresholds(circuitBreakers, sidecarExpected);
    if (expected === undefined) expect(cluster).not.toHaveProperty('circuit_breakers');
    else expect(cluster.circuit_breakers).toEqual({ thresholds: [expected] });
  });

  /** gRPC implements max_requests only (gRFC A32): the other limits are left out, and nothing when none is left. */
  function grpcThresholds(breakers: Breakers | undefined, sidecar: Obj | undefined): Obj | undefined {
    if (!breakers || !sidecar) return sidecar;
    if (breakers.maxRequests === undefined && Object.keys(breakers).length > 0) return undefined;
    return breakers.maxRequests === undefined ? sidecar : { priority: 'DEFAULT', max_requests: { value: breakers.maxRequests } };
  }
});

// ---------------------------------------------------------------------------------------------

describe('outlierDetection', () => {
  type Outlier = NonNullable<ServicePolicy['outlierDetection']>;

  /** [title, outlierDetection, outlier_detection (undefined: none)] */
  const cases: [string, Outlier | undefined, Obj | undefined][] = [
    ['unset: no outlier_detection', undefined, undefined],
    ['empty: Envoy defaults', {}, {}],
    ['consecutive5xx', { consecutive5xx: 5 }, { consecutive_5xx: { value: 5 } }],
    ['intervalMs', { intervalMs: 10_000 }, { interval: ms(10) }],
    ['intervalMs with milliseconds', { intervalMs: 2_250 }, { interval: ms(2, 250_000_000) }],
    ['baseEjectionTimeMs', { baseEjectionTimeMs: 30_000 }, { base_ejection_time: ms(30) }],
    ['maxEjectionPercent', { maxEjectionPercent: 50 }, { max_ejection_percent: { value: 50 } }],
    ['maxEjectionPercent 0 is written out', { maxEjectionPercent: 0 }, { max_ejection_percent: { value: 0 } }],
    ['maxEjectionPercent 100', { maxEjectionPercent: 100 }, { max_ejection_percent: { value: 100 } }],
    [
      'all four',
      { consecutive5xx: 5, intervalMs: 10_000, baseEjectionTimeMs: 30_500, maxEjectionPercent: 50 },
      { consecutive_5xx: { value: 5 }, interval: ms(10), base_ejection_time: ms(30, 500_000_000), max_ejection_percent: { value: 50 } },
    ],
  ];

  it.each(cases)('sidecar: %s', (_title, outlierDetection, expected) => {
    const svc = service('svc', 1, outlierDetection ? { outlierDetection } : {});
    const cluster = validCluster(svc, 'sidecar');
    if (expected === undefined) expect(cluster).not.toHaveProperty('outlier_detection');
    else expect(cluster.outlier_detection).toEqual(expected);
  });

  // gRPC: every ejection field written out (grpc-js 1.14 dies at its first check when success-rate
  // fields are unset); consecutive5xx, which gRPC lacks, as failure-percentage ejection.
  const SUCCESS_RATE_DEFAULTS = {
    enforcing_success_rate: { value: 100 },
    success_rate_minimum_hosts: { value: 5 },
    success_rate_request_volume: { value: 100 },
    success_rate_stdev_factor: { value: 1900 },
  };
  const FAILURE_PERCENTAGE_OFF = { enforcing_failure_percentage: { value: 0 } };
  const grpcCases: [string, Outlier, Obj][] = [
    ['empty: success rate with Envoy defaults, failure percentage off', {}, { ...SUCCESS_RATE_DEFAULTS, ...FAILURE_PERCENTAGE_OFF }],
    [
      'consecutive5xx: as failure percentage (> 85% of at least N calls, 2 hosts or more)',
      { consecutive5xx: 5, intervalMs: 1000 },
      {
        interval: ms(1),
        ...SUCCESS_RATE_DEFAULTS,
        enforcing_failure_percentage: { value: 100 },
        failure_percentage_threshold: { value: 85 },
        failure_percentage_minimum_hosts: { value: 2 },
        failure_percentage_request_volume: { value: 5 },
      },
    ],
    [
      "consecutive5xx with the policy's own failurePercentage: that one, consecutive5xx left out",
      { consecutive5xx: 5, failurePercentage: { threshold: 60 } },
      {
        ...SUCCESS_RATE_DEFAULTS,
        enforcing_failure_percentage: { value: 100 },
        failure_percentage_threshold: { value: 60 },
        failure_percentage_minimum_hosts: { value: 5 },
        failure_percentage_request_volume: { value: 50 },
      },
    ],
    [
      'successRate fields over the defaults',
      { successRate: { minimumHosts: 2, requestVolume: 10 }, maxEjectionPercent: 50, baseEjectionTimeMs: 30_000 },
      {
        base_ejection_time: ms(30),
        max_ejection_percent: { value: 50 },
        ...SUCCESS_RATE_DEFAULTS,
        success_rate_minimum_hosts: { value: 2 },
        success_rate_request_volume: { value: 10 },
        ...FAILURE_PERCENTAGE_OFF,
      },
    ],
    [
      'successRate turned off',
      { successRate: { enforcingPercent: 0 } },
      { ...SUCCESS_RATE_DEFAULTS, enforcing_success_rate: { value: 0 }, ...FAILURE_PERCENTAGE_OFF },
    ],
  ];

  it.each(grpcCases)('proxyless: %s', (_title, outlierDetection, expected) => {
    expect(validCluster(service('svc', 1, { outlierDetection }), 'proxyless').outlier_detection).toEqual(expected);
  });

  it('sidecar: consecutive5xx stays, with success-rate and failure-percentage fields as written', () => {
    const outlierDetection: Outlier = { consecutive5xx: 5, successRate: { stdevFactor: 1500 }, failurePercentage: { threshold: 70 } };
    expect(validCluster(service('svc', 1, { outlierDetection }), 'sidecar').outlier_detection).toEqual({
      consecutive_5xx: { value: 5 },
      success_rate_stdev_factor: { value: 1500 },
      enforcing_failure_percentage: { value: 100 },
      failure_percentage_threshold: { value: 70 },
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('tls', () => {
  type Tls = NonNullable<ServicePolicy['tls']>;
  const tlsSocket = (sni: string): Obj => ({ name: 'envoy.transport_sockets.tls', typed_config: { '@type': ANY_TYPE.upstreamTls, sni } });

  /** [title, service name, tls, sidecar sni (undefined: no transport_socket)] */
  const cases: [string, string, Tls | undefined, string | undefined][] = [
    ['unset: plaintext', 'payments', undefined, undefined],
    ['empty: sni is the service name', 'payments', {}, 'payments'],
    ['empty, dotted service name: sni is the service name', 'payments.internal', {}, 'payments.internal'],
    ['explicit sni', 'payments', { sni: 'payments.internal.example.com' }, 'payments.internal.example.com'],
    ['explicit sni equal to the name', 'payments', { sni: 'payments' }, 'payments'],
  ];

  it.each(forBoth(cases))('%s: %s', (audience, _title, name, tls, sni) => {
    const cluster = validCluster(service(name, 1, tls ? { tls } : {}), audience);
    if (audience === 'sidecar' && sni !== undefined) expect(cluster.transport_socket).toEqual(tlsSocket(sni));
    else expect(cluster).not.toHaveProperty('transport_socket');
  });

  it.each(AUDIENCES)('%s: subset clusters originate TLS with the service name as SNI too', (audience) => {
    const svc = service('payments', [{ metadata: { v: 'a' } }], { tls: {}, trafficSplit: { label: 'v', subsets: [{ value: 'a', weight: 100 }] } });
    const clusters = validClusters(svc, audience);
    expect(clusters.map((c) => c.name)).toEqual(['payments', 'payments|v=a']);
    for (const c of clusters) {
      if (audience === 'sidecar') expect(c.transport_socket).toEqual(tlsSocket('payments'));
      else expect(c).not.toHaveProperty('transport_socket');
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('trafficSplit', () => {
  type Split = NonNullable<ServicePolicy['trafficSplit']>;

  /** Instances of "orders", by address: their metadata and health. */
  const INSTANCES: InstanceSpec[] = [
    { address: '10.0.0.1', metadata: { version: 'v1', 'app.kubernetes.io/version': 'blue' } },
    { address: '10.0.0.2', metadata: { version: 'v1', 'app.kubernetes.io/version': 'green' } },
    { address: '10.0.0.3', metadata: { version: 'v2', 'app.kubernetes.io/version': 'blue' } },
    { address: '10.0.0.4', metadata: { version: 'v3' } },
    { address: '10.0.0.5', metadata: {} },
    { address: '10.0.0.6', metadata: { version: 'V1' } }, // labels match exactly, case included
    { address: '10.0.0.7', metadata: { release: 'v1' } }, // the value under another label does not match
    { address: '10.0.0.8', metadata: { version: 'v2' }, healthy: false }, // not serving: never an endpoint
  ];
  const ALL_SERVING = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.0.7'];

  /** [title, split, expected subsets: cluster name, weight, addresses of the subset's endpoints] */
  const cases: [string, Split, { cluster: string; weight: number; addresses: string[] }[]][] = [
    [
      'two subsets, 90/10',
      {
        label: 'version',
        subsets: [
          { value: 'v1', weight: 90 },
          { value: 'v2', weight: 10 },
        ],
      },
      [
        { cluster: 'orders|version=v1', weight: 90, addresses: ['10.0.0.1', '10.0.0.2'] },
        { cluster: 'orders|version=v2', weight: 10, addresses: ['10.0.0.3'] },
      ],
    ],
    [
      'policy order is kept, not sorted',
      {
        label: 'version',
        subsets: [
          { value: 'v2', weight: 10 },
          { value: 'v1', weight: 90 },
        ],
      },
      [
        { cluster: 'orders|version=v2', weight: 10, addresses: ['10.0.0.3'] },
        { cluster: 'orders|version=v1', weight: 90, addresses: ['10.0.0.1', '10.0.0.2'] },
      ],
    ],
    [
      'three subsets, one of them matching no instance',
      {
        label: 'version',
        subsets: [
          { value: 'v3', weight: 50 },
          { value: 'canary', weight: 30 },
          { value: 'v1', weight: 20 },
        ],
      },
      [
        { cluster: 'orders|version=v3', weight: 50, addresses: ['10.0.0.4'] },
        { cluster: 'orders|version=canary', weight: 30, addresses: [] },
        { cluster: 'orders|version=v1', weight: 20, addresses: ['10.0.0.1', '10.0.0.2'] },
      ],
    ],
    [
      'a subset of one value only, weight 100',
      { label: 'version', subsets: [{ value: 'V1', weight: 100 }] },
      [{ cluster: 'orders|version=V1', weight: 100, addresses: ['10.0.0.6'] }],
    ],
    [
      'a label with a slash and dots',
      {
        label: 'app.kubernetes.io/version',
        subsets: [
          { value: 'blue', weight: 60 },
          { value: 'green', weight: 40 },
        ],
      },
      [
        { cluster: 'orders|app.kubernetes.io/version=blue', weight: 60, addresses: ['10.0.0.1', '10.0.0.3'] },
        { cluster: 'orders|app.kubernetes.io/version=green', weight: 40, addresses: ['10.0.0.2'] },
      ],
    ],
    [
      'a label no instance carries',
      {
        label: 'track',
        subsets: [
          { value: 'stable', weight: 99 },
          { value: 'canary', weight: 1 },
        ],
      },
      [
        { cluster: 'orders|track=stable', weight: 99, addresses: [] },
        { cluster: 'orders|track=canary', weight: 1, addresses: [] },
      ],
    ],
  ];

  const addresses = (a: AssignmentJson): string[] => a.endpoints.flatMap((g) => g.lb_endpoints.map((e) => e.endpoint.address.socket_address.address));

  it.each(cases)('subsetsOf: %s', (_title, trafficSplit, expected) => {
    const subsets = subsetsOf(service('orders', INSTANCES, { trafficSplit }));
    expect(subsets.map((s) => ({ cluster: s.cluster, weight: s.weight }))).toEqual(expected.map(({ cluster, weight }) => ({ cluster, weight })));
    for (const s of subsets) expect(s.cluster).toBe(subsetClusterName('orders', s.label, s.value));
  });

  it.each(forBoth(cases))('%s: %s: one EDS cluster per subset, after the main one', (audience, _title, trafficSplit, expected) => {
    const svc = service('orders', INSTANCES, { trafficSplit, connectTimeoutMs: 750 });
    const clusters = validClusters(svc, audience);
    expect(clusters.map((c) => c.name)).toEqual(['orders', ...expected.map((e) => e.cluster)]);
    const [main, ...subsets] = clusters;
    for (const s of subsets) {
      // The same cluster as the main one but for its name and EDS service_name.
      expect(s.eds_cluster_config).toEqual({ eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: s.name });
      expect({ ...s, name: 'orders', eds_cluster_config: main!.eds_cluster_config }).toEqual(main);
    }
  });

  it.each(cases)('assignments: %s: each subset holds exactly the serving instances whose label matches', (_title, trafficSplit, expected) => {
    const svc = service('orders', INSTANCES, { trafficSplit });
    const assignments = assignmentsFor(svc) as unknown as AssignmentJson[];
    for (const a of assignments) expectValid(ASSIGNMENT, a as unknown as Json);
    expect(assignments[0]).toEqual(endpointsFor(svc));
    expect(addresses(assignments[0]!)).toEqual(ALL_SERVING);
    expect(assignments.slice(1).map((a) => ({ cluster: a.cluster_name, addresses: addresses(a) }))).toEqual(
      expected.map(({ cluster, addresses: addrs }) => ({ cluster, addresses: addrs })),
    );
  });

  it.each(forBoth(cases))('%s: %s: the route splits by weight, in policy order', (audience, _title, trafficSplit, expected) => {
    const action = validAction(service('orders', INSTANCES, { trafficSplit }), audience);
    expect(action).not.toHaveProperty('cluster');
    expect(action.weighted_clusters).toEqual({ clusters: expected.map((e) => ({ name: e.cluster, weight: { value: e.weight } })) });
  });

  it.each(AUDIENCES)('%s: without a split the route names the main cluster and there are no subsets', (audience) => {
    const svc = service('orders', INSTANCES);
    expect(validAction(svc, audience)).toEqual({ cluster: 'orders' });
    expect(validClusters(svc, audience).map((c) => c.name)).toEqual(['orders']);
    expect(assignmentsFor(svc)).toEqual([endpointsFor(svc)]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('virtual host domains', () => {
  const cases: [string, string, number, string, string[]][] = [
    ['no suffix', 'orders', 8080, '', ['orders', 'orders:8080']],
    ['with a suffix', 'orders', 8080, 'svc.mesh', ['orders', 'orders:8080', 'orders.svc.mesh', 'orders.svc.mesh:8080']],
    ['port 80 is listed with the port too', 'web', 80, 'svc.mesh', ['web', 'web:80', 'web.svc.mesh', 'web.svc.mesh:80']],
    ['a dotted name, no suffix', 'billing.payments', 9090, '', ['billing.payments', 'billing.payments:9090']],
    ['a multi-label suffix', 'a', 1, 'ns.svc.cluster.local', ['a', 'a:1', 'a.ns.svc.cluster.local', 'a.ns.svc.cluster.local:1']],
  ];

  it.each(cases)('sidecarDomains: %s', (_title, name, port, suffix, expected) => {
    expect(sidecarDomains(name, port, suffix)).toEqual(expected);
  });

  it.each(cases)('sidecar RouteConfiguration: %s', (_title, name, port, suffix, expected) => {
    const config = portRouteFor(port, [service(name, 1)], suffix);
    expectValid(ROUTE_CONFIGURATION, config);
    const vhosts = (config as unknown as RouteConfigurationJson).virtual_hosts;
    expect(vhosts).toEqual([{ name, domains: expected, routes: [{ match: { prefix: '/' }, route: { cluster: name } }] }]);
  });

  it.each(cases)('proxyless RouteConfiguration: %s: only the service name, whatever the port and suffix', (_title, name, port) => {
    const config = validRouteConfig(service(name, [{ port }]), 'proxyless');
    expect(config.virtual_hosts).toEqual([{ name, domains: [name], routes: [{ match: { prefix: '' }, route: { cluster: name } }] }]);
  });

  it.each(AUDIENCES)('%s: virtualHostFor matches every path with the audience prefix', (audience) => {
    const vhost = virtualHostFor(service('orders', 1), ['orders'], audience) as unknown as VirtualHostJson;
    expect(vhost.routes.map((r) => r.match)).toEqual([{ prefix: audience === 'sidecar' ? '/' : '' }]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('a policy with every field', () => {
  const policy: ServicePolicy = {
    protocol: 'grpc',
    port: 7070,
    loadBalancing: { policy: 'RING_HASH', hashOn: { header: 'x-user-id' }, ringMinSize: 1024, ringMaxSize: 4096 },
    connectTimeoutMs: 250,
    requestTimeoutMs: 3000,
    retries: { attempts: 2, perTryTimeoutMs: 1000, retryOn: ['unavailable', 'reset'] },
    circuitBreakers: { maxConnections: 100, maxRetries: 3 },
    outlierDetection: { consecutive5xx: 7, intervalMs: 5000 },
    tls: {},
    trafficSplit: {
      label: 'version',
      subsets: [
        { value: 'v1', weight: 75 },
        { value: 'v2', weight: 25 },
      ],
    },
  };
  const svc = service('orders', [{ metadata: { version: 'v1' } }, { metadata: { version: 'v2' }, address: '10.9.9.9' }], policy);

  it.each(AUDIENCES)('%s: the main cluster, field by field', (audience) => {
    expect(validCluster(svc, audience)).toEqual({
      name: 'orders',
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: 'orders' },
      lb_policy: 'RING_HASH',
      ring_hash_lb_config: { minimum_ring_size: { value: 1024 }, maximum_ring_size: { value: 4096 } },
      ...(audience === 'sidecar'
        ? {
            connect_timeout: ms(0, 250_000_000),
            circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_connections: { value: 100 }, max_retries: { value: 3 } }] },
            outlier_detection: { consecutive_5xx: { value: 7 }, interval: ms(5) },
            transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': ANY_TYPE.upstreamTls, sni: 'orders' } },
            http2_protocol_options: {},
          }
        : {
            // connect timeout and these limits are ignored by gRPC; consecutive5xx becomes failure percentage.
            outlier_detection: {
              interval: ms(5),
              enforcing_success_rate: { value: 100 },
              success_rate_minimum_hosts: { value: 5 },
              success_rate_request_volume: { value: 100 },
              success_rate_stdev_factor: { value: 1900 },
              enforcing_failure_percentage: { value: 100 },
              failure_percentage_threshold: { value: 85 },
              failure_percentage_minimum_hosts: { value: 2 },
              failure_percentage_request_volume: { value: 7 },
            },
          }),
    });
  });

  it.each(AUDIENCES)('%s: the route action, field by field', (audience) => {
    expect(validAction(svc, audience)).toEqual({
      weighted_clusters: {
        clusters: [
          { name: 'orders|version=v1', weight: { value: 75 } },
          { name: 'orders|version=v2', weight: { value: 25 } },
        ],
      },
      ...(audience === 'sidecar' ? { timeout: ms(3) } : { max_stream_duration: { max_stream_duration: ms(3) } }),
      retry_policy:
        audience === 'sidecar'
          ? { retry_on: 'unavailable,reset', num_retries: { value: 2 }, per_try_timeout: ms(1) }
          : { retry_on: 'unavailable', num_retries: { value: 2 } },
      hash_policy: [{ header: { header_name: 'x-user-id' } }],
    });
  });

  it.each(AUDIENCES)('%s: every cluster and assignment is valid', (audience) => {
    expect(validClusters(svc, audience)).toHaveLength(3);
    for (const a of assignmentsFor(svc)) expectValid(ASSIGNMENT, a);
  });
});
