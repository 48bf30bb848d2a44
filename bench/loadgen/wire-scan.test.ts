// The load generator's wire scanner against resources encoded by protobufjs from the vendored
// Envoy protos: every fact it extracts must match a full decode.
// Outside jest's default testMatch (test/**); run with:
//   NODE_OPTIONS=--experimental-vm-modules npx jest --rootDir . --testMatch '<rootDir>/bench/loadgen/*.test.ts'
import { describe, expect, it } from '@jest/globals';
import protobuf from 'protobufjs';
import { messageType } from '../../src/xds/protos.js';
import { TYPE_URL as ZK_TYPE_URL } from '../../src/xds/resource-types.js';
import { encodeResource } from '../../src/xds/resource-encoding.js';
import { proxylessResourceSet, sidecarResourceSet } from '../../src/translate/service-resources.js';
import { planPort } from '../../src/translate/sidecar-port.js';
import { service } from '../../test/support/catalog-fixtures.js';
import { EMPTY_POLICY } from '../../src/catalog/policy.js';
import { WireFormatError, WireReader, decodeUtf8, stringField, varintField } from './wire-scan.js';
import { domainRank, resourceName, scanAssignment, scanCluster, scanListener, scanRoute, unwrapResource } from './resource-scan.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const ADS = { ads: {}, resource_api_version: 'V3' };

function encode(type: string, object: Record<string, unknown>): Uint8Array {
  const t = messageType(type);
  return t.encode(t.fromObject(object)).finish();
}

const cluster = (o: Record<string, unknown>) => encode('envoy.config.cluster.v3.Cluster', o);
const listener = (o: Record<string, unknown>) => encode('envoy.config.listener.v3.Listener', o);
const routeConfig = (o: Record<string, unknown>) => encode('envoy.config.route.v3.RouteConfiguration', o);

describe('WireReader', () => {
  it('walks every wire type and reads varints exactly up to 2^53', () => {
    const bytes = protobuf.Writer.create()
      .uint32((1 << 3) | 0)
      .uint64(2 ** 53 - 1)
      .uint32((2 << 3) | 1)
      .fixed64(7)
      .uint32((3 << 3) | 2)
      .string('héllo')
      .uint32((4 << 3) | 5)
      .fixed32(9)
      .uint32((5 << 3) | 0)
      .int32(-3) // ten bytes on the wire
      .uint32((536870911 << 3) | 0)
      .uint32(1) // the largest field number
      .finish();
    const r = new WireReader(bytes);
    const seen: Array<[number, number]> = [];
    while (r.next()) seen.push([r.field, r.wireType]);
    expect(seen).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 5],
      [5, 0],
      [536870911, 0],
    ]);
    expect(varintField(bytes, 0, bytes.length, 1)).toBe(2 ** 53 - 1);
    expect(stringField(bytes, 0, bytes.length, 3)).toBe('héllo');
    expect(varintField(bytes, 0, bytes.length, 536870911)).toBe(1);
  });

  it('rejects truncated messages and groups instead of reading past the end', () => {
    const bytes = protobuf.Writer.create()
      .uint32((1 << 3) | 2)
      .string('abcdef')
      .finish();
    expect(() => stringField(bytes.subarray(0, 4), 0, 4, 1)).toThrow(WireFormatError);
    expect(() => stringField(Uint8Array.of((1 << 3) | 3), 0, 1, 1)).toThrow(WireFormatError);
    expect(() => new WireReader(Uint8Array.of(0x80)).next()).toThrow(WireFormatError);
  });

  it('decodes ASCII, multi-byte UTF-8 and long strings', () => {
    for (const s of ['', 'svc-00042', 'ünïcødé-☃', 'x'.repeat(300), `${'a'.repeat(47)}é`]) {
      const bytes = Buffer.from(s, 'utf8');
      expect(decodeUtf8(bytes, 0, bytes.length)).toBe(s);
    }
  });
});

describe('resource scanning', () => {
  it('reads a cluster name and the EDS name it asks for', () => {
    expect(scanCluster(cluster({ name: 'a', type: 'EDS', eds_cluster_config: { eds_config: ADS, service_name: 'a-eds' } }))).toEqual({
      name: 'a',
      edsName: 'a-eds',
    });
    expect(scanCluster(cluster({ name: 'b', type: 'EDS', eds_cluster_config: { eds_config: ADS } }))).toEqual({ name: 'b', edsName: 'b' });
    expect(scanCluster(cluster({ name: 'c', type: 'STRICT_DNS' }))).toEqual({ name: 'c', edsName: null });
    expect(scanCluster(cluster({ name: 'd' }))).toEqual({ name: 'd', edsName: null }); // STATIC by default
    expect(scanCluster(cluster({ name: 'e', cluster_type: { name: 'envoy.clusters.aggregate' } }))).toEqual({ name: 'e', edsName: null });
  });

  it('counts the endpoints of a ClusterLoadAssignment over all localities', () => {
    const ep = (port: number) => ({ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: port } } } });
    const bytes = encode('envoy.config.endpoint.v3.ClusterLoadAssignment', {
      cluster_name: 'svc',
      endpoints: [
        { locality: { zone: 'a' }, lb_endpoints: [ep(1), ep(2)] },
        { locality: { zone: 'b' }, lb_endpoints: [ep(3)] },
      ],
      policy: { overprovisioning_factor: { value: 140 } },
    });
    expect(scanAssignment(bytes)).toEqual({ name: 'svc', endpoints: 3 });
  });

  it('finds the RDS names of HttpConnectionManagers in filter chains, the default chain and an api_listener', () => {
    const hcm = (route: string) => ({ '@type': HCM, stat_prefix: 'x', rds: { config_source: ADS, route_config_name: route }, http_filters: [ROUTER] });
    const bytes = listener({
      name: 'l',
      address: { socket_address: { address: '0.0.0.0', port_value: 80 } },
      filter_chains: [
        { filters: [{ name: 'hcm', typed_config: hcm('r1') }] },
        {
          filters: [
            {
              name: 'tcp',
              typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 't', cluster: 'c' },
            },
          ],
        },
      ],
      default_filter_chain: { filters: [{ name: 'hcm', typed_config: hcm('r2') }] },
    });
    expect(scanListener(bytes)).toEqual({ name: 'l', routeNames: ['r1', 'r2'], inlineClusters: [] });
    expect(scanListener(listener({ name: 'api', api_listener: { api_listener: hcm('r3') } })).routeNames).toEqual(['r3']);
  });

  it('takes the clusters of an inline route_config for the authority', () => {
    const bytes = listener({
      name: 'svc',
      api_listener: {
        api_listener: {
          '@type': HCM,
          stat_prefix: 's',
          route_config: { name: 'inline', virtual_hosts: [{ name: 'v', domains: ['svc'], routes: [{ match: { prefix: '' }, route: { cluster: 'svc-c' } }] }] },
          http_filters: [ROUTER],
        },
      },
    });
    expect(scanListener(bytes, 'svc')).toEqual({ name: 'svc', routeNames: [], inlineClusters: ['svc-c'] });
  });

  it('picks the virtual host gRPC would and lists its clusters, weighted ones included', () => {
    const bytes = routeConfig({
      name: 'rc',
      virtual_hosts: [
        { name: 'any', domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: 'fallback' } }] },
        { name: 'suffix', domains: ['*.example.com'], routes: [{ match: { prefix: '' }, route: { cluster: 'suffix' } }] },
        {
          name: 'exact',
          domains: ['api.example.com'],
          routes: [
            {
              match: { prefix: '/a' },
              route: {
                weighted_clusters: {
                  clusters: [
                    { name: 'w1', weight: { value: 1 } },
                    { name: 'w2', weight: { value: 3 } },
                  ],
                },
              },
            },
            { match: { prefix: '' }, route: { cluster: 'w1' } },
          ],
        },
      ],
    });
    expect(scanRoute(bytes, 'api.example.com')).toEqual({ name: 'rc', clusters: ['w1', 'w2'] });
    expect(scanRoute(bytes, 'web.example.com').clusters).toEqual(['suffix']);
    expect(scanRoute(bytes, 'other').clusters).toEqual(['fallback']);
    expect(scanRoute(bytes).clusters).toEqual([]);
    expect(domainRank('api.*', 'api.x')).toBeGreaterThan(domainRank('*', 'api.x'));
    expect(domainRank('*.x', 'api.x')).toBeGreaterThan(domainRank('api.*', 'api.x'));
  });

  it('unwraps resources sent inside a discovery Resource', () => {
    const inner = cluster({ name: 'a', type: 'EDS', eds_cluster_config: { eds_config: ADS } });
    const wrapped = encode('envoy.service.discovery.v3.Resource', { name: 'a', version: '1', resource: { type_url: ZK_TYPE_URL.cluster, value: inner } });
    const r = unwrapResource('type.googleapis.com/envoy.service.discovery.v3.Resource', wrapped);
    expect(r.name).toBe('a');
    expect(Buffer.from(r.bytes).equals(Buffer.from(inner))).toBe(true);
    expect(unwrapResource(ZK_TYPE_URL.cluster, inner).bytes).toBe(inner);
  });

  it("matches a full protobufjs decode on zk-xds's own resources, both views", () => {
    const svc = service('orders', 4, {
      ...EMPTY_POLICY,
      trafficSplit: {
        label: 'v',
        subsets: [
          { value: '1', weight: 90 },
          { value: '2', weight: 10 },
        ],
      },
    });
    const proxyless = proxylessResourceSet(svc);
    const sidecar = sidecarResourceSet(svc);
    const plan = planPort(8080, [svc], '127.0.0.1', 'mesh')!;
    const enc = (typeUrl: string, o: { name?: string; cluster_name?: string }) => {
      const name = String(o.name ?? o.cluster_name);
      const any = encodeResource(typeUrl, name, o).anyBytes;
      return { name, value: messageType('google.protobuf.Any').decode(any) as unknown as { value: Uint8Array } };
    };
    for (const c of [...proxyless.cluster, ...sidecar.cluster]) {
      const { name, value } = enc(ZK_TYPE_URL.cluster, c);
      const edsConfig = c.eds_cluster_config as { service_name: string };
      expect(scanCluster(value.value)).toEqual({ name, edsName: edsConfig.service_name });
    }
    for (const a of proxyless.endpoint) {
      const { name, value } = enc(ZK_TYPE_URL.endpoint, a);
      const lb = (a.endpoints as Array<{ lb_endpoints: unknown[] }>).reduce((n, l) => n + l.lb_endpoints.length, 0);
      expect(scanAssignment(value.value)).toEqual({ name, endpoints: lb });
    }
    const api = enc(ZK_TYPE_URL.listener, proxyless.listener[0]!);
    expect(scanListener(api.value.value, 'orders')).toEqual({ name: 'orders', routeNames: ['orders'], inlineClusters: [] });
    const port = enc(ZK_TYPE_URL.listener, plan.listener);
    expect(scanListener(port.value.value).routeNames).toEqual(['zkxds-outbound-8080']);
    const route = enc(ZK_TYPE_URL.route, proxyless.route[0]!);
    expect([...scanRoute(route.value.value, 'orders').clusters].sort()).toEqual(['orders|v=1', 'orders|v=2']);
    expect(resourceName(enc(ZK_TYPE_URL.route, plan.route!).value.value)).toBe('zkxds-outbound-8080');
  });
});
