// Catalog changes in, cache updates out: translates each changed service (pure functions in
// translate/), encodes its resources once, and applies them to the resource cache in one step.
import type { CatalogChange } from '../catalog/model.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { resourcesForService } from '../translate/service-resources.js';
import { resourceNamesFor } from '../translate/resource-names.js';
import type { ResourceCache, ResourceUpdate } from './resource-cache.js';
import { encodeResource, type EncodedResource } from './resource-encoding.js';
import { TYPE_URL } from './resource-types.js';

export function publishCatalogChange(change: CatalogChange, observedAt: number, cache: ResourceCache, log: Logger, metrics: Metrics): void {
  const upserts = { cluster: [] as EncodedResource[], endpoint: [] as EncodedResource[], listener: [] as EncodedResource[], route: [] as EncodedResource[] };
  for (const service of change.upserts) {
    try {
      const r = resourcesForService(service);
      const n = resourceNamesFor(service.name);
      // Encode all four before adding any, so a service is updated whole or not at all.
      const encoded = {
        cluster: encodeResource(TYPE_URL.cluster, n.cluster, r.cluster),
        endpoint: encodeResource(TYPE_URL.endpoint, n.endpoints, r.endpoint),
        listener: encodeResource(TYPE_URL.listener, n.listener, r.listener),
        route: encodeResource(TYPE_URL.route, n.route, r.route),
      };
      for (const k of ['cluster', 'endpoint', 'listener', 'route'] as const) upserts[k].push(encoded[k]);
    } catch (err) {
      metrics.translationErrors.inc();
      log.error({ service: service.name, err: (err as Error).message }, 'cannot build xDS resources for a service; its previous resources stay in force');
    }
  }
  const updates: ResourceUpdate[] = (['cluster', 'endpoint', 'listener', 'route'] as const).map((k) => ({
    typeUrl: TYPE_URL[k],
    upserts: upserts[k],
    removals: [],
  }));
  cache.apply(updates, observedAt);
}
