// Small shapes shared by the translators: proto-JSON as protobufjs.fromObject reads it
// (snake_case field names, Any as {'@type': url, ...fields}), typed by the generated Envoy
// types (envoy-types.ts).
import type { AnyExtension } from '@grpc/proto-loader';
import type {
  ConfigSource,
  Duration,
  DownstreamTlsContext,
  HttpConnectionManager,
  HttpFilter,
  RbacFilter,
  Router,
  TcpProxy,
  UInt32Value,
  UpstreamTlsContext,
} from './envoy-types.js';

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

/** The message each Any type URL carries. */
interface AnyBody {
  [ANY_TYPE.httpConnectionManager]: HttpConnectionManager;
  [ANY_TYPE.router]: Router;
  [ANY_TYPE.tcpProxy]: TcpProxy;
  [ANY_TYPE.upstreamTls]: UpstreamTlsContext;
  [ANY_TYPE.downstreamTls]: DownstreamTlsContext;
  [ANY_TYPE.rbac]: RbacFilter;
}

/** A typed_config (or api_listener) Any: the body is checked against the message its URL names. */
export function typedAny<U extends keyof AnyBody>(typeUrl: U, body: AnyBody[U]): AnyExtension {
  return { '@type': typeUrl, ...body };
}

/** Resources in this config source are fetched over the same ADS stream. */
export const ADS_CONFIG_SOURCE: ConfigSource = { ads: {}, resource_api_version: 'V3' };

/** Which proxies a resource is built for (see src/xds/proxy-kind.ts for why they differ). */
export type Audience = 'proxyless' | 'sidecar';

export function durationMs(ms: number): Duration {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

export function uint32(value: number | undefined): UInt32Value | undefined {
  return value === undefined ? undefined : { value };
}

/**
 * Drops undefined fields, so optional policy fields simply do not appear. Call it with the message
 * type (`compact<Cluster>({...})`) so the literal is checked against it, misspellings included.
 */
export function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export const ROUTER_FILTER: HttpFilter = { name: 'envoy.filters.http.router', typed_config: typedAny(ANY_TYPE.router, {}) };
