// The /debug/* pages of the admin port, over the running server's parts. Read-only: every page is
// built from live state on request.
import type { CatalogStore } from '../catalog/catalog-store.js';
import type { RegistryProblems } from '../catalog/registry-problems.js';
import type { CatalogPublisher } from '../publish/catalog-publisher.js';
import type { ViewCaches } from '../xds/client-profile.js';
import type { RouteHandler } from './admin-server.js';
import { allProxies, streamsByNode, type ProxyStatus, type StreamSource } from './proxy-status.js';
import { configDump } from './config-dump.js';
import { catalogPage, resourcesPage } from './catalog-pages.js';
import { proxyNotApplied, type NotApplied } from './proxy-adjustments.js';
import { scopeRoutes, type ProxyScope, type ScopeSource } from './scope-pages.js';

export interface DebugSources {
  readonly xds: StreamSource;
  readonly catalog: CatalogStore;
  readonly registry: RegistryProblems;
  readonly publisher: CatalogPublisher;
  readonly caches: ViewCaches;
  /** Resources retiring per view: still served until proxies ACK the change that dropped them. */
  readonly retiring?: () => unknown;
  /** Sidecar scopes (each sidecar's row shows its scope; /debug/scopes lists them). */
  readonly scopes?: ScopeSource;
  /** What istiod is sent: where ServiceEntries go, and those Istio would reject (not sent). */
  readonly istio: IstioReport;
  /** Proxies other processes serve (`serve --workers`); unset: this process serves every stream. */
  readonly otherProcesses?: () => Promise<OtherProcesses>;
  /** What a node another process serves was sent (null: none serves it). */
  readonly otherConfigDump?: (node: string, type?: string) => Promise<{ process: string; dump: object } | null>;
}

/** One row of /debug/proxies: a proxy's status, what its client is not given, its scope. */
export type ProxyRow = ProxyStatus & { notApplied: NotApplied[]; scope?: ProxyScope };

export interface OtherProcesses {
  /** What this process is called in the `process` field of its rows. */
  readonly self: string;
  /** Their rows, each with its process. */
  readonly proxies: ReadonlyArray<ProxyRow & { process: string }>;
  /** Every process and whether it answered (one that did not is reported, never waited for). */
  readonly processes: ReadonlyArray<{ readonly process: string; readonly pid?: number; readonly answered: boolean; readonly error?: string }>;
}

/** The /debug/proxies rows of one process's streams (a serving worker builds its own with it). */
export function proxyRows(src: Pick<DebugSources, 'xds' | 'catalog' | 'publisher'> & { scopes?: Pick<ScopeSource, 'describe'> }): ProxyRow[] {
  const byNode = streamsByNode(src.xds);
  const catalog = src.catalog.snapshot();
  const adjustmentsOf = (s: Parameters<CatalogPublisher['adjustmentsOf']>[0]) => src.publisher.adjustmentsOf(s);
  const scopeOf = (node: string) => src.scopes?.describe(byNode.get(node)?.[0]?.node ?? null);
  return allProxies(src.xds).map((p) => ({
    ...p,
    notApplied: proxyNotApplied(byNode.get(p.node) ?? [], catalog, adjustmentsOf),
    ...(p.kind === 'sidecar' && src.scopes ? { scope: scopeOf(p.node) } : {}),
  }));
}

export interface IstioReport {
  readonly namespace: string;
  readonly revision: string;
  readonly exportTo: readonly string[];
  rejectedEntries(): ReadonlyMap<string, readonly string[]>;
}

export function debugRoutes(src: DebugSources): Record<string, RouteHandler> {
  return {
    // Each proxy with what its client is not given of the policies of the services it uses.
    '/debug/proxies': async () => {
      const proxies = proxyRows(src);
      const retiring = src.retiring?.() ?? {};
      if (!src.otherProcesses) return { status: 200, body: { proxies, retiring } };
      // Serving workers (`serve --workers`): their proxies too, each row saying which process serves it.
      const others = await src.otherProcesses();
      const all = [
        ...proxies.map((p) => ({ ...p, process: others.self, streams: p.streams.map((st) => ({ ...st, process: others.self })) })),
        ...others.proxies,
      ];
      all.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.process < b.process ? -1 : a.process > b.process ? 1 : 0));
      return { status: 200, body: { proxies: all, retiring, processes: others.processes } };
    },
    '/debug/config_dump': async (url) => {
      const node = url.searchParams.get('node');
      if (!node) return { status: 400, body: { error: 'name a proxy: /debug/config_dump?node=<node id> (see /debug/proxies)' } };
      const type = url.searchParams.get('type') ?? undefined;
      const dump = configDump(node, streamsByNode(src.xds).get(node) ?? [], type);
      if (dump) return { status: 200, body: src.otherConfigDump ? { process: 'main', ...dump } : dump };
      const other = await src.otherConfigDump?.(node, type);
      if (other) return { status: 200, body: { process: other.process, ...other.dump } };
      return { status: 404, body: { error: `no proxy with node id "${node}" is connected` } };
    },
    '/debug/catalog': (url) => catalogPage(src.catalog, src.registry, url.searchParams.get('service') ?? undefined),
    '/debug/resources': (url) => resourcesPage(src.publisher, src.caches, url.searchParams.get('service'), src.catalog),
    // Rejected policies (the previous good policy of each stays in force) and sidecar port conflicts.
    '/debug/policies': () => ({
      status: 200,
      body: { invalid: src.registry.policyErrors(), sidecarConflicts: Object.fromEntries(src.publisher.sidecarConflicts()) },
    }),
    '/debug/istio': () => ({
      status: 200,
      body: {
        namespace: src.istio.namespace,
        revision: src.istio.revision,
        exportTo: src.istio.exportTo,
        rejected: Object.fromEntries(src.istio.rejectedEntries()),
      },
    }),
    // Registrations skipped as invalid and mesh names claimed by two services.
    '/debug/registrations': () => ({
      status: 200,
      body: { invalid: src.registry.invalidRegistrations(), nameCollisions: src.registry.nameCollisions() },
    }),
    ...(src.scopes ? scopeRoutes(src.scopes) : {}),
  };
}
