// Catalog changes in, cache updates out, for every view (audience, or client profile of one).
// It is the one place that joins client profiles (client-profile.ts) to what the translators leave
// out for them (translate/client-capabilities.ts). Translation is pure (translate/);
// what lives here is the little state that incremental publishing needs: which resource names each
// service produced (so that dropped subsets are removed) and which services each sidecar port
// carries (so that only the ports whose virtual hosts changed are rebuilt).
import type { CatalogChange, Service } from '../catalog/model.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { proxylessResourceSet, type ServiceResourceSet } from '../translate/service-resources.js';
import { clustersFor } from '../translate/cluster.js';
import { planPort } from '../translate/sidecar-port.js';
import { outboundName } from '../translate/sidecar-listener.js';
import { protocolOf, sidecarPortOf } from '../translate/service-shape.js';
import type { ResourceCache, ResourceUpdate } from '../xds/resource-cache.js';
import { encodeResource, type EncodedResource } from '../xds/resource-encoding.js';
import { RESOURCE_KINDS, TYPE_URL, type ResourceKind } from '../xds/resource-types.js';
import { adjustmentsFor, CLIENT_PROFILES, sameAdjustments, type Adjustment, type ClientProfile } from '../translate/client-capabilities.js';
import { KIND_OF_VIEW, servedViews, type ViewCaches, type ViewName } from '../xds/client-profile.js';
import { ServerListenerIndex } from './server-listener-index.js';
import { INBOUND_LISTENER } from '../translate/sidecar-inbound.js';

export type CatalogPublisherMetrics = Pick<Metrics, 'sidecarPortConflicts' | 'translationErrors' | 'serverListenerConflicts'>;

/** The translators' client profile of each view. */
export const VIEW_PROFILE: Readonly<Record<ViewName, ClientProfile>> = { sidecar: 'envoy', proxyless: 'grpc', 'grpc-core-1.51': 'grpc-core-1.51' };

/** What one view's clients get differently from a service's policy ("not applied for <client>"). */
export interface ViewAdjustments {
  readonly view: ViewName;
  /** e.g. "gRPC C-core 1.51" */
  readonly client: string;
  readonly adjustments: Adjustment[];
}

export interface PublisherOptions {
  /** Appended to service names in sidecar virtual hosts (`orders.<suffix>`); empty for none. */
  readonly domainSuffix: string;
  /** Address sidecar outbound listeners bind to. */
  readonly sidecarBindAddress: string;
}

type Encoded = Record<ResourceKind, EncodedResource[]>;

/** Updates for one cache, gathered over a batch and applied in one step. */
class PendingUpdates {
  private readonly upserts = new Map<ResourceKind, EncodedResource[]>(RESOURCE_KINDS.map((k) => [k, []]));
  private readonly retirements = new Map<ResourceKind, string[]>(RESOURCE_KINDS.map((k) => [k, []]));

  upsert(kind: ResourceKind, e: EncodedResource): void {
    this.upserts.get(kind)!.push(e);
  }

  /**
   * Make before break: a name no longer produced is retired, not removed. The cache keeps serving it
   * until the proxies ACKed the new references (the route or listener that stopped naming it).
   */
  retire(kind: ResourceKind, name: string): void {
    this.retirements.get(kind)!.push(name);
  }

  toUpdates(): ResourceUpdate[] {
    return RESOURCE_KINDS.map((k) => ({ typeUrl: TYPE_URL[k], upserts: this.upserts.get(k)!, removals: [], retirements: this.retirements.get(k)! }));
  }
}

export class CatalogPublisher {
  /** Per view and service: the names it produced of each kind. */
  private readonly produced = new Map<ViewName, Map<string, Record<ResourceKind, Set<string>>>>();
  /** The views with a cache of their own: the two base views, then client-profile views. */
  private readonly views: readonly ViewName[];
  private readonly portServices = new Map<number, Map<string, Service>>();
  /** Per service: its port and what its virtual host depends on, to rebuild a port only when needed. */
  private readonly sidecarKey = new Map<string, { port: number | undefined; key: string }>();
  private readonly conflicts = new Map<string, string>();
  /** Server Listeners of proxyless gRPC servers (XdsServer), by registered ip:port. */
  readonly serverListeners = new ServerListenerIndex();
  /** The local clusters the sidecar inbound listener forwards to, as last staged. */
  private inboundClusters = new Set<string>();

  constructor(
    private readonly caches: ViewCaches,
    private readonly opts: PublisherOptions,
    private readonly log: Logger,
    private readonly metrics: CatalogPublisherMetrics,
  ) {
    this.views = servedViews(caches);
    for (const view of this.views) this.produced.set(view, new Map());
  }

  publish(change: CatalogChange, observedAt: number = performance.now()): void {
    const pending = new Map(this.views.map((v) => [v, new PendingUpdates()]));
    const dirtyPorts = new Set<number>();
    const dirtyServers = new Set<string>();
    for (const service of change.upserts) {
      const encoded = this.encodeService(service);
      if (!encoded) continue;
      for (const view of this.views) this.stage(view, service.name, encoded.get(view)!, pending.get(view)!);
      this.trackPort(service, dirtyPorts);
      this.serverListeners.track(service, dirtyServers);
    }
    for (const port of dirtyPorts) this.stagePort(port, pending.get('sidecar')!);
    for (const address of dirtyServers) this.stageServerListener(address, pending);
    if (dirtyServers.size > 0) this.stageSidecarInbound(pending.get('sidecar')!);
    this.metrics.sidecarPortConflicts.set(this.conflicts.size);
    const applied = new Set<ResourceCache>();
    for (const view of this.views) {
      const cache = this.caches[view]!;
      if (applied.has(cache)) continue;
      applied.add(cache);
      cache.apply(pending.get(view)!.toUpdates(), observedAt);
    }
  }

  /** Per view, what its clients get differently from the service's policy (views with nothing to say are left out). */
  adjustmentsOf(service: Service): ViewAdjustments[] {
    return this.views.flatMap((view) => {
      const profile = CLIENT_PROFILES[VIEW_PROFILE[view]];
      const adjustments = adjustmentsFor(service, profile.capabilities);
      return adjustments.length > 0 ? [{ view, client: profile.label, adjustments }] : [];
    });
  }

  /** The sidecar clusters and endpoints a service produced (scoped sidecar views take them from the sidecar cache). */
  sidecarNamesOf(service: string): { readonly cluster: ReadonlySet<string>; readonly endpoint: ReadonlySet<string> } | undefined {
    return this.produced.get('sidecar')!.get(service);
  }

  /** Services currently left without a sidecar listener, with the reason. */
  sidecarConflicts(): ReadonlyMap<string, string> {
    return this.conflicts;
  }

  /**
   * Names of the resources a service became, per audience (admin pages). A sidecar's listener and
   * route belong to the service's port and are shared with every other service on that port.
   */
  resourceNamesOf(service: string): Partial<Record<ViewName, Record<ResourceKind, string[]>>> | undefined {
    const sidecar = this.produced.get('sidecar')!.get(service);
    if (!sidecar || !this.produced.get('proxyless')!.get(service)) return undefined;
    const list = (sets: Record<ResourceKind, Set<string>>) =>
      Object.fromEntries(RESOURCE_KINDS.map((k) => [k, [...sets[k]].sort()])) as Record<ResourceKind, string[]>;
    const out: Partial<Record<ViewName, Record<ResourceKind, string[]>>> = {};
    for (const view of this.views) if (view !== 'sidecar') out[view] = list(this.produced.get(view)!.get(service)!);
    const sidecarNames = list(sidecar);
    const port = this.sidecarKey.get(service)?.port;
    if (port !== undefined && !this.conflicts.has(service)) {
      const name = outboundName(port);
      if (this.caches.sidecar.get(TYPE_URL.listener, name)) sidecarNames.listener = [name];
      if (this.caches.sidecar.get(TYPE_URL.route, name)) sidecarNames.route = [name];
    }
    return { ...out, sidecar: sidecarNames };
  }

  /**
   * Encodes every view's resources of a service, all or nothing; endpoints are encoded once for
   * all. A profile view whose clients get the same adjustments as its base view's shares the base
   * view's encoded resources (the translators depend on a profile only through its adjustments).
   */
  private encodeService(service: Service): Map<ViewName, Encoded> | undefined {
    try {
      const capsOf = (view: ViewName) => CLIENT_PROFILES[VIEW_PROFILE[view]].capabilities;
      const proxyless = encodeSet(proxylessResourceSet(service, capsOf('proxyless')));
      // Sidecars differ only in their clusters: the assignments are the same bytes, and their
      // listeners and routes are built per port (stagePort).
      const sidecar = {
        ...encodeSet({ cluster: clustersFor(service, 'sidecar', capsOf('sidecar')), endpoint: [], listener: [], route: [] }),
        endpoint: proxyless.endpoint,
      };
      const out = new Map<ViewName, Encoded>([
        ['proxyless', proxyless],
        ['sidecar', sidecar],
      ]);
      for (const view of this.views) {
        const base = KIND_OF_VIEW[view];
        if (view === base) continue;
        // Client-profile views are all proxyless ones (client-profile.ts: KIND_OF_VIEW).
        if (sameAdjustments(adjustmentsFor(service, capsOf(view)), adjustmentsFor(service, capsOf(base)))) out.set(view, out.get(base)!);
        else out.set(view, { ...encodeSet(proxylessResourceSet(service, capsOf(view))), endpoint: proxyless.endpoint });
      }
      return out;
    } catch (err) {
      this.metrics.translationErrors.inc();
      this.log.error({ service: service.name, err: (err as Error).message }, 'cannot build xDS resources for a service; its previous resources stay in force');
      return undefined;
    }
  }

  private stage(view: ViewName, service: string, encoded: Encoded, pending: PendingUpdates): void {
    const before = this.produced.get(view)!.get(service);
    const now = {} as Record<ResourceKind, Set<string>>;
    for (const kind of RESOURCE_KINDS) {
      now[kind] = new Set(encoded[kind].map((e) => e.name));
      for (const e of encoded[kind]) pending.upsert(kind, e);
      // Names only (subset clusters of a dropped split): a service's main resources always stay.
      for (const name of before?.[kind] ?? []) if (!now[kind].has(name)) pending.retire(kind, name);
    }
    this.produced.get(view)!.set(service, now);
  }

  private trackPort(service: Service, dirty: Set<number>): void {
    const port = sidecarPortOf(service);
    const key = JSON.stringify([port, protocolOf(service), service.policy]);
    const old = this.sidecarKey.get(service.name);
    if (old?.port !== undefined) this.portServices.get(old.port)?.delete(service.name);
    if (port !== undefined) {
      if (!this.portServices.has(port)) this.portServices.set(port, new Map());
      this.portServices.get(port)!.set(service.name, service);
    }
    this.sidecarKey.set(service.name, { port, key });
    if (old?.key === key) return;
    if (old?.port !== undefined) dirty.add(old.port);
    if (port !== undefined) dirty.add(port);
  }

  /** A gRPC server's Listener goes to every proxyless view (sidecars get inbound listeners of their own). */
  private stageServerListener(address: string, pending: Map<ViewName, PendingUpdates>): void {
    try {
      const encoded = this.serverListeners.encode(address);
      if (encoded) for (const view of this.views) if (KIND_OF_VIEW[view] === 'proxyless') pending.get(view)!.upsert('listener', encoded);
    } catch (err) {
      this.metrics.translationErrors.inc();
      this.log.error({ address, err: (err as Error).message }, 'cannot build the server listener of an address; its previous listener stays in force');
    }
    const conflict = this.serverListeners.conflicts.get(address);
    if (conflict) this.log.warn({ address, reason: conflict }, 'gRPC server address refuses every call');
    this.metrics.serverListenerConflicts.set(this.serverListeners.conflicts.size);
  }

  /** Envoy sidecars' inbound listener (sidecar-inbound.ts) and its local clusters, rebuilt whole. */
  private stageSidecarInbound(pending: PendingUpdates): void {
    try {
      const inbound = this.serverListeners.encodeInbound();
      const clusters = new Set((inbound?.clusters ?? []).map((c) => String(c.name)));
      if (inbound) {
        pending.upsert('listener', inbound.listener);
        for (const c of inbound.clusters) pending.upsert('cluster', encodeResource(TYPE_URL.cluster, String(c.name), c));
      } else if (this.inboundClusters.size > 0) {
        pending.retire('listener', INBOUND_LISTENER);
      }
      for (const name of this.inboundClusters) if (!clusters.has(name)) pending.retire('cluster', name);
      this.inboundClusters = clusters;
    } catch (err) {
      this.metrics.translationErrors.inc();
      this.log.error({ err: (err as Error).message }, 'cannot build the sidecar inbound listener; its previous version stays in force');
    }
  }

  private stagePort(port: number, pending: PendingUpdates): void {
    const services = [...(this.portServices.get(port)?.values() ?? [])];
    const plan = planPort(port, services, this.opts.sidecarBindAddress, this.opts.domainSuffix);
    const name = outboundName(port);
    for (const s of services) this.conflicts.delete(s.name);
    if (!plan) {
      pending.retire('listener', name);
      pending.retire('route', name);
      return;
    }
    for (const { service, reason } of plan.ignored) {
      this.conflicts.set(service, reason);
      this.log.warn({ service, port, reason }, 'service left without a sidecar listener');
    }
    try {
      pending.upsert('listener', encodeResource(TYPE_URL.listener, name, plan.listener));
      if (plan.route) pending.upsert('route', encodeResource(TYPE_URL.route, name, plan.route));
      else pending.retire('route', name);
    } catch (err) {
      this.metrics.translationErrors.inc();
      this.log.error({ port, err: (err as Error).message }, 'cannot build the sidecar listener of a port; its previous resources stay in force');
    }
  }
}

function encodeSet(set: ServiceResourceSet): Encoded {
  return {
    cluster: set.cluster.map((o) => encodeResource(TYPE_URL.cluster, String(o.name), o)),
    endpoint: set.endpoint.map((o) => encodeResource(TYPE_URL.endpoint, String(o.cluster_name), o)),
    listener: set.listener.map((o) => encodeResource(TYPE_URL.listener, String(o.name), o)),
    route: set.route.map((o) => encodeResource(TYPE_URL.route, String(o.name), o)),
  };
}
