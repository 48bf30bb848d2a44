// Outbound listeners for Envoy sidecars, one per service port: an HttpConnectionManager routing by
// host name (RDS) for http and grpc services, a TcpProxy for a tcp service.
import type { Service } from '../catalog/model.js';
import { ADS_CONFIG_SOURCE, ANY_TYPE, ROUTER_FILTER, compact, typedAny } from './envoy-json.js';
import type { Listener, NetworkFilter, TcpClusterWeight, TcpProxy } from './envoy-types.js';
import { resourceNamesFor } from './resource-names.js';
import { subsetsOf } from './service-shape.js';

export function outboundName(port: number): string {
  return `zkxds-outbound-${port}`;
}

export function httpListenerFor(port: number, bindAddress: string): Listener {
  const name = outboundName(port);
  return outbound(port, bindAddress, {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: typedAny(ANY_TYPE.httpConnectionManager, {
      stat_prefix: name,
      codec_type: 'AUTO',
      rds: { config_source: ADS_CONFIG_SOURCE, route_config_name: name },
      http_filters: [ROUTER_FILTER],
    }),
  });
}

/** A TcpProxy to the service: its cluster, or its traffic-split subsets; client-IP hashing when asked. */
export function tcpListenerFor(port: number, bindAddress: string, service: Service): Listener {
  const subsets = subsetsOf(service);
  const hashOn = service.policy.loadBalancing?.hashOn;
  const target: Pick<TcpProxy, 'cluster' | 'weighted_clusters'> =
    subsets.length > 0
      ? { weighted_clusters: { clusters: subsets.map((s): TcpClusterWeight => ({ name: s.cluster, weight: s.weight })) } }
      : { cluster: resourceNamesFor(service.name).cluster };
  const proxy = compact<TcpProxy>({
    stat_prefix: outboundName(port),
    ...target,
    // TCP has no headers: only the client address can be hashed (the policy schema enforces it).
    hash_policy: hashOn && 'sourceIp' in hashOn ? [{ source_ip: {} }] : undefined,
  });
  return outbound(port, bindAddress, { name: 'envoy.filters.network.tcp_proxy', typed_config: typedAny(ANY_TYPE.tcpProxy, proxy) });
}

function outbound(port: number, bindAddress: string, filter: NetworkFilter): Listener {
  return {
    name: outboundName(port),
    address: { socket_address: { address: bindAddress, port_value: port } },
    traffic_direction: 'OUTBOUND',
    filter_chains: [{ filters: [filter] }],
  };
}
