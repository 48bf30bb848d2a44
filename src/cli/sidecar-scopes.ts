// Wiring of sidecar scopes for `serve`: the scope book, its ZooKeeper sources, the scoped sidecar
// views (fed after the base publisher) and the xDS server's per-node view choice. The serving half
// (book and views) is also what a serving worker runs (serving-part.ts).
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { ScopeBook } from '../catalog/scope.js';
import type { CatalogStore } from '../catalog/catalog-store.js';
import type { ZkRegistry } from '../registry/zk-registry.js';
import { ScopeWatcher } from '../registry/scope-watcher.js';
import { ScopedSidecarViews, type SidecarNamesOf } from '../publish/scoped-sidecar-views.js';
import type { ResourceCache } from '../xds/resource-cache.js';
import type { NodeMessage } from '../xds/discovery-messages.js';
import type { ViewName } from '../xds/client-profile.js';
import type { ScopeFlags } from './scope-flags.js';
import type { ScopeSource } from '../admin/scope-pages.js';

/** The serving half: the book and the scoped views; fed by a ScopeWatcher (main) or over IPC (a serving worker). */
export interface ScopedServing {
  readonly book: ScopeBook;
  readonly views: ScopedSidecarViews;
  /** For XdsServerOptions.viewSelector and onViewUnused. */
  readonly viewSelector: (node: NodeMessage | null, view: ViewName) => ResourceCache | undefined;
  readonly onViewUnused: (cache: ResourceCache) => void;
  /** Connects the views to the xDS server (after it exists). */
  connect(xds: ScopedXds): void;
}

export interface ScopedXds {
  reselectViews(which: (node: NodeMessage | null) => boolean): void;
  connectedStreams(): ReadonlyArray<{ node: NodeMessage | null; view: { kind: string } | null }>;
}

export interface SidecarScopes extends ScopedServing {
  readonly watcher: ScopeWatcher;
  /** Connects the views to the xDS server (after it exists) and starts reading ZooKeeper. */
  start(xds: ScopedXds): Promise<void>;
  stop(): void;
  /** For the admin pages. */
  readonly pages: ScopeSource;
}

export function scopedServing(
  flags: Pick<ScopeFlags, 'scopeDefault'> & { domainSuffix: string; sidecarListenAddress: string },
  deps: { base: ResourceCache; catalog: CatalogStore; namesOf: SidecarNamesOf; log: Logger },
): ScopedServing {
  const book = new ScopeBook();
  const views = new ScopedSidecarViews({
    base: deps.base,
    catalog: () => deps.catalog.snapshot(),
    namesOf: deps.namesOf,
    book,
    scopeDefault: flags.scopeDefault ?? 'all',
    domainSuffix: flags.domainSuffix,
    sidecarBindAddress: flags.sidecarListenAddress,
    log: deps.log.child({ component: 'scopes' }),
  });
  return {
    book,
    views,
    viewSelector: (node, view) => (view === 'sidecar' ? views.cacheFor(node) : undefined),
    onViewUnused: (cache) => views.forget(cache),
    connect(xds) {
      views.onRebind = (cluster) => xds.reselectViews((node) => (node?.cluster ?? '') === cluster);
      views.hasStreams = (cluster) => xds.connectedStreams().some((s) => s.view?.kind === 'sidecar' && (s.node?.cluster ?? '') === cluster);
    },
  };
}

/** The main process's scopes: the serving half plus the ZooKeeper sources that fill its book. */
export function sidecarScopes(flags: ScopeFlags, serving: ScopedServing, deps: { registry: ZkRegistry; log: Logger; metrics: Metrics }): SidecarScopes {
  const log = deps.log.child({ component: 'scopes' });
  const { book, views } = serving;
  // Dubbo consumers sit beside providers: the primary ensemble's Dubbo 2 roots.
  const primary = deps.registry.sources.ensembles[0]!;
  const dubboRoots = flags.scopeFromConsumers === false ? [] : primary.roots.filter((r) => r.layout === 'dubbo').map((r) => r.path);
  const watcher = new ScopeWatcher(
    { connection: () => deps.registry.connection(), scopeRoot: flags.zkScopeRoot ?? '/zk-xds/scope', dubboRoots, naming: deps.registry.sources.naming },
    book,
    log,
    deps.metrics.registry,
  );
  return {
    ...serving,
    watcher,
    async start(xds) {
      serving.connect(xds);
      await watcher.start();
    },
    stop: () => watcher.stop(),
    pages: {
      scopeDefault: flags.scopeDefault ?? 'all',
      describe: (node) => views.describe(node),
      whoHas: (service) => views.whoHas(service),
      all: () => book.clusters().map((nodeCluster) => ({ nodeCluster, entries: book.scopeOf(nodeCluster) ?? [] })),
      errors: () => watcher.errors(),
      skippedConsumers: () => watcher.skippedConsumers(),
    },
  };
}
