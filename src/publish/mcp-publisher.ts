// Catalog changes in, Istio ServiceEntries out, into the xDS resource caches under the type URLs
// istiod subscribes to over MCP-over-xDS. The stream code needs nothing special for them: a cache
// entry is a cache entry, and types nobody publishes are answered with an empty set.
import type { CatalogChange, Service } from '../catalog/model.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { serviceEntryFor, type ServiceEntryOptions } from '../translate/service-entry.js';
import type { ResourceCache } from '../xds/resource-cache.js';
import type { EncodedResource } from '../xds/resource-encoding.js';
import { MCP_SERVICE_ENTRY_TYPE_URLS, mcpServiceEntryResources } from './mcp-resources.js';
import { checkServiceEntry } from '../translate/service-entry-checks.js';

export type McpPublisherMetrics = Pick<Metrics, 'istioServiceEntriesRejected' | 'istioServiceEntriesRejectedTotal' | 'translationErrors'>;

export class McpPublisher {
  /** Per service: the MCP name of the entry it currently has in the caches. */
  private readonly published = new Map<string, string>();
  /** Per service: when it was first published (seconds), the entry's creation time. */
  private readonly createdAt = new Map<string, number>();
  /** Per service: why its current entry breaks Istio's rules (the previous entry, if any, stays). */
  private readonly rejected = new Map<string, readonly string[]>();

  constructor(
    /** Every distinct cache a stream may be served from: istiod may land on any view. */
    private readonly caches: readonly ResourceCache[],
    private readonly opts: ServiceEntryOptions,
    private readonly log: Logger,
    private readonly metrics: McpPublisherMetrics,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  publish(change: CatalogChange, observedAt: number = performance.now()): void {
    const upserts: EncodedResource[][] = MCP_SERVICE_ENTRY_TYPE_URLS.map(() => []);
    const removals: string[] = [];
    for (const service of change.upserts) {
      const staged = this.stage(service);
      if (staged === 'keep') continue;
      if (staged === 'remove') {
        const name = this.published.get(service.name);
        if (name !== undefined) removals.push(name);
        this.published.delete(service.name);
        continue;
      }
      staged.forEach((r, i) => {
        upserts[i]!.push(r);
      });
      this.published.set(service.name, staged[0]!.name);
    }
    this.metrics.istioServiceEntriesRejected.set(this.rejected.size);
    const updates = MCP_SERVICE_ENTRY_TYPE_URLS.map((typeUrl, i) => ({ typeUrl, upserts: upserts[i]!, removals }));
    for (const cache of new Set(this.caches)) cache.apply(updates, observedAt);
  }

  /** Services whose ServiceEntry Istio would reject, with the reasons (admin page). */
  rejectedEntries(): ReadonlyMap<string, readonly string[]> {
    return this.rejected;
  }

  /** The service's resources, 'remove' when it has no entry, 'keep' to leave what is published. */
  private stage(service: Service): EncodedResource[] | 'remove' | 'keep' {
    const entry = serviceEntryFor(service, this.opts);
    if (!entry) {
      this.rejected.delete(service.name);
      return 'remove';
    }
    const { errors } = checkServiceEntry(entry.spec, entry.metadata);
    if (errors.length > 0) {
      this.metrics.istioServiceEntriesRejectedTotal.inc();
      this.rejected.set(service.name, errors);
      this.log.warn(
        { service: service.name, entry: `${entry.metadata.namespace}/${entry.metadata.name}`, errors },
        'ServiceEntry breaks Istio validation rules; not served to istiod (its previous entry, if any, stays)',
      );
      return 'keep';
    }
    this.rejected.delete(service.name);
    try {
      if (!this.createdAt.has(service.name)) this.createdAt.set(service.name, this.nowSeconds());
      return mcpServiceEntryResources(entry, this.createdAt.get(service.name)!);
    } catch (err) {
      this.metrics.translationErrors.inc();
      this.log.error({ service: service.name, err: (err as Error).message }, 'cannot encode the ServiceEntry of a service; its previous entry stays');
      return 'keep';
    }
  }
}
