// The few facts a simulated proxy needs from each xDS resource, read straight from its bytes with
// the wire scanner. Field numbers are those of the vendored Envoy v3 protos (quoted per constant).
import { WIRE_LEN, WIRE_VARINT, WireReader, countLen, decodeUtf8, forEachLen, stringField } from './wire-scan.js';

export const TYPE_URL = {
  CDS: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  EDS: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  LDS: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RDS: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
} as const;

export type XdsType = keyof typeof TYPE_URL;
export const XDS_TYPES: readonly XdsType[] = ['CDS', 'EDS', 'LDS', 'RDS'];

const TYPE_BY_URL = new Map<string, XdsType>(XDS_TYPES.map((t) => [TYPE_URL[t], t]));

export function xdsTypeOf(typeUrl: string): XdsType | undefined {
  return TYPE_BY_URL.get(typeUrl);
}

/** A SotW server may wrap each resource in envoy.service.discovery.v3.Resource (TTLs, on-demand). */
const RESOURCE_WRAPPER_URL = 'type.googleapis.com/envoy.service.discovery.v3.Resource';
const HCM_URL = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** Cluster, ClusterLoadAssignment, Listener and RouteConfiguration all carry their name in field 1. */
const NAME = 1;

export interface ResourceBytes {
  readonly bytes: Uint8Array;
  /** Set when the resource came wrapped in a discovery Resource that names it. */
  readonly name?: string;
}

/** Unwraps discovery.v3.Resource { version = 1; resource = 2 (Any); name = 3 } when a server uses it. */
export function unwrapResource(typeUrl: string, value: Uint8Array): ResourceBytes {
  if (typeUrl !== RESOURCE_WRAPPER_URL) return { bytes: value };
  const r = new WireReader(value);
  let name: string | undefined;
  let inner: Uint8Array = new Uint8Array(0);
  while (r.next()) {
    if (r.wireType !== WIRE_LEN) continue;
    if (r.field === 3) name = r.string();
    else if (r.field === 2) inner = anyValue(value, r.valueStart, r.valueEnd).value;
  }
  return name === undefined ? { bytes: inner } : { bytes: inner, name };
}

export function resourceName(bytes: Uint8Array): string {
  return stringField(bytes, 0, bytes.length, NAME) ?? '';
}

// --- Cluster -----------------------------------------------------------------------------------
// Cluster { name = 1; type = 2 (DiscoveryType); eds_cluster_config = 3; cluster_type = 38 }
// EdsClusterConfig { eds_config = 1; service_name = 2 }
const DISCOVERY_TYPE_EDS = 3;

export interface ClusterFacts {
  readonly name: string;
  /** The ClusterLoadAssignment name to ask EDS for; null for a cluster that is not EDS. */
  readonly edsName: string | null;
}

export function scanCluster(bytes: Uint8Array): ClusterFacts {
  const r = new WireReader(bytes);
  let name = '';
  let type = 0; // STATIC, the proto default
  let customType = false;
  let serviceName = '';
  while (r.next()) {
    if (r.field === 1 && r.wireType === WIRE_LEN) name = r.string();
    else if (r.field === 2 && r.wireType === WIRE_VARINT) type = r.varint;
    else if (r.field === 38 && r.wireType === WIRE_LEN) customType = true;
    else if (r.field === 3 && r.wireType === WIRE_LEN) serviceName = stringField(bytes, r.valueStart, r.valueEnd, 2) ?? serviceName;
  }
  const eds = !customType && type === DISCOVERY_TYPE_EDS;
  return { name, edsName: eds ? serviceName || name : null };
}

// --- ClusterLoadAssignment ---------------------------------------------------------------------
// ClusterLoadAssignment { cluster_name = 1; endpoints = 2 (LocalityLbEndpoints) }
// LocalityLbEndpoints { lb_endpoints = 2 (LbEndpoint) }

export interface AssignmentFacts {
  readonly name: string;
  /** LbEndpoints over all localities. */
  readonly endpoints: number;
}

export function scanAssignment(bytes: Uint8Array): AssignmentFacts {
  const r = new WireReader(bytes);
  let name = '';
  let endpoints = 0;
  while (r.next()) {
    if (r.wireType !== WIRE_LEN) continue;
    if (r.field === 1) name = r.string();
    else if (r.field === 2) endpoints += countLen(bytes, r.valueStart, r.valueEnd, 2);
  }
  return { name, endpoints };
}

// --- Listener ----------------------------------------------------------------------------------
// Listener { name = 1; filter_chains = 3; api_listener = 19; default_filter_chain = 25 }
// FilterChain { filters = 3 }   Filter { name = 1; typed_config = 4 (Any) }
// ApiListener { api_listener = 1 (Any) }
// HttpConnectionManager { rds = 3 { route_config_name = 2 }; route_config = 4 (inline RouteConfiguration) }

export interface ListenerFacts {
  readonly name: string;
  /** RouteConfiguration names its HttpConnectionManagers fetch over RDS. */
  readonly routeNames: readonly string[];
  /** Clusters of inline route_configs for `authority` (only when an authority was given). */
  readonly inlineClusters: readonly string[];
}

export function scanListener(bytes: Uint8Array, authority?: string): ListenerFacts {
  const routeNames: string[] = [];
  const inlineClusters: string[] = [];
  const onHcm = (start: number, end: number) => {
    const r = new WireReader(bytes, start, end);
    while (r.next()) {
      if (r.wireType !== WIRE_LEN) continue;
      if (r.field === 3) {
        const name = stringField(bytes, r.valueStart, r.valueEnd, 2);
        if (name) routeNames.push(name);
      } else if (r.field === 4 && authority !== undefined) {
        inlineClusters.push(...routeClustersIn(bytes, r.valueStart, r.valueEnd, authority));
      }
    }
  };
  const onAny = (start: number, end: number) => {
    const any = anyValue(bytes, start, end);
    if (any.typeUrl === HCM_URL) onHcm(any.start, any.end);
  };
  const onFilterChain = (start: number, end: number) => forEachLen(bytes, start, end, 3, (fs, fe) => forEachLen(bytes, fs, fe, 4, onAny));
  const r = new WireReader(bytes);
  let name = '';
  while (r.next()) {
    if (r.wireType !== WIRE_LEN) continue;
    if (r.field === 1) name = r.string();
    else if (r.field === 3 || r.field === 25) onFilterChain(r.valueStart, r.valueEnd);
    else if (r.field === 19) forEachLen(bytes, r.valueStart, r.valueEnd, 1, onAny);
  }
  return { name, routeNames, inlineClusters };
}

// --- RouteConfiguration ------------------------------------------------------------------------
// RouteConfiguration { name = 1; virtual_hosts = 2 }   VirtualHost { domains = 2; routes = 3 }
// Route { route = 2 (RouteAction) }   RouteAction { cluster = 1; weighted_clusters = 3 { clusters = 1 { name = 1 } } }

export interface RouteFacts {
  readonly name: string;
  /** Clusters the virtual host matching the authority routes to (empty without an authority). */
  readonly clusters: readonly string[];
}

export function scanRoute(bytes: Uint8Array, authority?: string): RouteFacts {
  const name = resourceName(bytes);
  return { name, clusters: authority === undefined ? [] : routeClustersIn(bytes, 0, bytes.length, authority) };
}

/** Clusters of the RouteConfiguration in bytes[start, end) for the virtual host gRPC would pick. */
function routeClustersIn(bytes: Uint8Array, start: number, end: number, authority: string): string[] {
  let best: { start: number; end: number } | undefined;
  let bestRank = -1;
  forEachLen(bytes, start, end, 2, (vs, ve) => {
    forEachLen(bytes, vs, ve, 2, (ds, de) => {
      const rank = domainRank(decodeUtf8(bytes, ds, de), authority);
      if (rank > bestRank) [best, bestRank] = [{ start: vs, end: ve }, rank];
    });
  });
  if (!best) return [];
  const clusters = new Set<string>();
  const { start: vs, end: ve } = best;
  forEachLen(bytes, vs, ve, 3, (rs, re) =>
    forEachLen(bytes, rs, re, 2, (as, ae) => {
      const r = new WireReader(bytes, as, ae);
      while (r.next()) {
        if (r.wireType !== WIRE_LEN) continue;
        if (r.field === 1) clusters.add(r.string());
        else if (r.field === 3) forEachLen(bytes, r.valueStart, r.valueEnd, 1, (cs, ce) => clusters.add(stringField(bytes, cs, ce, 1) ?? ''));
      }
    }),
  );
  clusters.delete('');
  return [...clusters];
}

/**
 * gRPC's virtual-host choice (A27): an exact domain beats a suffix wildcard ("*.foo"), which
 * beats a prefix wildcard ("foo.*"), which beats "*"; longer patterns win within a kind.
 * Returns -1 for no match; a higher number is a better match.
 */
export function domainRank(domain: string, authority: string): number {
  const d = domain.toLowerCase();
  const a = authority.toLowerCase();
  const LEN = 1 << 16;
  if (d === '*') return 0;
  if (d === a) return 4 * LEN + d.length;
  if (d.startsWith('*') && a.endsWith(d.slice(1))) return 3 * LEN + d.length;
  if (d.endsWith('*') && a.startsWith(d.slice(0, -1))) return 2 * LEN + d.length;
  return -1;
}

/** google.protobuf.Any { type_url = 1; value = 2 } in bytes[start, end). */
function anyValue(bytes: Uint8Array, start: number, end: number): { typeUrl: string; start: number; end: number; value: Uint8Array } {
  const r = new WireReader(bytes, start, end);
  let typeUrl = '';
  let vs = 0;
  let ve = 0;
  while (r.next()) {
    if (r.wireType !== WIRE_LEN) continue;
    if (r.field === 1) typeUrl = r.string();
    else if (r.field === 2) [vs, ve] = [r.valueStart, r.valueEnd];
  }
  return { typeUrl, start: vs, end: ve, value: bytes.subarray(vs, ve) };
}
