// Builders for catalog values in tests.
import { NO_LOCALITY, type Locality, type RegisteredInstance, type Service } from '../../src/catalog/model.js';
import { EMPTY_POLICY, type ServicePolicy } from '../../src/catalog/policy.js';

export interface InstanceSpec {
  address?: string;
  port?: number;
  weight?: number;
  healthy?: boolean;
  locality?: Partial<Locality>;
  metadata?: Record<string, string>;
}

export function instance(service: string, index: number, spec: InstanceSpec = {}): RegisteredInstance {
  return {
    id: `i${index}`,
    source: `/services/${service}/i${index}`,
    format: 'json',
    address: spec.address ?? `10.0.${Math.floor(index / 250)}.${(index % 250) + 1}`,
    port: spec.port ?? 8080,
    weight: spec.weight ?? 1,
    healthy: spec.healthy ?? true,
    locality: { ...NO_LOCALITY, ...spec.locality },
    metadata: spec.metadata ?? {},
  };
}

export function service(name: string, instances: number | InstanceSpec[], policy: ServicePolicy = EMPTY_POLICY): Service {
  const specs = typeof instances === 'number' ? Array.from({ length: instances }, () => ({})) : instances;
  return { name, instances: specs.map((s, i) => instance(name, i, s)), policy };
}
