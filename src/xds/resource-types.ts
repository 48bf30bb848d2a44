// The xDS resource types zk-xds serves, and the protocol facts that differ between them.

export const TYPE_URL = {
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
} as const;

export type ResourceKind = keyof typeof TYPE_URL;
export type TypeUrl = (typeof TYPE_URL)[ResourceKind];

export const RESOURCE_KINDS: readonly ResourceKind[] = ['cluster', 'endpoint', 'listener', 'route'];

/**
 * Push order on an aggregated stream: clusters before their endpoints, listeners before their
 * routes (make before break, as the xDS protocol recommends).
 */
export const PUSH_ORDER: readonly TypeUrl[] = [TYPE_URL.cluster, TYPE_URL.endpoint, TYPE_URL.listener, TYPE_URL.route];

/**
 * In state-of-the-world xDS, a response is the complete set of its type (a resource left out is
 * deleted), except for routes and endpoints, whose responses may carry only what changed. Types
 * beyond Envoy's four (Istio's MCP types) are complete sets too: istiod replaces its whole store
 * of a type with each response.
 */
export function isFullStateType(typeUrl: string): boolean {
  return typeUrl !== TYPE_URL.route && typeUrl !== TYPE_URL.endpoint;
}

const KIND_BY_URL = new Map<string, ResourceKind>(RESOURCE_KINDS.map((k) => [TYPE_URL[k], k]));

export function kindOf(typeUrl: string): ResourceKind | undefined {
  return KIND_BY_URL.get(typeUrl);
}

/** `envoy.config.cluster.v3.Cluster` from its type URL. */
export function messageNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.indexOf('/') + 1);
}

export function shortTypeName(typeUrl: string): string {
  const kind = kindOf(typeUrl);
  return kind ? { cluster: 'CDS', endpoint: 'EDS', listener: 'LDS', route: 'RDS' }[kind] : typeUrl;
}
