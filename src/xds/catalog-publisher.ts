// Catalog changes in, cache updates out, for both audiences. Translation is pure (translate/);
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
import type { Json } from '../translate/envoy-json.js';
import type { ResourceCache, ResourceUpdate } from './resource-cache.js';
import { encodeResource, type EncodedResource } from './resource-encoding.js';
import { RESOURCE_KINDS, TYPE_URL, type ResourceKind } from './resource-types.js';
import type { ProxyKind } from './proxy-kind.js';

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
  /** Per audience and service: the names it produced of each kind. */
  private readonly produced: Record<ProxyKind, Map<string, Record<ResourceKind, Set<string>>>> = { proxyless: new Map(), sidecar: new Map() };
  private readonly portServices = new Map<number, Map<string, Service>>();
  /** Per service: its port and what its virtual host depends on, to rebuild a port only when needed. */
  private readonly sidecarKey = new Map<string, { port: number | undefined; key: string }>();
  private readonly conflicts = new Map<string, string>();

  constructor(
    private readonly caches: Readonly<Record<ProxyKind, ResourceCache>>,
    private readonly opts: PublisherOptions,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  publish(change: CatalogChange, observedAt: number = performance.now()): void {
    const pending: Record<ProxyKind, PendingUpdates> = { proxyless: new PendingUpdates(), sidecar: new PendingUpdates() };
    const dirtyPorts = new Set<number>();
    for (const service of change.upserts) {
      const encoded = this.encodeService(service);
      if (!encoded) continue;
      this.stage('proxyless', service.name, encoded.proxyless, pending.proxyless);
      this.stage('sidecar', service.name, encoded.sidecar, pending.sidecar);
      this.trackPort(service, dirtyPorts);
    }
    for (const port of dirtyPorts) this.stagePort(port, pending.sidecar);
    this.metrics.sidecarPortConflicts.set(this.conflicts.size);
    this.caches.proxyless.apply(pending.proxyless.toUpdates(), observedAt);
    if (this.caches.sidecar !== this.caches.proxyless) this.caches.sidecar.apply(pending.sidecar.toUpdates(), observedAt);
  }

  /** Services currently left without a sidecar listener, with the reason. */
  sidecarConflicts(): ReadonlyMap<string, string> {
    return this.conflicts;
  }

  /**
   * Names of the resources a service became, per audience (admin pages). A sidecar's listener and
   * route belong to the service's port and are shared with every other service on that port.
   */
  resourceNamesOf(service: string): Record<ProxyKind, Record<ResourceKind, string[]>> | undefined {
    const proxyless = this.produced.proxyless.get(service);
    const sidecar = this.produced.sidecar.get(service);
    if (!proxyless || !sidecar) return undefined;
    const list = (sets: Record<ResourceKind, Set<string>>) => Object.fromEntries(RESOURCE_KINDS.map((k) => [k, [...sets[k]].sort()])) as Record<ResourceKind, string[]>;
    const sidecarNames = list(sidecar);
    const port = this.sidecarKey.get(service)?.port;
    if (port !== undefined && !this.conflicts.has(service)) {
      const name = outboundName(port);
      if (this.caches.sidecar.get(TYPE_URL.listener, name)) sidecarNames.listener = [name];
      if (this.caches.sidecar.get(TYPE_URL.route, name)) sidecarNames.route = [name];
    }
    return { proxyless: list(proxyless), sidecar: sidecarNames };
  }

  /** Encodes both audiences' resources of a service, all or nothing; endpoints are encoded once for both. */
  private encodeService(service: Service): Record<ProxyKind, Encoded> | undefined {
    try {
      const proxyless = encodeSet(proxylessResourceSet(service));
      // Sidecars differ only in their clusters: the assignments are the same bytes, and their
      // listeners and routes are built per port (stagePort).
      const sidecar = { ...encodeSet({ cluster: clustersFor(service, 'sidecar'), endpoint: [], listener: [], route: [] }), endpoint: proxyless.endpoint };
      return { proxyless, sidecar };
    } catch (err) {
      this.metrics.translationErrors.inc();
      this.log.error({ service: service.name, err: (err as Error).message }, 'cannot build xDS resources for a service; its previous resources stay in force');
      return undefined;
    }
  }

  private stage(audience: ProxyKind, service: string, encoded: Encoded, pending: PendingUpdates): void {
    const before = this.produced[audience].get(service);
    const now = {} as Record<ResourceKind, Set<string>>;
    for (const kind of RESOURCE_KINDS) {
      now[kind] = new Set(encoded[kind].map((e) => e.name));
      for (const e of encoded[kind]) pending.upsert(kind, e);
      // Names only (subset clusters of a dropped split): a service's main resources always stay.
      for (const name of before?.[kind] ?? []) if (!now[kind].has(name)) pending.retire(kind, name);
    }
    this.produced[audience].set(service, now);
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
  const out = {} as Encoded;
  for (const kind of RESOURCE_KINDS) out[kind] = set[kind].map((o: Json) => encodeResource(TYPE_URL[kind], resourceName(kind, o), o));
  return out;
}

function resourceName(kind: ResourceKind, o: Json): string {
  return String(kind === 'endpoint' ? o.cluster_name : o.name);
}
