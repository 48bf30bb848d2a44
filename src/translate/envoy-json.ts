// Small shapes shared by the translators: proto-JSON as protobufjs.fromObject reads it
// (snake_case field names, Any as {'@type': url, ...fields}).

export type Json = Readonly<Record<string, unknown>>;

export const ANY_TYPE = {
  httpConnectionManager: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
} as const;

/** Resources in this config source are fetched over the same ADS stream. */
export const ADS_CONFIG_SOURCE: Json = { ads: {}, resource_api_version: 'V3' };

export function durationMs(ms: number): Json {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}
