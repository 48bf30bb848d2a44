// Service -> envoy.config.endpoint.v3.ClusterLoadAssignment: serving instances grouped by locality.
//
// Instances that say they are not serving (disabled, OUT_OF_SERVICE) are left out rather than
// sent as UNHEALTHY: Envoy's panic threshold would route to them once too few hosts are healthy.
// A service with no serving instance gets an empty assignment, never a missing one.
import type { Locality, RegisteredInstance, Service } from '../catalog/model.js';
import type { Json } from './envoy-json.js';
import { resourceNamesFor } from './resource-names.js';

const MAX_UINT32 = 0xffffffff;

export function endpointsFor(service: Service): Json {
  const groups = new Map<string, { locality: Locality; instances: RegisteredInstance[] }>();
  const seen = new Set<string>();
  for (const inst of service.instances) {
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
  return {
    cluster_name: resourceNamesFor(service.name).endpoints,
    endpoints: sortedKeys.map((k) => localityGroup(groups.get(k)!.locality, groups.get(k)!.instances)),
  };
}

function localityGroup(locality: Locality, instances: readonly RegisteredInstance[]): Json {
  // gRPC drops locality groups without a weight; the sum of instance weights keeps traffic
  // proportional to capacity when several localities exist.
  const weight = Math.min(MAX_UINT32, instances.reduce((sum, i) => sum + i.weight, 0));
  return {
    locality: { region: locality.region, zone: locality.zone, sub_zone: locality.subZone },
    load_balancing_weight: { value: Math.max(1, weight) },
    lb_endpoints: instances.map((i) => ({
      endpoint: { address: { socket_address: { address: i.address, port_value: i.port } } },
      health_status: 'HEALTHY',
      load_balancing_weight: { value: i.weight },
    })),
  };
}

function localityKey(l: Locality): string {
  return `${l.region}\u0000${l.zone}\u0000${l.subZone}`;
}
