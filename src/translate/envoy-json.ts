// Small shapes shared by the translators: proto-JSON as protobufjs.fromObject reads it
// (snake_case field names, Any as {'@type': url, ...fields}).

export type Json = Readonly<Record<string, unknown>>;

export const ANY_TYPE = {
  httpConnectionManager: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  tcpProxy: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  upstreamTls: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  downstreamTls: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  rbac: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
  tlsInspector: 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  originalDst: 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst',
} as const;

/** Resources in this config source are fetched over the same ADS stream. */
export const ADS_CONFIG_SOURCE: Json = { ads: {}, resource_api_version: 'V3' };

/** Which proxies a resource is built for (see src/xds/proxy-kind.ts for why they differ). */
export type Audience = 'proxyless' | 'sidecar';

export function durationMs(ms: number): Json {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

export function uint32(value: number | undefined): Json | undefined {
  return value === undefined ? undefined : { value };
}

/** Drops undefined fields, so optional policy fields simply do not appear. */
export function compact<T extends Record<string, unknown>>(o: T): Json {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

export const ROUTER_FILTER: Json = { name: 'envoy.filters.http.router', typed_config: { '@type': ANY_TYPE.router } };
