// Sidecar views narrowed to a scope (catalog/scope.ts): a sidecar whose node cluster has a scope is
// served, from a cache of its own, only the clusters and endpoints of the services in scope (every
// cluster each produced, subset clusters included) and listeners and routes built from those
// services alone. One cache per (node cluster, node metadata scope): all sidecars of a node cluster
// share it, its response bodies and its name sets. Clusters and endpoints are the base sidecar
// cache's own encoded resources (shared, never encoded again); listeners and routes are planned per
// scope, per port, only when the port's in-scope services change.
//
// A change to a service reaches only the caches whose scope holds it; others see nothing. A scope
// change is one step on its cache: new services' clusters and endpoints come with the routes that
// name them (streams push clusters, then endpoints, then listeners, then routes), and what leaves
// the scope is retired, so it stays until the proxies ACKed the routes that stopped naming it
// (make before break, xds/retirement-gate.ts).
import type { Catalog, CatalogChange, Service } from '../catalog/model.js';
import { ScopeMatcher, parseScopeMetadata, SCOPE_METADATA_KEY, type ScopeBook, type ScopeEntry } from '../catalog/scope.js';
import type { Logger } from '../observability/logger.js';
import { planPort } from '../translate/sidecar-port.js';
import { httpListenerFor, outboundName } from '../translate/sidecar-listener.js';
import { portRouteFor } from '../translate/sidecar-route.js';
import { protocolOf, sidecarPortOf } from '../translate/service-shape.js';
import type { NodeMessage } from '../xds/discovery-messages.js';
import { ResourceCache, type ResourceUpdate } from '../xds/resource-cache.js';
import { encodeResource, type EncodedResource } from '../xds/resource-encoding.js';
import { RESOURCE_KINDS, TYPE_URL, type ResourceKind } from '../xds/resource-types.js';

/** What a sidecar node cluster without a scope is served: everything (today's behaviour) or nothing. */
export type ScopeDefault = 'all' | 'none';

/** The base sidecar cache's names of a service's clusters and endpoints (CatalogPublisher knows them). */
export type SidecarNamesOf = (service: string) => { readonly cluster: Iterable<string>; readonly endpoint: Iterable<string> } | undefined;

export interface ScopedViewsOptions {
  /** The unscoped sidecar cache, published first (CatalogPublisher). */
  readonly base: ResourceCache;
  readonly catalog: () => Catalog;
  readonly namesOf: SidecarNamesOf;
  readonly book: ScopeBook;
  readonly scopeDefault: ScopeDefault;
  readonly domainSuffix: string;
  readonly sidecarBindAddress: string;
  readonly log: Logger;
  /** How long a port left with no service in scope keeps an empty listener before it goes (default 5 s). */
  readonly emptyPortLingerMs?: number;
}

/** What /debug/proxies and `zk-xds status` show of a proxy's scope. */
export interface ScopeReport {
  /** 'scoped': served the services below; 'all' / 'none': no scope, served the default. */
  readonly mode: 'scoped' | 'all' | 'none';
  readonly entries: readonly ScopeEntry[];
  /** Services of the catalog in scope now. */
  readonly services: readonly string[];
}

const ENVOY_TYPES = RESOURCE_KINDS.map((k) => TYPE_URL[k]);
const NONE_KEY = '\u0000none';

interface EncodedPort {
  readonly listener: EncodedResource;
  readonly route?: EncodedResource;
}

interface PortState {
  readonly port: number | undefined;
  readonly key: string;
}

class ScopedView {
  readonly cache = new ResourceCache(ENVOY_TYPES);
  entries: ScopeEntry[] = [];
  matcher = new ScopeMatcher([]);
  readonly services = new Set<string>();
  /** Per service in scope: the base names it was given, to retire those it no longer produces. */
  readonly produced = new Map<string, Record<'cluster' | 'endpoint', Set<string>>>();
  readonly portOf = new Map<string, PortState>();
  readonly ports = new Map<number, Set<string>>();
  /** Ports left with no service in scope, served an empty listener and route until swept. */
  readonly emptied = new Set<number>();
  sweep: NodeJS.Timeout | null = null;

  constructor(
    readonly key: string,
    readonly nodeCluster: string,
    readonly metadata: readonly ScopeEntry[],
  ) {}
}

/** Updates for one cache, collected over one step. */
class Staged {
  readonly upserts = new Map<ResourceKind, EncodedResource[]>(RESOURCE_KINDS.map((k) => [k, []]));
  readonly retirements = new Map<ResourceKind, string[]>(RESOURCE_KINDS.map((k) => [k, []]));
  readonly dirtyPorts = new Set<number>();

  toUpdates(): ResourceUpdate[] {
    return RESOURCE_KINDS.map((k) => ({ typeUrl: TYPE_URL[k], upserts: this.upserts.get(k)!, removals: [], retirements: this.retirements.get(k)! }));
  }
}

export class ScopedSidecarViews {
  private readonly views = new Map<string, ScopedView>();
  private readonly byCache = new Map<ResourceCache, ScopedView>();
  private readonly byCluster = new Map<string, Set<ScopedView>>();
  /** Views by the exact names in their scope; views with globs are checked one by one. */
  private readonly byName = new Map<string, Set<ScopedView>>();
  private readonly globViews = new Set<ScopedView>();
  private noneView: ScopedView | null = null;
  /** Encoded ports by their services (see encodedPort), held while some view's cache holds them. */
  /** `listener`: an http port's (the same for all), kept beside its route; null for a tcp port (the listener is the ref). */
  private readonly portMemo = new Map<string, { ref: WeakRef<EncodedResource>; listener: EncodedResource | null }>();
  private readonly forgetPort = new FinalizationRegistry<string>((key) => {
    if (!this.portMemo.get(key)?.ref.deref()) this.portMemo.delete(key);
  });
  /** Told when sidecars of a node cluster must pick their view again (its scope appeared or went). */
  onRebind: (nodeCluster: string) => void = () => {};
  /** Whether sidecars of a node cluster are connected (a new view then starts from what they hold). */
  hasStreams: (nodeCluster: string) => boolean = () => false;

  constructor(private readonly opts: ScopedViewsOptions) {
    opts.book.onChange((clusters) => {
      for (const c of clusters) this.scopeChanged(c);
    });
  }

  /** The cache a sidecar is served, or undefined for the base (unscoped) view. */
  cacheFor(node: NodeMessage | null): ResourceCache | undefined {
    const { cluster, metadata, key } = identify(node);
    const entries = this.opts.book.scopeOf(cluster, metadata);
    if (entries === undefined) return this.opts.scopeDefault === 'none' ? this.none().cache : undefined;
    return this.viewFor(key, cluster, metadata, entries).cache;
  }

  /** A proxy's scope and where it came from (admin pages). */
  describe(node: NodeMessage | null): ScopeReport {
    const { cluster, metadata, key } = identify(node);
    const view = this.views.get(key);
    const entries = this.opts.book.scopeOf(cluster, metadata);
    if (entries === undefined) return { mode: this.opts.scopeDefault, entries: [], services: [] };
    return { mode: 'scoped', entries, services: view ? [...view.services].sort() : [] };
  }

  /** Node clusters (with the entries that match) that have `service` in scope. */
  whoHas(service: string): Array<{ nodeCluster: string; entries: ScopeEntry[] }> {
    const out = new Map<string, ScopeEntry[]>();
    for (const cluster of this.opts.book.clusters()) {
      const matching = (this.opts.book.scopeOf(cluster) ?? []).filter((e) => new ScopeMatcher([e.pattern]).matches(service));
      if (matching.length > 0) out.set(cluster, matching);
    }
    for (const view of this.views.values()) {
      if (!view.services.has(service)) continue;
      const matching = view.metadata.filter((e) => new ScopeMatcher([e.pattern]).matches(service));
      if (matching.length > 0) out.set(view.nodeCluster, [...(out.get(view.nodeCluster) ?? []), ...matching]);
    }
    return [...out].map(([nodeCluster, entries]) => ({ nodeCluster, entries })).sort((a, b) => (a.nodeCluster < b.nodeCluster ? -1 : 1));
  }

  /**
   * No sidecar is served from this cache any more: its view goes (a sidecar of that node cluster
   * connecting later gets a new one), so node clusters that come and go leave nothing behind.
   */
  forget(cache: ResourceCache): void {
    const view = this.byCache.get(cache);
    if (!view) return;
    if (view.sweep) clearTimeout(view.sweep);
    this.dropView(view);
  }

  /** Caches currently held (tests, benchmarks). */
  get viewCount(): number {
    return this.views.size;
  }

  /** After the base publisher: services that changed go to the views whose scope holds them. */
  publish(change: CatalogChange, observedAt: number = performance.now()): void {
    const staged = new Map<ScopedView, Staged>();
    const stage = (v: ScopedView) => {
      let s = staged.get(v);
      if (!s) staged.set(v, (s = new Staged()));
      return s;
    };
    for (const service of change.upserts) {
      for (const view of this.viewsMatching(service.name)) this.stageService(view, service, stage(view));
    }
    for (const [view, s] of staged) this.applyStaged(view, s, observedAt);
  }

  private viewsMatching(name: string): Set<ScopedView> {
    const out = new Set(this.byName.get(name));
    for (const v of this.globViews) if (v.matcher.matches(name)) out.add(v);
    return out;
  }

  private none(): ScopedView {
    this.noneView ??= new ScopedView(NONE_KEY, '', []);
    return this.noneView;
  }

  private viewFor(key: string, cluster: string, metadata: readonly ScopeEntry[], entries: ScopeEntry[]): ScopedView {
    let view = this.views.get(key);
    if (view) return view;
    view = new ScopedView(key, cluster, metadata);
    this.addView(view);
    this.setScope(view, entries, performance.now());
    return view;
  }

  /** The merged scope of a node cluster changed: every view of it follows. */
  private scopeChanged(cluster: string): void {
    const now = performance.now();
    let rebind = false;
    for (const view of [...(this.byCluster.get(cluster) ?? [])]) {
      const entries = this.opts.book.scopeOf(cluster, view.metadata);
      if (entries === undefined) {
        // No scope any more: its sidecars go back to the default view, which holds at least as much
        // (all) or, for `none`, this view is emptied in place so nothing is removed before routes.
        if (this.opts.scopeDefault === 'none') this.setScope(view, [], now);
        else this.dropView(view);
        rebind = true;
        continue;
      }
      this.setScope(view, entries, now);
    }
    if (!this.byCluster.has(cluster) && this.opts.book.scopeOf(cluster) !== undefined && this.hasStreams(cluster)) {
      // A scope for sidecars now served the default: a view that starts with what they hold, so
      // that moving them over changes nothing, then narrowed in a second step (make before break).
      const view = new ScopedView(`${cluster}\u0000`, cluster, []);
      this.addView(view);
      if (this.opts.scopeDefault === 'all') this.setScope(view, [{ pattern: '*', source: 'znode', from: '' }], now);
      this.onRebind(cluster);
      this.setScope(view, this.opts.book.scopeOf(cluster)!, now);
      return;
    }
    if (rebind) this.onRebind(cluster);
  }

  private addView(view: ScopedView): void {
    this.views.set(view.key, view);
    this.byCache.set(view.cache, view);
    let set = this.byCluster.get(view.nodeCluster);
    if (!set) this.byCluster.set(view.nodeCluster, (set = new Set()));
    set.add(view);
  }

  private dropView(view: ScopedView): void {
    this.views.delete(view.key);
    this.byCache.delete(view.cache);
    const set = this.byCluster.get(view.nodeCluster);
    set?.delete(view);
    if (set?.size === 0) this.byCluster.delete(view.nodeCluster);
    this.unindex(view);
  }

  private unindex(view: ScopedView): void {
    for (const name of view.matcher.names) this.byName.get(name)?.delete(view);
    this.globViews.delete(view);
  }

  /** Moves a view to new entries: one step on its cache. */
  private setScope(view: ScopedView, entries: ScopeEntry[], observedAt: number): void {
    this.unindex(view);
    view.entries = entries;
    view.matcher = new ScopeMatcher(entries.map((e) => e.pattern));
    for (const name of view.matcher.names) {
      if (!this.byName.has(name)) this.byName.set(name, new Set());
      this.byName.get(name)!.add(view);
    }
    if (view.matcher.globs.length > 0) this.globViews.add(view);
    const catalog = this.opts.catalog();
    const staged = new Staged();
    const next = new Set<string>();
    if (view.matcher.globs.length > 0) {
      for (const name of catalog.keys()) if (view.matcher.matches(name)) next.add(name);
    } else for (const name of view.matcher.names) if (catalog.has(name)) next.add(name);
    for (const name of [...view.services]) if (!next.has(name)) this.unstageService(view, name, staged);
    for (const name of next) if (!view.services.has(name)) this.stageService(view, catalog.get(name)!, staged);
    this.applyStaged(view, staged, observedAt);
  }

  private stageService(view: ScopedView, service: Service, staged: Staged): void {
    const names = this.opts.namesOf(service.name);
    if (!names) return;
    view.services.add(service.name);
    const before = view.produced.get(service.name);
    const now = { cluster: new Set(names.cluster), endpoint: new Set(names.endpoint) };
    for (const kind of ['cluster', 'endpoint'] as const) {
      for (const n of now[kind]) {
        const e = this.opts.base.get(TYPE_URL[kind], n);
        if (e) staged.upserts.get(kind)!.push(e);
      }
      for (const n of before?.[kind] ?? []) if (!now[kind].has(n)) staged.retirements.get(kind)!.push(n);
    }
    view.produced.set(service.name, now);
    const { port, key } = portKeyOf(service);
    this.trackPort(view, service.name, port, key, staged);
  }

  private unstageService(view: ScopedView, name: string, staged: Staged): void {
    view.services.delete(name);
    const before = view.produced.get(name);
    view.produced.delete(name);
    for (const kind of ['cluster', 'endpoint'] as const) for (const n of before?.[kind] ?? []) staged.retirements.get(kind)!.push(n);
    this.trackPort(view, name, undefined, '', staged);
  }

  private trackPort(view: ScopedView, name: string, port: number | undefined, key: string, staged: Staged): void {
    const old = view.portOf.get(name);
    if (old?.port !== undefined) view.ports.get(old.port)?.delete(name);
    if (port !== undefined) {
      if (!view.ports.has(port)) view.ports.set(port, new Set());
      view.ports.get(port)!.add(name);
      view.portOf.set(name, { port, key });
    } else view.portOf.delete(name);
    if (old?.key === key && old?.port === port) return;
    if (old?.port !== undefined) staged.dirtyPorts.add(old.port);
    if (port !== undefined) staged.dirtyPorts.add(port);
  }

  private applyStaged(view: ScopedView, staged: Staged, observedAt: number): void {
    const catalog = this.opts.catalog();
    for (const port of staged.dirtyPorts) {
      const services = [...(view.ports.get(port) ?? [])].flatMap((n) => {
        const s = catalog.get(n);
        return s ? [s] : [];
      });
      const name = outboundName(port);
      if (services.length === 0) {
        // The port's routes (or tcp listener) named the clusters leaving with it. Removing both in
        // one step would let a proxy drop the clusters (pushed first) while it still holds the
        // route: they are replaced by an HTTP listener and route that name nothing, so the clusters
        // retire behind an upsert the proxies ACK, and the empty pair goes a little later.
        if (view.cache.get(TYPE_URL.listener, name) && !view.emptied.has(port)) {
          const empty = this.encodedPort(port, [], () => ({
            listener: httpListenerFor(port, this.opts.sidecarBindAddress),
            route: portRouteFor(port, [], this.opts.domainSuffix),
          }));
          staged.upserts.get('listener')!.push(empty.listener);
          staged.upserts.get('route')!.push(empty.route!);
          view.emptied.add(port);
          this.scheduleSweep(view);
        }
        continue;
      }
      view.emptied.delete(port);
      try {
        const encoded = this.encodedPort(port, services, () => planPort(port, services, this.opts.sidecarBindAddress, this.opts.domainSuffix)!);
        staged.upserts.get('listener')!.push(encoded.listener);
        if (encoded.route) staged.upserts.get('route')!.push(encoded.route);
        else staged.retirements.get('route')!.push(name);
      } catch (err) {
        this.opts.log.error(
          { port, nodeCluster: view.nodeCluster, err: (err as Error).message },
          'cannot build a scoped sidecar listener; its previous resources stay in force',
        );
      }
    }
    view.cache.apply(staged.toUpdates(), observedAt);
  }

  /** Retires the empty listeners and routes of ports still without a service in scope. */
  private scheduleSweep(view: ScopedView): void {
    if (view.sweep) return;
    view.sweep = setTimeout(() => {
      view.sweep = null;
      const staged = new Staged();
      for (const port of view.emptied) {
        if ((view.ports.get(port)?.size ?? 0) > 0) continue;
        staged.retirements.get('listener')!.push(outboundName(port));
        staged.retirements.get('route')!.push(outboundName(port));
      }
      view.emptied.clear();
      view.cache.apply(staged.toUpdates());
    }, this.opts.emptyPortLingerMs ?? 5000);
    view.sweep.unref();
  }

  /**
   * A port's encoded listener and route for these services, shared by every view that has the same
   * services on the port (what a port's resources depend on is in each service's port key, as for
   * the base publisher): the plan is made and encoded once, not once per node cluster.
   */
  private encodedPort(port: number, services: readonly Service[], plan: () => { listener: object; route?: object }): EncodedPort {
    const key = [port, ...[...services].sort((a, b) => (a.name < b.name ? -1 : 1)).map((s) => `${s.name}\u0000${portKeyOf(s).key}`)].join('\u0001');
    const memo = this.portMemo.get(key);
    const held = memo?.ref.deref();
    if (memo && held) return memo.listener ? { listener: memo.listener, route: held } : { listener: held };
    const name = outboundName(port);
    const p = plan();
    const made: EncodedPort = {
      listener: this.shared(TYPE_URL.listener, name, p.listener),
      ...(p.route ? { route: this.shared(TYPE_URL.route, name, p.route) } : {}),
    };
    // Held by what tells this port's services apart (its route; a tcp port's listener): the entry
    // lives as long as some cache serves it. An http listener is the same for every view.
    const distinct = made.route ?? made.listener;
    this.portMemo.set(key, { ref: new WeakRef(distinct), listener: made.route ? made.listener : null });
    this.forgetPort.register(distinct, key);
    return made;
  }

  /**
   * The base cache's own resource when the scoped one is the same (a port whose services are all
   * in scope): no second copy of its bytes. Otherwise encoded here.
   */
  private shared(typeUrl: string, name: string, object: object): EncodedResource {
    const encoded = encodeResource(typeUrl, name, object);
    const base = this.opts.base.get(typeUrl, name);
    return base && base.version === encoded.version ? base : encoded;
  }
}

const portKeys = new WeakMap<Service, PortState>();

/** A service's sidecar port and what its virtual host depends on, once per service value (views share it). */
function portKeyOf(service: Service): PortState {
  let hit = portKeys.get(service);
  if (!hit) {
    const port = sidecarPortOf(service);
    hit = { port, key: JSON.stringify([port, protocolOf(service), service.policy]) };
    portKeys.set(service, hit);
  }
  return hit;
}

/** A node's cluster, the scope its own metadata declares, and the view key of both. */
export function identify(node: NodeMessage | null): { cluster: string; metadata: ScopeEntry[]; key: string } {
  const cluster = node?.cluster ?? '';
  const value = (node?.metadata?.fields as Record<string, MetadataValue> | undefined)?.[SCOPE_METADATA_KEY];
  const text = value?.stringValue ?? (value?.listValue ? JSON.stringify((value.listValue.values ?? []).map((v) => v.stringValue ?? '')) : undefined);
  if (text === undefined) return { cluster, metadata: [], key: `${cluster}\u0000` };
  const { patterns } = parseScopeMetadata(text);
  const from = node?.id ?? '';
  return { cluster, metadata: patterns.map((pattern) => ({ pattern, source: 'node-metadata', from })), key: `${cluster}\u0000${patterns.join(',')}` };
}

interface MetadataValue {
  stringValue?: string;
  listValue?: { values?: Array<{ stringValue?: string }> };
}
