// Tells the operator, once per service and protocol, that instances declare a registration
// protocol zk-xds does not know, and so are treated as opaque TCP (see mesh-protocol.ts).
import type { Logger } from '../observability/logger.js';
import type { CatalogChange, Service } from './model.js';
import { PROTOCOL_METADATA_KEY, meshProtocolOf } from './mesh-protocol.js';

/** The unknown registration protocols a service's instances declare, sorted. */
export function unknownProtocolsOf(service: Service): string[] {
  const unknown = new Set<string>();
  for (const i of service.instances) {
    const declared = i.metadata[PROTOCOL_METADATA_KEY];
    if (declared && !meshProtocolOf(declared).known) unknown.add(declared);
  }
  return [...unknown].sort();
}

export class UnknownProtocolReporter {
  /** `service\0protocol` pairs already reported, so a busy service logs each once. */
  private readonly reported = new Set<string>();

  constructor(private readonly log: Logger) {}

  observe(change: CatalogChange): void {
    for (const service of change.upserts) {
      for (const protocol of unknownProtocolsOf(service)) {
        const key = `${service.name}\u0000${protocol}`;
        if (this.reported.has(key)) continue;
        this.reported.add(key);
        const where = service.instances.find((i) => i.metadata[PROTOCOL_METADATA_KEY] === protocol)?.source;
        this.log.warn(
          { service: service.name, protocol, source: where },
          'instances declare a protocol zk-xds does not know; the mesh treats it as tcp (set the policy protocol to override)',
        );
      }
    }
  }
}
