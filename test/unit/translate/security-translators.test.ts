// Table tests of the mTLS and authorization translators: the Cluster's UpstreamTlsContext per mode
// and audience, the RBAC filters built from rules, and the server Listener a proxyless gRPC server
// asks for. Every object is checked against the validate.rules of its Envoy proto and encoded.
import { describe, expect, it } from '@jest/globals';
import type { AuthorizationPolicy, ServicePolicy } from '../../../src/catalog/policy.js';
import { clusterFor } from '../../../src/translate/cluster.js';
import { ANY_TYPE, ROUTER_FILTER, type Audience } from '../../../src/translate/envoy-json.js';
import type { Json } from '../../support/json.js';
import { rbacFiltersFor, RBAC_ALLOW_FILTER, RBAC_DENY_FILTER } from '../../../src/translate/rbac-filter.js';
import { serverAddressesOf, serverListenerFor, serverListenerName, serverSecurityOf } from '../../../src/translate/server-listener.js';
import { upstreamMtlsFor } from '../../../src/translate/upstream-tls.js';
import { encodeResource } from '../../../src/xds/resource-encoding.js';
import { TYPE_URL } from '../../../src/xds/resource-types.js';
import { service } from '../../support/catalog-fixtures.js';
import { checkMessage, checkResourceSet } from '../../support/proto-constraints.js';
import { INBOUND_LISTENER, inboundClusterName, sidecarInboundFor } from '../../../src/translate/sidecar-inbound.js';
import { mtlsSettingsOf } from '../../../src/translate/mtls-settings.js';
import { clustersFor } from '../../../src/translate/cluster.js';
import { assignmentsFor } from '../../../src/translate/endpoints.js';
import { planPort } from '../../../src/translate/sidecar-port.js';
import { proxylessResourceSet } from '../../../src/translate/service-resources.js';
import { securitySummary } from '../../../src/admin/security-summary.js';
import { ServerListenerIndex } from '../../../src/publish/server-listener-index.js';

const WEB = 'spiffe://shop.example/sa/web';
const ORDERS_SAN = { exact: 'spiffe://shop.example/sa/orders' };

const withPolicy = (policy: ServicePolicy) =>
  service(
    'orders',
    [
      { address: '10.0.0.1', port: 50051 },
      { address: '10.0.0.2', port: 50051 },
    ],
    policy,
  );

describe('upstream mTLS on the Cluster', () => {
  it.each<[string, ServicePolicy, Audience, Json | undefined]>([
    ['no policy: plaintext', {}, 'proxyless', undefined],
    ['DISABLE: plaintext', { mtls: { mode: 'DISABLE' } }, 'sidecar', undefined],
    // PERMISSIVE servers still take plaintext: callers keep it until STRICT.
    ['PERMISSIVE: callers keep plaintext (proxyless)', { mtls: { mode: 'PERMISSIVE' } }, 'proxyless', undefined],
    ['PERMISSIVE: callers keep plaintext (sidecar)', { mtls: { mode: 'PERMISSIVE' } }, 'sidecar', undefined],
    [
      'STRICT, proxyless, default provider names, no SAN check',
      { mtls: { mode: 'STRICT' } },
      'proxyless',
      {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': ANY_TYPE.upstreamTls,
          common_tls_context: {
            tls_certificate_provider_instance: { instance_name: 'default' },
            validation_context: { ca_certificate_provider_instance: { instance_name: 'default' } },
          },
        },
      },
    ],
    [
      'STRICT, proxyless, named providers and server identities',
      {
        mtls: {
          mode: 'STRICT',
          certificateProviders: { identity: 'svid', ca: 'bundle' },
          serverIdentities: [ORDERS_SAN, { prefix: 'spiffe://shop.example/ns/prod/' }],
        },
      },
      'proxyless',
      {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': ANY_TYPE.upstreamTls,
          common_tls_context: {
            tls_certificate_provider_instance: { instance_name: 'svid' },
            validation_context: {
              ca_certificate_provider_instance: { instance_name: 'bundle' },
              match_subject_alt_names: [ORDERS_SAN, { prefix: 'spiffe://shop.example/ns/prod/' }],
            },
          },
        },
      },
    ],
    [
      'STRICT, sidecar: SDS secrets from the agent cluster, typed URI SAN matchers, SNI the service name',
      { mtls: { mode: 'STRICT', serverIdentities: [ORDERS_SAN] } },
      'sidecar',
      {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': ANY_TYPE.upstreamTls,
          sni: 'orders',
          common_tls_context: {
            tls_certificate_sds_secret_configs: [sds('default', 'spire_agent')],
            combined_validation_context: {
              default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: ORDERS_SAN }] },
              validation_context_sds_secret_config: sds('ROOTCA', 'spire_agent'),
            },
          },
        },
      },
    ],
  ])('%s', (_name, policy, audience, expected) => {
    const svc = withPolicy(policy);
    expect(upstreamMtlsFor(svc, audience)).toEqual(expected);
    const cluster = clusterFor(svc, audience);
    expect(cluster.transport_socket).toEqual(expected);
    expect(checkMessage('envoy.config.cluster.v3.Cluster', cluster)).toEqual([]);
    expect(() => encodeResource(TYPE_URL.cluster, 'orders', cluster)).not.toThrow();
  });

  it("names the policy's SDS secrets and agent cluster, and mTLS wins over plain TLS origination", () => {
    const svc = withPolicy({
      tls: { sni: 'orders.internal' },
      mtls: { mode: 'STRICT', sdsSecrets: { certificate: 'svid', validationContext: 'bundle', sdsCluster: 'agent' } },
    });
    const context = (clusterFor(svc, 'sidecar').transport_socket as { typed_config: Record<string, unknown> }).typed_config;
    expect(context.sni).toBe('orders.internal');
    expect(JSON.stringify(context)).toContain('"name":"svid"');
    expect(JSON.stringify(context)).toContain('"name":"bundle"');
    expect(JSON.stringify(context)).toContain('"cluster_name":"agent"');
  });
});

function sds(name: string, cluster: string): Json {
  return {
    name,
    sds_config: {
      resource_api_version: 'V3',
      api_config_source: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: cluster } }] },
    },
  };
}

describe('RBAC filters from authorization rules', () => {
  const rbac = (action: 'ALLOW' | 'DENY', policies: Record<string, Json>) => ({ '@type': ANY_TYPE.rbac, rules: { action, policies } });
  it.each<[string, AuthorizationPolicy | undefined, Json[]]>([
    ['no authorization: no filter', undefined, []],
    ['no rules: no filter', { rules: [] }, []],
    [
      'one ALLOW rule on a caller: an ALLOW filter (all else denied)',
      { rules: [{ action: 'ALLOW', from: { principals: [{ exact: WEB }] } }] },
      [
        {
          name: RBAC_ALLOW_FILTER,
          typed_config: rbac('ALLOW', { 'rule-0': { permissions: [{ any: true }], principals: [{ authenticated: { principal_name: { exact: WEB } } }] } }),
        },
      ],
    ],
    [
      'DENY runs before ALLOW, rules keep their index in the policy name',
      { rules: [{ action: 'ALLOW' }, { action: 'DENY', from: { principals: [{ prefix: 'spiffe://shop.example/ns/test/' }] } }] },
      [
        {
          name: RBAC_DENY_FILTER,
          typed_config: rbac('DENY', {
            'rule-1': { permissions: [{ any: true }], principals: [{ authenticated: { principal_name: { prefix: 'spiffe://shop.example/ns/test/' } } }] },
          }),
        },
        { name: RBAC_ALLOW_FILTER, typed_config: rbac('ALLOW', { 'rule-0': { permissions: [{ any: true }], principals: [{ any: true }] } }) },
      ],
    ],
    [
      'methods and paths: any one; headers: all',
      {
        rules: [
          {
            action: 'DENY',
            to: {
              methods: ['shop.v1.Orders/Delete', 'shop.v1.Admin/*'],
              paths: [{ prefix: '/debug/' }],
              headers: [
                { name: 'x-env', exact: 'test' },
                { name: 'x-debug', present: true },
              ],
            },
          },
        ],
      },
      [
        {
          name: RBAC_DENY_FILTER,
          typed_config: rbac('DENY', {
            'rule-0': {
              permissions: [
                {
                  and_rules: {
                    rules: [
                      {
                        or_rules: {
                          rules: [
                            { url_path: { path: { exact: '/shop.v1.Orders/Delete' } } },
                            { url_path: { path: { prefix: '/shop.v1.Admin/' } } },
                            { url_path: { path: { prefix: '/debug/' } } },
                          ],
                        },
                      },
                      { header: { name: 'x-env', string_match: { exact: 'test' } } },
                      { header: { name: 'x-debug', present_match: true } },
                    ],
                  },
                },
              ],
              principals: [{ any: true }],
            },
          }),
        },
      ],
    ],
  ])('%s', (_name, authorization, expected) => {
    const filters = rbacFiltersFor(authorization);
    expect(filters).toEqual(expected);
    for (const f of filters) expect(checkMessage('envoy.extensions.filters.http.rbac.v3.RBAC', f.typed_config as Json)).toEqual([]);
  });
});

describe('the server Listener of a proxyless gRPC server', () => {
  it('is named by the documented template and lists every registered ip:port of a gRPC service with a security section', () => {
    expect(serverListenerName('10.0.0.1', 50051)).toBe('grpc/server?xds.resource.listening_address=10.0.0.1:50051');
    expect(serverListenerName('fd00::1', 50051)).toBe('grpc/server?xds.resource.listening_address=[fd00::1]:50051');
    expect(serverAddressesOf(withPolicy({ mtls: { mode: 'DISABLE' } }))).toEqual(['10.0.0.1:50051', '10.0.0.2:50051']);
    expect(serverAddressesOf(withPolicy({ authorization: { rules: [] } }))).toEqual(['10.0.0.1:50051', '10.0.0.2:50051']);
    // Opt-in: a service with neither an mtls nor an authorization section runs no XdsServer here.
    expect(serverAddressesOf(withPolicy({}))).toEqual([]);
    expect(serverAddressesOf(withPolicy({ protocol: 'tcp', mtls: { mode: 'DISABLE' } }))).toEqual([]);
  });

  it.each<[string, ServicePolicy, { tls: boolean; statPrefix: string; filters: string[] }]>([
    ['no policy: plaintext, router only', {}, { tls: false, statPrefix: 'zkxds-inbound-disable', filters: ['envoy.filters.http.router'] }],
    // gRPC servers cannot match TLS and plaintext on one port (gRFC A36): PERMISSIVE stays plaintext.
    ['PERMISSIVE: plaintext', { mtls: { mode: 'PERMISSIVE' } }, { tls: false, statPrefix: 'zkxds-inbound-permissive', filters: ['envoy.filters.http.router'] }],
    [
      'STRICT with rules: client certificates required, RBAC before the router',
      {
        mtls: { mode: 'STRICT' },
        authorization: {
          rules: [
            { action: 'DENY', to: { methods: ['a.B/C'] } },
            { action: 'ALLOW', from: { principals: [{ exact: WEB }] } },
          ],
        },
      },
      { tls: true, statPrefix: 'zkxds-inbound-strict', filters: [RBAC_DENY_FILTER, RBAC_ALLOW_FILTER, 'envoy.filters.http.router'] },
    ],
  ])('%s', (_name, policy, expected) => {
    const listener = serverListenerFor('10.0.0.1', 50051, serverSecurityOf([withPolicy(policy)])) as unknown as {
      name: string;
      address: Json;
      filter_chains: Array<{
        transport_socket?: { typed_config: Record<string, unknown> };
        filters: Array<{ typed_config: { stat_prefix: string; http_filters: Array<{ name: string }>; route_config: Json } }>;
      }>;
    };
    expect(listener.name).toBe('grpc/server?xds.resource.listening_address=10.0.0.1:50051');
    expect(listener.address).toEqual({ socket_address: { address: '10.0.0.1', port_value: 50051 } });
    const chain = listener.filter_chains[0]!;
    const hcm = chain.filters[0]!.typed_config;
    expect(hcm.stat_prefix).toBe(expected.statPrefix);
    expect(hcm.http_filters.map((f) => f.name)).toEqual(expected.filters);
    expect(hcm.http_filters.at(-1)).toEqual(ROUTER_FILTER);
    expect(hcm.route_config).toEqual({
      name: 'zkxds-inbound',
      virtual_hosts: [{ name: 'zkxds-inbound', domains: ['*'], routes: [{ match: { prefix: '' }, non_forwarding_action: {} }] }],
    });
    if (expected.tls) {
      expect(chain.transport_socket!.typed_config).toEqual({
        '@type': ANY_TYPE.downstreamTls,
        require_client_certificate: { value: true },
        common_tls_context: {
          tls_certificate_provider_instance: { instance_name: 'default' },
          validation_context: { ca_certificate_provider_instance: { instance_name: 'default' } },
        },
      });
    } else {
      expect(chain.transport_socket).toBeUndefined();
    }
    expect(checkMessage('envoy.config.listener.v3.Listener', listener)).toEqual([]);
    expect(() => encodeResource(TYPE_URL.listener, listener.name, listener)).not.toThrow();
  });

  it('fails closed when services sharing an address disagree: strictest mode, every call denied', () => {
    const a = service('a', [{ address: '10.0.0.1', port: 50051 }], { mtls: { mode: 'PERMISSIVE' } });
    const b = service('b', [{ address: '10.0.0.1', port: 50051 }], { mtls: { mode: 'STRICT' } });
    const security = serverSecurityOf([b, a]);
    expect(security.settings.mode).toBe('STRICT');
    expect(security.conflict).toMatch(/services a, b share this address/);
    expect(rbacFiltersFor(security.authorization)).toEqual([
      {
        name: RBAC_DENY_FILTER,
        typed_config: {
          '@type': ANY_TYPE.rbac,
          rules: { action: 'DENY', policies: { 'rule-0': { permissions: [{ any: true }], principals: [{ any: true }] } } },
        },
      },
    ]);
    const same = serverSecurityOf([a, service('c', [{ address: '10.0.0.1', port: 50051 }], { mtls: { mode: 'PERMISSIVE' } })]);
    expect(same.conflict).toBeUndefined();
  });
});

describe('the inbound listener of Envoy sidecars', () => {
  type Chain = {
    name: string;
    filter_chain_match: Record<string, unknown>;
    transport_socket?: { typed_config: Record<string, unknown> };
    filters: Array<{
      typed_config: { http_filters: Array<{ name: string }>; route_config: { virtual_hosts: Array<{ routes: Array<{ route: { cluster: string } }> }> } };
    }>;
  };
  const target = (policy: ServicePolicy, ip = '10.0.0.1', port = 50051) => {
    const svc = service('orders', [{ address: ip, port }], { protocol: 'grpc', ...policy });
    return { ip, port, grpc: true, settings: mtlsSettingsOf(svc), authorization: svc.policy.authorization };
  };

  it.each<[string, ServicePolicy, Array<string | undefined>]>([
    ['DISABLE: one plaintext chain', { mtls: { mode: 'DISABLE' } }, [undefined]],
    ['PERMISSIVE: a TLS chain and a plaintext one, told apart by the TLS inspector', { mtls: { mode: 'PERMISSIVE' } }, ['tls', 'raw_buffer']],
    ['STRICT: only the TLS chain', { mtls: { mode: 'STRICT' } }, ['tls']],
  ])('%s', (_name, policy, transports) => {
    const inbound = sidecarInboundFor([target(policy)])!;
    const listener = inbound.listener as unknown as { name: string; address: Json; filter_chains: Chain[] };
    expect(listener.name).toBe(INBOUND_LISTENER);
    expect(listener.address).toEqual({ socket_address: { address: '0.0.0.0', port_value: 15006 } });
    expect(listener.filter_chains.map((c) => c.filter_chain_match.transport_protocol)).toEqual(transports);
    for (const chain of listener.filter_chains) {
      expect(chain.filter_chain_match).toMatchObject({
        destination_port: { value: 50051 },
        prefix_ranges: [{ address_prefix: '10.0.0.1', prefix_len: { value: 32 } }],
      });
      expect(chain.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes[0]!.route.cluster).toBe(inboundClusterName(50051, true));
      expect(chain.transport_socket !== undefined).toBe(chain.filter_chain_match.transport_protocol === 'tls');
      if (chain.transport_socket) expect(chain.transport_socket.typed_config.require_client_certificate).toEqual({ value: true });
    }
    expect(inbound.clusters).toEqual([expect.objectContaining({ name: 'zkxds-inbound|50051|grpc', type: 'STATIC', http2_protocol_options: {} })]);
    expect(checkMessage('envoy.config.listener.v3.Listener', listener)).toEqual([]);
    for (const c of inbound.clusters) expect(checkMessage('envoy.config.cluster.v3.Cluster', c)).toEqual([]);
    expect(() => encodeResource(TYPE_URL.listener, INBOUND_LISTENER, listener)).not.toThrow();
  });

  it('runs the RBAC filters before the router on every chain', () => {
    const inbound = sidecarInboundFor([
      target({ mtls: { mode: 'PERMISSIVE' }, authorization: { rules: [{ action: 'ALLOW', from: { principals: [{ exact: WEB }] } }] } }),
    ])!;
    for (const chain of (inbound.listener as unknown as { filter_chains: Chain[] }).filter_chains) {
      expect(chain.filters[0]!.typed_config.http_filters.map((f) => f.name)).toEqual([RBAC_ALLOW_FILTER, 'envoy.filters.http.router']);
    }
  });

  it('is not built while no service has a security policy, and holds only services that have one', () => {
    const index = new ServerListenerIndex();
    index.track(service('a', [{ address: '10.0.0.1', port: 1 }]), new Set());
    expect(index.inboundTargets()).toEqual([]);
    index.track(service('b', [{ address: '10.0.0.2', port: 2 }], { mtls: { mode: 'STRICT' } }), new Set());
    expect(
      index
        .inboundTargets()
        .map((t) => `${t.ip}:${t.port} ${t.settings.mode}`)
        .sort(),
    ).toEqual(['10.0.0.2:2 STRICT']);
  });
});

describe("a STRICT service's resource sets", () => {
  const svc = service('orders', [{ address: '10.0.0.1', port: 50051 }], {
    protocol: 'grpc',
    mtls: { mode: 'STRICT', certificateProviders: { identity: 'svid', ca: 'bundle' }, sdsSecrets: { sdsCluster: 'agent' } },
    authorization: { rules: [{ action: 'ALLOW', from: { principals: [{ exact: WEB }] } }] },
  });
  const index = new ServerListenerIndex();
  index.track(svc, new Set());
  const needs = securitySummary(svc, index).nodeNeeds!;

  it('are consistent and reference only the names inspect says the nodes must provide (sidecar)', () => {
    const inbound = sidecarInboundFor(index.inboundTargets())!;
    const plan = planPort(50051, [svc], '127.0.0.1', '')!;
    const set = {
      clusters: [...clustersFor(svc, 'sidecar'), ...inbound.clusters],
      endpoints: assignmentsFor(svc),
      listeners: [plan.listener, inbound.listener],
      routes: [plan.route!],
    };
    expect(checkResourceSet({ ...set, nodeProvides: [...needs.sdsSecrets, needs.sdsCluster] })).toEqual([]);
    // The check does look: without the agent cluster it names every reference to it.
    expect(checkResourceSet({ ...set, nodeProvides: needs.sdsSecrets }).map((v) => v.rule)).toContain('node.provides');
    for (const r of set.clusters) expect(checkMessage('envoy.config.cluster.v3.Cluster', r)).toEqual([]);
    for (const r of set.listeners) expect(checkMessage('envoy.config.listener.v3.Listener', r)).toEqual([]);
  });

  it('are consistent and reference only the names inspect says the nodes must provide (proxyless)', () => {
    const resources = proxylessResourceSet(svc);
    const server = serverListenerFor('10.0.0.1', 50051, index.securityAt('10.0.0.1:50051')!);
    const set = { clusters: resources.cluster, endpoints: resources.endpoint, listeners: [...resources.listener, server], routes: resources.route };
    expect(needs.certificateProviders).toEqual(['svid', 'bundle']);
    expect(checkResourceSet({ ...set, nodeProvides: needs.certificateProviders })).toEqual([]);
    expect(checkResourceSet({ ...set, nodeProvides: ['svid'] }).map((v) => v.message)).toContain(
      'certificate provider instance "bundle" is not among the names the node is documented to provide',
    );
  });
});
