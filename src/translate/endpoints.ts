// Service -> envoy.config.endpoint.v3.ClusterLoadAssignment: serving instances grouped by locality.
//
// Instances that say they are not serving (disabled, OUT_OF_SERVICE) are left out rather than
// sent as UNHEALTHY: Envoy's panic threshold would route to them once too few hosts are healthy.
// A service with no serving instance gets an empty assignment, never a missing one.
import type { Locality, RegisteredInstance, Service } from '../catalog/model.js';
import type { ClusterLoadAssignment, LbEndpoint, LocalityLbEndpoints } from './envoy-types.js';
import { resourceNamesFor } from './resource-names.js';
import { subsetsOf, trafficInstancesOf } from './service-shape.js';

const MAX_UINT32 = 0xffffffff;

/** The service's assignment plus one per traffic-split subset (instances whose label matches). */
export function assignmentsFor(service: Service): ClusterLoadAssignment[] {
  const instances = trafficInstancesOf(service);
  return [
    assignment(resourceNamesFor(service.name).endpoints, instances),
    ...subsetsOf(service).map((s) =>
      assignment(
        s.cluster,
        instances.filter((i) => i.metadata[s.label] === s.value),
      ),
    ),
  ];
}

export function endpointsFor(service: Service): ClusterLoadAssignment {
  return assignment(resourceNamesFor(service.name).endpoints, trafficInstancesOf(service));
}

function assignment(clusterName: string, instances: readonly RegisteredInstance[]): ClusterLoadAssignment {
  const groups = new Map<string, { locality: Locality; instances: RegisteredInstance[] }>();
  const seen = new Set<string>();
  for (const inst of instances) {
    if (!inst.healthy) continue;
    // Two registrations of one address:port are one endpoint (the first, by znode path, wins).
    const key = `${inst.address}|${inst.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const lk = localityKey(inst.locality);
    let g = groups.get(lk);
    if (!g) groups.set(lk, (g = { locality: inst.locality, instances: [] }));
    g.instances.push(inst);
  }
  const sortedKeys = [...groups.keys()].sort();
  const scale = weightScale([...groups.values()].flatMap((g) => g.instances));
  return {
    cluster_name: clusterName,
    endpoints: sortedKeys.map((k) => localityGroup(groups.get(k)!.locality, groups.get(k)!.instances, scale)),
  };
}

function localityGroup(locality: Locality, instances: readonly RegisteredInstance[], scale: number): LocalityLbEndpoints {
  const weights = instances.map((i) => scaledWeight(i.weight, scale));
  // gRPC drops locality groups without a weight; the sum of instance weights keeps traffic
  // proportional to capacity when several localities exist.
  const weight = weights.reduce((sum, w) => sum + w, 0);
  return {
    locality: { region: locality.region, zone: locality.zone, sub_zone: locality.subZone },
    load_balancing_weight: { value: Math.max(1, weight) },
    lb_endpoints: instances.map(
      (i, n): LbEndpoint => ({
        endpoint: { address: { socket_address: { address: i.address, port_value: i.port } } },
        health_status: 'HEALTHY',
        load_balancing_weight: { value: weights[n] },
      }),
    ),
  };
}

/**
 * Envoy requires the endpoint weights of a locality, and the locality weights of a priority, to
 * sum to at most 2^32-1. When the instances' weights would overflow, all are scaled down alike.
 */
function weightScale(instances: readonly RegisteredInstance[]): number {
  const total = instances.reduce((sum, i) => sum + i.weight, 0);
  return total > MAX_UINT32 ? MAX_UINT32 / total : 1;
}

function scaledWeight(weight: number, scale: number): number {
  return scale === 1 ? weight : Math.max(1, Math.floor(weight * scale));
}

function localityKey(l: Locality): string {
  return `${l.region}\u0000${l.zone}\u0000${l.subZone}`;
}
