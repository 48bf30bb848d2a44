// The Envoy messages the translators build, as generated from the vendored protos
// (src/generated/, `make protos`): the permissive "input" types, with snake_case field names,
// enums by name and Any as {'@type', ...fields}, which is the proto-JSON that protobufjs's
// fromObject encodes (src/xds/resource-encoding.ts). A misspelled field fails `tsc`.
export type { Cluster } from '../generated/envoy/config/cluster/v3/Cluster.js';
export type { _envoy_config_cluster_v3_Cluster_LbPolicy as LbPolicy } from '../generated/envoy/config/cluster/v3/Cluster.js';
export type { CircuitBreakers } from '../generated/envoy/config/cluster/v3/CircuitBreakers.js';
export type { OutlierDetection } from '../generated/envoy/config/cluster/v3/OutlierDetection.js';
export type { ClusterLoadAssignment } from '../generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js';
export type { LocalityLbEndpoints } from '../generated/envoy/config/endpoint/v3/LocalityLbEndpoints.js';
export type { Listener } from '../generated/envoy/config/listener/v3/Listener.js';
export type { Filter as NetworkFilter } from '../generated/envoy/config/listener/v3/Filter.js';
export type { RouteConfiguration } from '../generated/envoy/config/route/v3/RouteConfiguration.js';
export type { VirtualHost } from '../generated/envoy/config/route/v3/VirtualHost.js';
export type { RouteAction, _envoy_config_route_v3_RouteAction_HashPolicy as RouteHashPolicy } from '../generated/envoy/config/route/v3/RouteAction.js';
export type { RetryPolicy } from '../generated/envoy/config/route/v3/RetryPolicy.js';
export type { ConfigSource } from '../generated/envoy/config/core/v3/ConfigSource.js';
export type { TransportSocket } from '../generated/envoy/config/core/v3/TransportSocket.js';
export type { HttpConnectionManager } from '../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.js';
export type { HttpFilter } from '../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter.js';
export type { Router } from '../generated/envoy/extensions/filters/http/router/v3/Router.js';
export type { TcpProxy } from '../generated/envoy/extensions/filters/network/tcp_proxy/v3/TcpProxy.js';
export type { UpstreamTlsContext } from '../generated/envoy/extensions/transport_sockets/tls/v3/UpstreamTlsContext.js';
export type { DownstreamTlsContext } from '../generated/envoy/extensions/transport_sockets/tls/v3/DownstreamTlsContext.js';
export type { Duration } from '../generated/google/protobuf/Duration.js';
export type { UInt32Value } from '../generated/google/protobuf/UInt32Value.js';
export type { LbEndpoint } from '../generated/envoy/config/endpoint/v3/LbEndpoint.js';
export type { _envoy_config_route_v3_WeightedCluster_ClusterWeight as RouteClusterWeight } from '../generated/envoy/config/route/v3/WeightedCluster.js';
export type { _envoy_extensions_filters_network_tcp_proxy_v3_TcpProxy_WeightedCluster_ClusterWeight as TcpClusterWeight } from '../generated/envoy/extensions/filters/network/tcp_proxy/v3/TcpProxy.js';
export type { FilterChain } from '../generated/envoy/config/listener/v3/FilterChain.js';
export type { SdsSecretConfig } from '../generated/envoy/extensions/transport_sockets/tls/v3/SdsSecretConfig.js';
export type { CommonTlsContext } from '../generated/envoy/extensions/transport_sockets/tls/v3/CommonTlsContext.js';
export type { StringMatcher } from '../generated/envoy/type/matcher/v3/StringMatcher.js';
export type { RBAC as RbacFilter } from '../generated/envoy/extensions/filters/http/rbac/v3/RBAC.js';
export type { Policy as RbacPolicy } from '../generated/envoy/config/rbac/v3/Policy.js';
export type { Permission as RbacPermission } from '../generated/envoy/config/rbac/v3/Permission.js';
export type { HeaderMatcher } from '../generated/envoy/config/route/v3/HeaderMatcher.js';
