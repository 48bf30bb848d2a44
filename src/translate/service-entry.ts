// Service -> Istio ServiceEntry, Kubernetes-shaped (apiVersion, kind, metadata, spec in Istio's
// JSON as a manifest writes it). Both Istio routes use it: MCP-over-xDS encodes the spec as
// protobuf, the Kubernetes writer applies the object as it is. Pure.
//
// Mapping decisions:
// - One port: the port sidecars reach the service on (sidecarPortOf), named `<protocol>-<port>`,
//   with each endpoint's own port in `endpoints[].ports`. This is what the Envoy resources do
//   (one listener port, instances on their own ports). One ServiceEntry port per distinct
//   instance port would be wrong: Istio sends every port's traffic to every endpoint.
// - Unhealthy instances are left out (a ServiceEntry endpoint has no health status; Envoy
//   resources leave them out of load balancing too).
// - A service without a port (no policy port and no instances) has no ServiceEntry, as it has
//   no sidecar listener.
import { createHash } from 'node:crypto';
import type { Locality, RegisteredInstance, Service } from '../catalog/model.js';
import type { Protocol } from '../catalog/policy.js';
import { objectNameFor, sanitizeLabels } from './kubernetes-names.js';
import { DEFAULT_LABEL_RULE, stableLabels, type LabelRule } from './endpoint-labels.js';
import { protocolOf, sidecarPortOf, trafficInstancesOf } from './service-shape.js';
import { meshHostOf } from './virtual-host.js';

export const SERVICE_ENTRY_API_VERSION = 'networking.istio.io/v1';
/** The label istiod compares with its own revision; objects of another revision are ignored. */
export const ISTIO_REVISION_LABEL = 'istio.io/rev';
/** Annotation holding the registry's own service name (object names may be mangled). */
export const SERVICE_NAME_ANNOTATION = 'zk-xds/service';
/** Annotation holding the content hash: equal hashes mean equal entries. */
export const CONTENT_HASH_ANNOTATION = 'zk-xds/content-hash';

export type IstioProtocol = 'HTTP' | 'GRPC' | 'TCP';

export interface ServiceEntryPort {
  number: number;
  protocol: IstioProtocol;
  name: string;
  targetPort?: number;
}

export interface ServiceEntryEndpoint {
  address: string;
  ports: Record<string, number>;
  labels?: Record<string, string>;
  weight: number;
  locality?: string;
}

export interface ServiceEntrySpec {
  hosts: string[];
  ports: ServiceEntryPort[];
  location: 'MESH_INTERNAL';
  resolution: 'STATIC';
  endpoints: ServiceEntryEndpoint[];
  exportTo: string[];
}

export interface ServiceEntryObject {
  apiVersion: typeof SERVICE_ENTRY_API_VERSION;
  kind: 'ServiceEntry';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  spec: ServiceEntrySpec;
}

export interface ServiceEntryOptions {
  /** Namespace of every entry. */
  readonly namespace: string;
  /** Istio revision (`istio.io/rev` label); empty or absent = the default revision. */
  readonly revision?: string;
  /** `exportTo` of every entry: `*`, `.` or namespace names. */
  readonly exportTo: readonly string[];
  /** The mesh domain suffix sidecar routes use (see meshHostOf). */
  readonly domainSuffix: string;
  /** Extra labels on every entry. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Which instance metadata keys become endpoint labels (default DEFAULT_LABEL_RULE). */
  readonly labelRule?: LabelRule;
}

const ISTIO_PROTOCOL: Readonly<Record<Protocol, IstioProtocol>> = { http: 'HTTP', grpc: 'GRPC', tcp: 'TCP' };

/** The service's ServiceEntry, or undefined when it has no port to declare. */
export function serviceEntryFor(service: Service, opts: ServiceEntryOptions): ServiceEntryObject | undefined {
  const number = sidecarPortOf(service);
  if (number === undefined) return undefined;
  const protocol = protocolOf(service);
  const portName = `${protocol}-${number}`;
  const spec: ServiceEntrySpec = {
    hosts: [meshHostOf(service.name, opts.domainSuffix)],
    ports: [{ number, protocol: ISTIO_PROTOCOL[protocol], name: portName }],
    location: 'MESH_INTERNAL',
    resolution: 'STATIC',
    endpoints: endpointsOf(trafficInstancesOf(service), portName, opts.labelRule ?? DEFAULT_LABEL_RULE),
    exportTo: [...opts.exportTo],
  };
  const labels: Record<string, string> = { ...opts.labels };
  if (opts.revision) labels[ISTIO_REVISION_LABEL] = opts.revision;
  const annotations: Record<string, string> = { [SERVICE_NAME_ANNOTATION]: service.name };
  annotations[CONTENT_HASH_ANNOTATION] = contentHash({ labels, annotations, spec });
  return {
    apiVersion: SERVICE_ENTRY_API_VERSION,
    kind: 'ServiceEntry',
    metadata: { name: objectNameFor(service.name), namespace: opts.namespace, labels, annotations },
    spec,
  };
}

/** The entry's content hash (set by serviceEntryFor): the version istiod compares. */
export function contentHashOf(entry: ServiceEntryObject): string {
  return entry.metadata.annotations[CONTENT_HASH_ANNOTATION] ?? '';
}

/**
 * Istio's `region/zone/subzone`, up to the first unset part (a subzone without a zone has no
 * place in it); undefined when the region is unset or a part contains `/` (it would shift the
 * parts Istio reads).
 */
export function istioLocalityOf(locality: Locality): string | undefined {
  const all = [locality.region, locality.zone, locality.subZone];
  const firstUnset = all.indexOf('');
  const parts = firstUnset < 0 ? all : all.slice(0, firstUnset);
  if (parts.length === 0 || parts.some((p) => p.includes('/'))) return undefined;
  return parts.join('/');
}

function endpointsOf(instances: readonly RegisteredInstance[], portName: string, labelRule: LabelRule): ServiceEntryEndpoint[] {
  // Sorted by address and port, not by znode: a re-registration under a new sequential znode
  // with the same content must not change the entry (and so its version).
  const sorted = [...instances].sort((a, b) => compare(a.address, b.address) || a.port - b.port || compare(a.source, b.source));
  // One endpoint per address and port, as in EDS: a process registered twice (two roots, two
  // ensembles, Dubbo 3's dual registration) must not get twice the traffic.
  const serving = sorted.filter((i, n) => n === 0 || i.address !== sorted[n - 1]!.address || i.port !== sorted[n - 1]!.port);
  return serving.map((i) => {
    const endpoint: ServiceEntryEndpoint = { address: i.address, ports: { [portName]: i.port }, weight: i.weight };
    const labels = sanitizeLabels(stableLabels(i.metadata, labelRule));
    if (Object.keys(labels).length > 0) endpoint.labels = labels;
    const locality = istioLocalityOf(i.locality);
    if (locality) endpoint.locality = locality;
    return endpoint;
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A hash of the parts that matter to istiod, built in a fixed key order so equal entries hash alike. */
function contentHash(parts: { labels: Record<string, string>; annotations: Record<string, string>; spec: ServiceEntrySpec }): string {
  return createHash('sha256').update(JSON.stringify(parts, sortedKeys)).digest('hex').slice(0, 16);
}

function sortedKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => compare(a, b)));
}
