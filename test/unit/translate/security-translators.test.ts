// Table tests of the mTLS and authorization translators: the Cluster's UpstreamTlsContext per mode
// and audience, the RBAC filters built from rules, and the server Listener a proxyless gRPC server
// asks for. Every object is checked against the validate.rules of its Envoy proto and encoded.
import { describe, expect, it } from '@jest/globals';
import type { AuthorizationPolicy, ServicePolicy } from '../../../src/catalog/policy.js';
import { clusterFor } from '../../../src/translate/cluster.js';
import { ANY_TYPE, ROUTER_FILTER, type Audience, type Json } from '../../../src/translate/envoy-json.js';
import { rbacFiltersFor, RBAC_ALLOW_FILTER, RBAC_DENY_FILTER } from '../../../src/translate/rbac-filter.js';
import { serverAddressesOf, serverListenerFor, serverListenerName, serverSecurityOf } from '../../../src/translate/server-listener.js';
import { upstreamMtlsFor } from '../../../src/translate/upstream-tls.js';
import { encodeResource } from '../../../src/xds/resource-encoding.js';
import { TYPE_URL } from '../../../src/xds/resource-types.js';
import { service } from '../../support/catalog-fixtures.js';
import { checkMessage } from '../../support/proto-constraints.js';

const WEB = 'spiffe://shop.example/sa/web';
const ORDERS_SAN = { exact: 'spiffe://shop.example/sa/orders' };

const withPolicy = (policy: ServicePolicy) => service('orders', [{ address: '10.0.0.1', port: 50051 }, { address: '10.0.0.2', port: 50051 }], policy);

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
          common_tls_context: { tls_certificate_provider_instance: { instance_name: 'default' }, validation_context: { ca_certificate_provider_instance: { instance_name: 'default' } } },
        },
      },
    ],
    [
      'STRICT, proxyless, named providers and server identities',
      { mtls: { mode: 'STRICT', certificateProviders: { identity: 'svid', ca: 'bundle' }, serverIdentities: [ORDERS_SAN, { prefix: 'spiffe://shop.example/ns/prod/' }] } },
      'proxyless',
      {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': ANY_TYPE.upstreamTls,
          common_tls_context: {
            tls_certificate_provider_instance: { instance_name: 'svid' },
            validation_context: { ca_certificate_provider_instance: { instance_name: 'bundle' }, match_subject_alt_names: [ORDERS_SAN, { prefix: 'spiffe://shop.example/ns/prod/' }] },
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

  it('names the policy\'s SDS secrets and agent cluster, and mTLS wins over plain TLS origination', () => {
    const svc = withPolicy({ tls: { sni: 'orders.internal' }, mtls: { mode: 'STRICT', sdsSecrets: { certificate: 'svid', validationContext: 'bundle', sdsCluster: 'agent' } } });
    const context = (clusterFor(svc, 'sidecar').transport_socket as { typed_config: Record<string, unknown> }).typed_config;
    expect(context.sni).toBe('orders.internal');
    expect(JSON.stringify(context)).toContain('"name":"svid"');
    expect(JSON.stringify(context)).toContain('"name":"bundle"');
    expect(JSON.stringify(context)).toContain('"cluster_name":"agent"');
  });
});

function sds(name: string, cluster: string): Json {
  return { name, sds_config: { resource_api_version: 'V3', api_config_source: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: cluster } }] } } };
}

describe('RBAC filters from authorization rules', () => {
  const rbac = (action: 'ALLOW' | 'DENY', policies: Record<string, Json>) => ({ '@type': ANY_TYPE.rbac, rules: { action, policies } });
  it.each<[string, AuthorizationPolicy | undefined, Json[]]>([
    ['no authorization: no filter', undefined, []],
    ['no rules: no filter', { rules: [] }, []],
    [
      'one ALLOW rule on a caller: an ALLOW filter (all else denied)',
      { rules: [{ action: 'ALLOW', from: { principals: [{ exact: WEB }] } }] },
      [{ name: RBAC_ALLOW_FILTER, typed_config: rbac('ALLOW', { 'rule-0': { permissions: [{ any: true }], principals: [{ authenticated: { principal_name: { exact: WEB } } }] } }) }],
    ],
    [
      'DENY runs before ALLOW, rules keep their index in the policy name',
      { rules: [{ action: 'ALLOW' }, { action: 'DENY', from: { principals: [{ prefix: 'spiffe://shop.example/ns/test/' }] } }] },
      [
        { name: RBAC_DENY_FILTER, typed_config: rbac('DENY', { 'rule-1': { permissions: [{ any: true }], principals: [{ authenticated: { principal_name: { prefix: 'spiffe://shop.example/ns/test/' } } }] } }) },
        { name: RBAC_ALLOW_FILTER, typed_config: rbac('ALLOW', { 'rule-0': { permissions: [{ any: true }], principals: [{ any: true }] } }) },
      ],
    ],
    [
      'methods and paths: any one; headers: all',
      {
        rules: [
          {
            action: 'DENY',
            to: { methods: ['shop.v1.Orders/Delete', 'shop.v1.Admin/*'], paths: [{ prefix: '/debug/' }], headers: [{ name: 'x-env', exact: 'test' }, { name: 'x-debug', present: true }] },
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
                          rules: [{ url_path: { path: { exact: '/shop.v1.Orders/Delete' } } }, { url_path: { path: { prefix: '/shop.v1.Admin/' } } }, { url_path: { path: { prefix: '/debug/' } } }],
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
  it('is named by the documented template and lists every registered ip:port of a gRPC service', () => {
    expect(serverListenerName('10.0.0.1', 50051)).toBe('grpc/server?xds.resource.listening_address=10.0.0.1:50051');
    expect(serverListenerName('fd00::1', 50051)).toBe('grpc/server?xds.resource.listening_address=[fd00::1]:50051');
    expect(serverAddressesOf(withPolicy({}))).toEqual(['10.0.0.1:50051', '10.0.0.2:50051']);
    expect(serverAddressesOf(withPolicy({ protocol: 'tcp' }))).toEqual([]);
  });

  it.each<[string, ServicePolicy, { tls: boolean; statPrefix: string; filters: string[] }]>([
    ['no policy: plaintext, router only', {}, { tls: false, statPrefix: 'zkxds-inbound-disable', filters: ['envoy.filters.http.router'] }],
    // gRPC servers cannot match TLS and plaintext on one port (gRFC A36): PERMISSIVE stays plaintext.
    ['PERMISSIVE: plaintext', { mtls: { mode: 'PERMISSIVE' } }, { tls: false, statPrefix: 'zkxds-inbound-permissive', filters: ['envoy.filters.http.router'] }],
    [
      'STRICT with rules: client certificates required, RBAC before the router',
      { mtls: { mode: 'STRICT' }, authorization: { rules: [{ action: 'DENY', to: { methods: ['a.B/C'] } }, { action: 'ALLOW', from: { principals: [{ exact: WEB }] } }] } },
      { tls: true, statPrefix: 'zkxds-inbound-strict', filters: [RBAC_DENY_FILTER, RBAC_ALLOW_FILTER, 'envoy.filters.http.router'] },
    ],
  ])('%s', (_name, policy, expected) => {
    const listener = serverListenerFor('10.0.0.1', 50051, serverSecurityOf([withPolicy(policy)])) as {
      name: string;
      address: Json;
      filter_chains: Array<{ transport_socket?: { typed_config: Record<string, unknown> }; filters: Array<{ typed_config: { stat_prefix: string; http_filters: Array<{ name: string }>; route_config: Json } }> }>;
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
        common_tls_context: { tls_certificate_provider_instance: { instance_name: 'default' }, validation_context: { ca_certificate_provider_instance: { instance_name: 'default' } } },
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
      { name: RBAC_DENY_FILTER, typed_config: { '@type': ANY_TYPE.rbac, rules: { action: 'DENY', policies: { 'rule-0': { permissions: [{ any: true }], principals: [{ any: true }] } } } } },
    ]);
    const same = serverSecurityOf([a, service('c', [{ address: '10.0.0.1', port: 50051 }], { mtls: { mode: 'PERMISSIVE' } })]);
    expect(same.conflict).toBeUndefined();
  });
});
