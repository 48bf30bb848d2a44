// Outbound listeners for Envoy sidecars, one per service port: an HttpConnectionManager routing by
// host name (RDS) for http and grpc services, a TcpProxy for a tcp service.
import { ADS_CONFIG_SOURCE, ANY_TYPE, ROUTER_FILTER, type Json } from './envoy-json.js';

export function outboundName(port: number): string {
  return `zkxds-outbound-${port}`;
}

export function httpListenerFor(port: number, bindAddress: string): Json {
  const name = outboundName(port);
  return outbound(port, bindAddress, {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': ANY_TYPE.httpConnectionManager,
      stat_prefix: name,
      codec_type: 'AUTO',
      rds: { config_source: ADS_CONFIG_SOURCE, route_config_name: name },
      http_filters: [ROUTER_FILTER],
    },
  });
}

export function tcpListenerFor(port: number, bindAddress: string, cluster: string): Json {
  return outbound(port, bindAddress, {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: { '@type': ANY_TYPE.tcpProxy, stat_prefix: outboundName(port), cluster },
  });
}

function outbound(port: number, bindAddress: string, filter: Json): Json {
  return {
    name: outboundName(port),
    address: { socket_address: { address: bindAddress, port_value: port } },
    traffic_direction: 'OUTBOUND',
    filter_chains: [{ filters: [filter] }],
  };
}
