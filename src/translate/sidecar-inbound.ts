// The inbound side of Envoy sidecars: one listener, `zkxds-inbound` on 0.0.0.0:15006, to which the
// pod's inbound traffic is redirected (iptables, like Istio's port 15006), with one filter chain
// per registered instance address of a gRPC or http service, matched on the original destination
// ip:port. Every sidecar gets every chain (the sidecar view is shared); only its own address's
// chains ever match. Each chain terminates mTLS with SDS secrets (STRICT, and the TLS half of
// PERMISSIVE, told apart by the TLS inspector), runs the service's RBAC filters and forwards to
// the application on 127.0.0.1:<port> (cluster `zkxds-inbound|<port>`). Pure.
import type { MtlsSettings } from './mtls-settings.js';
import type { AuthorizationPolicy } from '../catalog/policy.js';
import { ANY_TYPE, ROUTER_FILTER, compact, typedAny } from './envoy-json.js';
import type { Cluster, FilterChain, HttpConnectionManager, Listener, TransportSocket } from './envoy-types.js';
import { rbacFiltersFor } from './rbac-filter.js';
import { sdsSecret, TLS_TRANSPORT_SOCKET } from './upstream-tls.js';

export const INBOUND_LISTENER = 'zkxds-inbound';
export const INBOUND_PORT = 15006;

export interface InboundTarget {
  /** IP literal and port of a registered instance. */
  readonly ip: string;
  readonly port: number;
  readonly grpc: boolean;
  readonly settings: MtlsSettings;
  readonly authorization: AuthorizationPolicy | undefined;
}

export function inboundClusterName(port: number, grpc: boolean): string {
  return `zkxds-inbound|${port}${grpc ? '|grpc' : ''}`;
}

/** The inbound listener and the local clusters its chains forward to; undefined without targets. */
export function sidecarInboundFor(targets: readonly InboundTarget[]): { listener: Listener; clusters: Cluster[] } | undefined {
  if (targets.length === 0) return undefined;
  const sorted = sortTargets(targets);
  return { listener: { ...inboundListenerHead(), filter_chains: sorted.flatMap(inboundChainsFor) }, clusters: inboundClustersFor(sorted) };
}

/** Targets in the order their chains appear (by ip, then port). */
export function sortTargets<T extends { ip: string; port: number }>(targets: readonly T[]): T[] {
  return [...targets].sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
}

/** Everything of the inbound Listener but its filter chains. */
export function inboundListenerHead(): Listener {
  return {
    name: INBOUND_LISTENER,
    address: { socket_address: { address: '0.0.0.0', port_value: INBOUND_PORT } },
    traffic_direction: 'INBOUND',
    listener_filters: [
      { name: 'envoy.filters.listener.original_dst', typed_config: { '@type': ANY_TYPE.originalDst } },
      { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': ANY_TYPE.tlsInspector } },
    ],
  };
}

/** One local cluster per port (and gRPC-ness) the targets use. */
export function inboundClustersFor(targets: readonly InboundTarget[]): Cluster[] {
  const clusters = new Map<string, Cluster>();
  for (const t of targets) clusters.set(inboundClusterName(t.port, t.grpc), localCluster(t.port, t.grpc));
  return [...clusters.values()].sort((a, b) => (String(a.name) < String(b.name) ? -1 : 1));
}

/** The filter chains of one target address. */
export function inboundChainsFor(t: InboundTarget): FilterChain[] {
  return chainsFor(t);
}

function chainsFor(t: InboundTarget): FilterChain[] {
  const match = (transport?: 'tls' | 'raw_buffer') =>
    compact<NonNullable<FilterChain['filter_chain_match']>>({
      destination_port: { value: t.port },
      prefix_ranges: [{ address_prefix: t.ip, prefix_len: { value: t.ip.includes(':') ? 128 : 32 } }],
      transport_protocol: transport,
    });
  const chain = (transport: 'tls' | 'raw_buffer' | undefined) =>
    compact<FilterChain>({
      name: `${t.ip.includes(':') ? `[${t.ip}]` : t.ip}:${t.port}${transport ? `|${transport}` : ''}`,
      filter_chain_match: match(transport),
      filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: typedAny(ANY_TYPE.httpConnectionManager, httpManager(t)) }],
      transport_socket: transport === 'tls' ? downstreamSds(t.settings) : undefined,
    });
  switch (t.settings.mode) {
    case 'STRICT':
      return [chain('tls')];
    case 'PERMISSIVE':
      return [chain('tls'), chain('raw_buffer')];
    default:
      return [chain(undefined)];
  }
}

function httpManager(t: InboundTarget): HttpConnectionManager {
  return {
    stat_prefix: `zkxds-inbound-${t.port}`,
    codec_type: 'AUTO',
    route_config: {
      name: `zkxds-inbound-${t.port}`,
      virtual_hosts: [{ name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: inboundClusterName(t.port, t.grpc) } }] }],
    },
    http_filters: [...rbacFiltersFor(t.authorization), ROUTER_FILTER],
  };
}

function downstreamSds(s: MtlsSettings): TransportSocket {
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: typedAny(ANY_TYPE.downstreamTls, {
      require_client_certificate: { value: true },
      common_tls_context: {
        tls_certificate_sds_secret_configs: [sdsSecret(s.sdsCertificate, s.sdsCluster)],
        validation_context_sds_secret_config: sdsSecret(s.sdsValidationContext, s.sdsCluster),
      },
    }),
  };
}

/** The application behind the sidecar, on loopback. */
function localCluster(port: number, grpc: boolean): Cluster {
  const name = inboundClusterName(port, grpc);
  return compact<Cluster>({
    name,
    type: 'STATIC',
    connect_timeout: { seconds: 5, nanos: 0 },
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }],
    },
    http2_protocol_options: grpc ? {} : undefined,
  });
}
