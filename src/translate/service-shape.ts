// Facts about a service that several translators need: its protocol, the port sidecars reach it
// on, and the instance subsets of a traffic split. Pure.
import type { RegisteredInstance, Service } from '../catalog/model.js';
import type { Protocol } from '../catalog/policy.js';
import { declaredMeshProtocol } from '../catalog/mesh-protocol.js';

/**
 * The mesh protocol of a service: the policy's `protocol`, else the one most of its instances
 * declare (their registration protocol mapped by catalog/mesh-protocol.ts: dubbo -> tcp, tri ->
 * grpc, rest -> http, unknown -> tcp), else http.
 */
export function protocolOf(service: Service): Protocol {
  return service.policy.protocol ?? registeredProtocolOf(service) ?? 'http';
}

/** The mesh protocol most instances declare (lowest name on a tie); undefined when none declares one. */
export function registeredProtocolOf(service: Service): Protocol | undefined {
  return mostCommon(service.instances.flatMap((i) => declaredMeshProtocol(i.metadata)?.protocol ?? []));
}

/**
 * The instances that take the service's traffic: serving ones, and when the instances declare
 * different protocols (a Dubbo provider exporting one interface over dubbo:// and tri://, as
 * Dubbo 3's dual registration does) only those speaking the service's registered protocol, so a
 * process is one endpoint of the service and no connection lands on a port speaking another protocol.
 * Instances that declare no protocol are always in.
 */
export function trafficInstancesOf(service: Service): RegisteredInstance[] {
  return instancesOfServiceProtocol(service).filter((i) => i.healthy);
}

/** The instances (serving or not) that speak the service's registered protocol or declare none. */
function instancesOfServiceProtocol(service: Service): readonly RegisteredInstance[] {
  const protocol = registeredProtocolOf(service);
  return service.instances.filter((i) => {
    const declared = declaredMeshProtocol(i.metadata);
    return declared === undefined || declared.protocol === protocol;
  });
}

/**
 * The policy's port, else the port most instances of the service's protocol listen on (lowest on
 * a tie); none without either.
 */
export function sidecarPortOf(service: Service): number | undefined {
  return service.policy.port ?? mostCommon(instancesOfServiceProtocol(service).map((i) => i.port));
}

export interface Subset {
  /** Cluster (and ClusterLoadAssignment) name of the subset. */
  readonly cluster: string;
  readonly label: string;
  readonly value: string;
  readonly weight: number;
}

/** The subsets of the policy's traffic split, in policy order; empty without a split. */
export function subsetsOf(service: Service): Subset[] {
  const split = service.policy.trafficSplit;
  if (!split) return [];
  return split.subsets.map((s) => ({ cluster: subsetClusterName(service.name, split.label, s.value), label: split.label, value: s.value, weight: s.weight }));
}

export function subsetClusterName(service: string, label: string, value: string): string {
  return `${service}|${label}=${value}`;
}

function mostCommon<T extends string | number>(values: readonly T[]): T | undefined {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: T | undefined;
  let bestCount = 0;
  for (const [v, c] of counts) if (c > bestCount || (c === bestCount && best !== undefined && v < best)) [best, bestCount] = [v, c];
  return best;
}
