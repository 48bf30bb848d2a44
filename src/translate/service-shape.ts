// Facts about a service that several translators need: its protocol, the port sidecars reach it
// on, and the instance subsets of a traffic split. Pure.
import type { Service } from '../catalog/model.js';
import type { Protocol } from '../catalog/policy.js';

const PROTOCOLS: ReadonlySet<string> = new Set(['http', 'grpc', 'tcp']);

/** The policy's protocol, else the one most instances declare in metadata `protocol`, else http. */
export function protocolOf(service: Service): Protocol {
  if (service.policy.protocol) return service.policy.protocol;
  const declared = mostCommon(service.instances.map((i) => i.metadata.protocol?.toLowerCase()).filter((p): p is string => !!p && PROTOCOLS.has(p)));
  return (declared as Protocol | undefined) ?? 'http';
}

/** The policy's port, else the port most instances listen on (lowest on a tie); none without either. */
export function sidecarPortOf(service: Service): number | undefined {
  return service.policy.port ?? mostCommon(service.instances.map((i) => i.port));
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
