// planPort: what an Envoy sidecar gets for one outbound port. http and grpc services share one
// HttpConnectionManager listener and one RouteConfiguration (a virtual host per service, sorted by
// name); a tcp service owns its port; services that cannot be served there are listed as ignored.
import { describe, expect, it } from '@jest/globals';
import type { Service } from '../../../src/catalog/model.js';
import type { ServicePolicy } from '../../../src/catalog/policy.js';
import { clustersFor } from '../../../src/translate/cluster.js';
import { assignmentsFor } from '../../../src/translate/endpoints.js';
import { ANY_TYPE } from '../../../src/translate/envoy-json.js';
import { routeActionFor } from '../../../src/translate/route-action.js';
import { protocolOf, sidecarPortOf } from '../../../src/translate/service-shape.js';
import { httpListenerFor, outboundName, tcpListenerFor } from '../../../src/translate/sidecar-listener.js';
import { portRouteFor } from '../../../src/translate/sidecar-route.js';
import { planPort, type PortPlan } from '../../../src/translate/sidecar-port.js';
import { sidecarDomains } from '../../../src/translate/virtual-host.js';
import { service, type InstanceSpec } from '../../support/catalog-fixtures.js';
import { checkMessage, checkResourceSet } from '../../support/proto-constraints.js';

const LISTENER = 'envoy.config.listener.v3.Listener';
const ROUTE_CONFIGURATION = 'envoy.config.route.v3.RouteConfiguration';
const BIND = '0.0.0.0';
const SUFFIX = 'svc.mesh';

interface FilterJson {
  name: string;
  typed_config: Record<string, unknown> & { '@type': string };
}
interface ListenerJson {
  name: string;
  address: { socket_address: { address: string; port_value: number } };
  traffic_direction: string;
  filter_chains: { filters: FilterJson[] }[];
}
interface RouteConfigurationJson {
  name: string;
  virtual_hosts: { name: string; domains: string[]; routes: { match: { prefix: string }; route: Record<string, unknown> }[] }[];
}

const asListener = (j: object): ListenerJson => j as unknown as ListenerJson;
const asRoute = (j: object): RouteConfigurationJson => j as unknown as RouteConfigurationJson;

/** A service on `port` with the given protocol set by policy (or, for 'metadata:x', by instance metadata). */
function on(name: string, port: number, protocol: string | undefined, policy: ServicePolicy = {}): Service {
  if (protocol?.startsWith('metadata:')) {
    const spec: InstanceSpec = { port, metadata: { protocol: protocol.slice('metadata:'.length) } };
    return service(name, [spec], policy);
  }
  return service(name, [{ port }], { ...policy, ...(protocol ? { protocol: protocol as ServicePolicy['protocol'] } : {}) });
}

/** The plan, with its listener and route checked against their protos and against each other. */
function validPlan(port: number, services: readonly Service[], suffix = SUFFIX): PortPlan {
  const plan = planPort(port, services, BIND, suffix);
  expect(plan).toBeDefined();
  expect(checkMessage(LISTENER, plan!.listener)).toEqual([]);
  if (plan!.route) expect(checkMessage(ROUTE_CONFIGURATION, plan!.route)).toEqual([]);
  // Every reference (rds -> route -> clusters -> assignments, TcpProxy -> cluster) resolves.
  expect(
    checkResourceSet({
      listeners: [plan!.listener],
      routes: plan!.route ? [plan!.route] : [],
      clusters: services.flatMap((s) => clustersFor(s, 'sidecar')),
      endpoints: services.flatMap((s) => assignmentsFor(s)),
    }),
  ).toEqual([]);
  return plan!;
}

function onlyFilter(plan: PortPlan): FilterJson {
  const listener = asListener(plan.listener);
  expect(listener.filter_chains).toHaveLength(1);
  expect(listener.filter_chains[0]!.filters).toHaveLength(1);
  return listener.filter_chains[0]!.filters[0]!;
}

// ---------------------------------------------------------------------------------------------

describe('planPort', () => {
  it('no services: no plan', () => {
    expect(planPort(8080, [], BIND, SUFFIX)).toBeUndefined();
  });

  /** [title, port, services (in the order given), virtual host names expected] */
  const httpCases: [string, number, Service[], string[]][] = [
    ['one http service', 8080, [on('orders', 8080, undefined)], ['orders']],
    ['one grpc service', 9090, [on('greeter', 9090, 'grpc')], ['greeter']],
    ['a grpc service by instance metadata', 9090, [on('greeter', 9090, 'metadata:GRPC')], ['greeter']],
    ['a Triple provider is grpc', 50051, [on('greeter', 50051, 'metadata:tri')], ['greeter']],
    ['a Dubbo provider with a policy protocol override', 20880, [on('orders', 20880, 'metadata:dubbo', { protocol: 'http' })], ['orders']],
    [
      'http and grpc services share the port, virtual hosts sorted by name',
      8080,
      [on('zeta', 8080, 'http'), on('alpha', 8080, 'grpc'), on('mid', 8080, undefined), on('beta', 8080, 'metadata:grpc')],
      ['alpha', 'beta', 'mid', 'zeta'],
    ],
    [
      'names sort by code unit, uppercase first',
      80,
      [on('b', 80, 'http'), on('B', 80, 'http'), on('a-b', 80, 'grpc'), on('a', 80, 'grpc')],
      ['B', 'a', 'a-b', 'b'],
    ],
  ];

  it.each(httpCases)('%s: one HttpConnectionManager listener and route', (_title, port, services, names) => {
    const plan = validPlan(port, services);
    expect(plan.ignored).toEqual([]);
    expect(plan.listener).toEqual(httpListenerFor(port, BIND));

    const listener = asListener(plan.listener);
    expect(listener.name).toBe(`zkxds-outbound-${port}`);
    expect(listener.address).toEqual({ socket_address: { address: BIND, port_value: port } });
    expect(listener.traffic_direction).toBe('OUTBOUND');
    const filter = onlyFilter(plan);
    expect(filter.name).toBe('envoy.filters.network.http_connection_manager');
    expect(filter.typed_config['@type']).toBe(ANY_TYPE.httpConnectionManager);
    expect(filter.typed_config.rds).toEqual({ config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: outboundName(port) });
    expect(filter.typed_config.http_filters).toEqual([{ name: 'envoy.filters.http.router', typed_config: { '@type': ANY_TYPE.router } }]);

    const route = asRoute(plan.route!);
    expect(route.name).toBe(outboundName(port));
    expect(route.virtual_hosts.map((v) => v.name)).toEqual(names);
    const byName = new Map(services.map((s) => [s.name, s]));
    for (const vhost of route.virtual_hosts) {
      const svc = byName.get(vhost.name)!;
      expect(vhost.domains).toEqual(sidecarDomains(svc.name, port, SUFFIX));
      expect(vhost.routes).toEqual([{ match: { prefix: '/' }, route: routeActionFor(svc, 'sidecar') }]);
    }
    expect(plan.route).toEqual(portRouteFor(port, services, SUFFIX));
  });

  it('the plan does not depend on the order services are given in', () => {
    const services = [on('c', 8080, 'http'), on('a', 8080, 'grpc'), on('b', 8080, undefined), on('t', 8080, 'tcp')];
    const forward = planPort(8080, services, BIND, SUFFIX);
    expect(planPort(8080, [...services].reverse(), BIND, SUFFIX)).toEqual(forward);
    expect(planPort(8080, [services[2]!, services[0]!, services[3]!, services[1]!], BIND, SUFFIX)).toEqual(forward);
  });

  it.each([
    ['with a domain suffix', SUFFIX, ['orders', 'orders:8080', 'orders.svc.mesh', 'orders.svc.mesh:8080']],
    ['without a domain suffix', '', ['orders', 'orders:8080']],
  ])('virtual host domains %s', (_title, suffix, domains) => {
    const plan = validPlan(8080, [on('orders', 8080, 'http')], suffix);
    expect(asRoute(plan.route!).virtual_hosts[0]!.domains).toEqual(domains);
  });

  it('the route carries each service policy (split, timeout) to its virtual host', () => {
    const split = on('orders', 8080, 'http', {
      requestTimeoutMs: 1500,
      trafficSplit: {
        label: 'version',
        subsets: [
          { value: 'v1', weight: 80 },
          { value: 'v2', weight: 20 },
        ],
      },
    });
    const plan = validPlan(8080, [split, on('alpha', 8080, 'grpc', { retries: { attempts: 2 } })]);
    const [alpha, orders] = asRoute(plan.route!).virtual_hosts;
    expect(alpha!.routes[0]!.route).toEqual({
      cluster: 'alpha',
      retry_policy: { retry_on: 'unavailable,cancelled,connect-failure,refused-stream', num_retries: { value: 2 } },
    });
    expect(orders!.routes[0]!.route).toEqual({
      weighted_clusters: {
        clusters: [
          { name: 'orders|version=v1', weight: { value: 80 } },
          { name: 'orders|version=v2', weight: { value: 20 } },
        ],
      },
      timeout: { seconds: 1, nanos: 500_000_000 },
    });
  });

  // -------------------------------------------------------------------------------------------

  /** [title, port, services, owner of the port, ignored services] */
  const tcpCases: [string, number, Service[], string, string[]][] = [
    ['one tcp service owns its port', 5432, [on('postgres', 5432, 'tcp')], 'postgres', []],
    ['a tcp service by instance metadata', 6379, [on('redis', 6379, 'metadata:TCP')], 'redis', []],
    ['a Dubbo provider (dubbo:// is binary RPC: a TcpProxy, never an HTTP codec)', 20880, [on('orders', 20880, 'metadata:dubbo')], 'orders', []],
    ['a provider of an unknown protocol is tcp too', 7000, [on('legacy', 7000, 'metadata:frob')], 'legacy', []],
    ['a second tcp service on the port is ignored', 6379, [on('cache-b', 6379, 'tcp'), on('cache-a', 6379, 'tcp')], 'cache-a', ['cache-b']],
    ['three tcp services: the first by name owns the port', 6379, [on('z', 6379, 'tcp'), on('m', 6379, 'tcp'), on('a', 6379, 'tcp')], 'a', ['m', 'z']],
  ];

  it.each(tcpCases)('%s', (_title, port, services, owner, ignored) => {
    const plan = validPlan(port, services);
    expect(plan.route).toBeUndefined();
    expect(plan.listener).toEqual(tcpListenerFor(port, BIND, services.find((s) => s.name === owner)!));
    const listener = asListener(plan.listener);
    expect(listener.name).toBe(outboundName(port));
    expect(listener.address).toEqual({ socket_address: { address: BIND, port_value: port } });
    expect(listener.traffic_direction).toBe('OUTBOUND');
    const filter = onlyFilter(plan);
    expect(filter.name).toBe('envoy.filters.network.tcp_proxy');
    expect(filter.typed_config).toEqual({ '@type': ANY_TYPE.tcpProxy, stat_prefix: outboundName(port), cluster: owner });
    expect(plan.ignored).toEqual(ignored.map((service) => ({ service, reason: `tcp port ${port} is already taken by ${owner}` })));
  });

  /** [title, port, services, http virtual hosts, ignored tcp services] */
  const mixedCases: [string, number, Service[], string[], string[]][] = [
    ['a tcp service on an http port is ignored', 8080, [on('web', 8080, 'http'), on('db', 8080, 'tcp')], ['web'], ['db']],
    ['a tcp service on a grpc port is ignored', 9090, [on('rpc', 9090, 'grpc'), on('db', 9090, 'metadata:tcp')], ['rpc'], ['db']],
    [
      'several tcp services on an http port are all ignored',
      8080,
      [on('t2', 8080, 'tcp'), on('web', 8080, undefined), on('t1', 8080, 'tcp'), on('api', 8080, 'grpc')],
      ['api', 'web'],
      ['t1', 't2'],
    ],
  ];

  it.each(mixedCases)('%s', (_title, port, services, vhosts, ignored) => {
    const plan = validPlan(port, services);
    expect(plan.listener).toEqual(httpListenerFor(port, BIND));
    expect(onlyFilter(plan).name).toBe('envoy.filters.network.http_connection_manager');
    expect(asRoute(plan.route!).virtual_hosts.map((v) => v.name)).toEqual(vhosts);
    expect(plan.ignored.map((i) => i.service)).toEqual(ignored);
    for (const { reason } of plan.ignored) {
      expect(reason).toBe(`port ${port} carries http services (${vhosts[0]}...); a tcp service needs a port of its own`);
    }
  });

  // -------------------------------------------------------------------------------------------

  it.each([
    ['a policy port', service('svc', [{ port: 8080 }, { port: 8080 }], { port: 7000 }), 7000],
    ['the most common instance port', service('svc', [{ port: 8081 }, { port: 8080 }, { port: 8081 }]), 8081],
    ['the lowest instance port on a tie', service('svc', [{ port: 8081 }, { port: 8080 }]), 8080],
  ])('a service is planned on %s', (_title, svc, port) => {
    expect(sidecarPortOf(svc)).toBe(port);
    const plan = validPlan(port, [svc]);
    expect(asListener(plan.listener).address.socket_address.port_value).toBe(port);
    expect(asRoute(plan.route!).virtual_hosts[0]!.domains).toContain(`svc:${port}`);
  });

  it('protocolOf decides which side a service lands on', () => {
    const services = [on('h', 80, undefined), on('g', 80, 'metadata:grpc'), on('t', 80, 'metadata:tcp')];
    expect(services.map(protocolOf)).toEqual(['http', 'grpc', 'tcp']);
    const plan = validPlan(80, services);
    expect(asRoute(plan.route!).virtual_hosts.map((v) => v.name)).toEqual(['g', 'h']);
    expect(plan.ignored.map((i) => i.service)).toEqual(['t']);
  });
});

describe('planPort: policies a tcp proxy must honour, and clashing host names', () => {
  it('hashes on the client address for a tcp service with MAGLEV on sourceIp', () => {
    const plan = validPlan(5432, [on('pg', 5432, 'tcp', { loadBalancing: { policy: 'MAGLEV', hashOn: { sourceIp: true } } })]);
    expect(onlyFilter(plan).typed_config).toMatchObject({ cluster: 'pg', hash_policy: [{ source_ip: {} }] });
  });

  it('splits a tcp service across its subsets by weight', () => {
    const plan = validPlan(5432, [
      on('pg', 5432, 'tcp', {
        trafficSplit: {
          label: 'v',
          subsets: [
            { value: 'a', weight: 90 },
            { value: 'b', weight: 10 },
          ],
        },
      }),
    ]);
    const config = onlyFilter(plan).typed_config as Record<string, unknown>;
    expect(config.cluster).toBeUndefined();
    expect(config.weighted_clusters).toEqual({
      clusters: [
        { name: 'pg|v=a', weight: 90 },
        { name: 'pg|v=b', weight: 10 },
      ],
    });
  });

  it('leaves out a service whose host names another service on the port already has', () => {
    const plan = validPlan(80, [on('a', 80, 'http'), on('a.svc.mesh', 80, 'http')], 'svc.mesh');
    const domains = (plan.route!.virtual_hosts as Array<{ domains: string[] }>).flatMap((v) => v.domains);
    expect(new Set(domains).size).toBe(domains.length);
    expect(plan.ignored).toEqual([{ service: 'a.svc.mesh', reason: 'host name a.svc.mesh on port 80 already routes to a' }]);
  });
});
