// The Listener a proxyless gRPC server (grpc-js-xds XdsServer, gRFC A36) asks for, for one address it
// serves on: `grpc/server?xds.resource.listening_address=<ip>:<port>` with the template zk-xds
// documents for the server's bootstrap (`server_listener_resource_name_template`). The address maps
// to the service(s) with a registered instance at that ip:port; the Listener carries their mtls mode
// (a DownstreamTlsContext requiring client certificates in STRICT) and their authorization rules
// (RBAC HTTP filters, gRFC A41). Pure.
import type { Service } from '../catalog/model.js';
import type { AuthorizationPolicy, MtlsMode } from '../catalog/policy.js';
import { ANY_TYPE, ROUTER_FILTER, compact, typedAny } from './envoy-json.js';
import type { FilterChain, HttpConnectionManager, Listener, TransportSocket } from './envoy-types.js';
import { mtlsSettingsOf, type MtlsSettings } from './mtls-settings.js';
import { rbacFiltersFor } from './rbac-filter.js';
import { protocolOf } from './service-shape.js';
import { TLS_TRANSPORT_SOCKET } from './upstream-tls.js';

/** The `server_listener_resource_name_template` a server's bootstrap must hold (the gRFC A36 example's). */
export const SERVER_LISTENER_NAME_TEMPLATE = 'grpc/server?xds.resource.listening_address=%s';

/** "ip:port", with brackets around an IPv6 address, as XdsServer.bindAsync takes it. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The inverse of hostPort. */
export function parseHostPort(address: string): { ip: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { ip: address.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(address.slice(colon + 1)) };
}

export function serverListenerName(address: string, port: number): string {
  return serverListenerNameAt(hostPort(address, port));
}

/** The server Listener name for an "ip:port" (IPv6 in brackets). */
export function serverListenerNameAt(ipPort: string): string {
  return SERVER_LISTENER_NAME_TEMPLATE.replace('%s', ipPort);
}

/**
 * The "ip:port" addresses where a service has registered instances gRPC servers could serve, for a
 * service whose policy has an `mtls` or `authorization` section (`mtls: {mode: DISABLE}` opts in
 * without securing anything). Opt-in because every address becomes a Listener in every proxyless
 * view: 100,000 registered instances of services that run no XdsServer would cost 100,000
 * Listeners to build, hold and send to every wildcard LDS client.
 */
export function serverAddressesOf(service: Service): string[] {
  if (!service.policy.mtls && !service.policy.authorization) return [];
  // A tcp service (Dubbo's own protocol, thrift) is no gRPC server.
  if (protocolOf(service) === 'tcp') return [];
  return [...new Set(service.instances.map((i) => hostPort(i.address, i.port)))].sort();
}

/** What the server at one address enforces. */
export interface ServerSecurity {
  readonly settings: MtlsSettings;
  readonly authorization: AuthorizationPolicy | undefined;
  /** Set when the services sharing the address disagree: the Listener then refuses every call. */
  readonly conflict?: string;
}

const MODE_STRENGTH: Readonly<Record<MtlsMode, number>> = { DISABLE: 0, PERMISSIVE: 1, STRICT: 2 };

/**
 * The security of an address from the services registered there. Several services on one address
 * (one process exporting several Dubbo interfaces or gRPC services) must agree on mtls and
 * authorization: one server cannot enforce two policies per connection. If they disagree, the
 * server fails closed: the strictest mode, and every call refused.
 */
export function serverSecurityOf(services: readonly Service[]): ServerSecurity {
  const sorted = [...services].sort((a, b) => (a.name < b.name ? -1 : 1));
  const first = sorted[0]!;
  const key = (s: Service) => JSON.stringify([s.policy.mtls ?? null, s.policy.authorization ?? null]);
  const disagreeing = sorted.filter((s) => key(s) !== key(first));
  if (disagreeing.length === 0) return { settings: mtlsSettingsOf(first), authorization: first.policy.authorization };
  const strictest = sorted.reduce((a, b) => (MODE_STRENGTH[mtlsSettingsOf(b).mode] > MODE_STRENGTH[mtlsSettingsOf(a).mode] ? b : a));
  return {
    settings: mtlsSettingsOf(strictest),
    authorization: { rules: [{ action: 'DENY' }] },
    conflict: `services ${sorted.map((s) => s.name).join(', ')} share this address but not their mtls and authorization policy; every call is refused until they agree`,
  };
}

/** The server Listener for `address` ("ip:port") enforcing `security`. */
export function serverListenerFor(address: string, port: number, security: ServerSecurity): Listener {
  return { ...serverListenerHead(address, port), filter_chains: [serverFilterChain(security)] };
}

/** Everything of the server Listener but its filter chain (which depends on the security only). */
export function serverListenerHead(address: string, port: number): Listener {
  return { name: serverListenerName(address, port), address: { socket_address: { address, port_value: port } }, traffic_direction: 'INBOUND' };
}

/** The one filter chain of a server Listener: the same for every address with the same security. */
export function serverFilterChain(security: ServerSecurity): FilterChain {
  const { settings } = security;
  return compact<FilterChain>({
    filters: [
      {
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: typedAny(ANY_TYPE.httpConnectionManager, inboundHttpManager(settings.mode, security.authorization)),
      },
    ],
    transport_socket: settings.mode === 'STRICT' ? downstreamMtls(settings) : undefined,
  });
}

/**
 * stat_prefix names the mode on purpose: grpc-js-xds 1.14 crashes or keeps the old credentials when
 * only a chain's transport_socket changes between plaintext and mTLS; a changed HttpConnectionManager
 * makes it rebuild the chain (see NOTES: 0 failed calls across flips that way).
 */
function inboundHttpManager(mode: MtlsMode, authorization: AuthorizationPolicy | undefined): HttpConnectionManager {
  return {
    stat_prefix: `zkxds-inbound-${mode.toLowerCase()}`,
    // gRPC servers accept only non_forwarding_action routes (any other: UNAVAILABLE "Routing error").
    route_config: {
      name: 'zkxds-inbound',
      virtual_hosts: [{ name: 'zkxds-inbound', domains: ['*'], routes: [{ match: { prefix: '' }, non_forwarding_action: {} }] }],
    },
    http_filters: [...rbacFiltersFor(authorization), ROUTER_FILTER],
  };
}

function downstreamMtls(s: MtlsSettings): TransportSocket {
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: typedAny(ANY_TYPE.downstreamTls, {
      require_client_certificate: { value: true },
      common_tls_context: {
        tls_certificate_provider_instance: { instance_name: s.identityProvider },
        validation_context: { ca_certificate_provider_instance: { instance_name: s.caProvider } },
      },
    }),
  };
}
