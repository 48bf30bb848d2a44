// /debug/catalog and /debug/resources: the services as read from ZooKeeper (with the
// registrations skipped and why), and the xDS resources each service became, per proxy view.
import type { CatalogStore } from '../catalog/catalog-store.js';
import type { RegisteredInstance, Service } from '../catalog/model.js';
import type { ServicePolicy } from '../catalog/policy.js';
import type { InvalidRegistration, PolicyError, RegistryProblems } from '../catalog/registry-problems.js';
import type { CatalogPublisher, ViewAdjustments } from '../publish/catalog-publisher.js';
import { serverListenerNameAt } from '../translate/server-listener.js';
import { securitySummary, type SecuritySummary } from './security-summary.js';
import { decodeAny } from '../xds/resource-encoding.js';
import { RESOURCE_KINDS, TYPE_URL, type ResourceKind } from '../xds/resource-types.js';
import { protocolOf } from '../translate/service-shape.js';
import { unknownProtocolsOf } from '../catalog/unknown-protocols.js';
import { cacheOfView, type ProfileView, type ViewCaches, type ViewName } from '../xds/client-profile.js';
import type { ProxyKind } from '../xds/proxy-kind.js';

export type RegistryReport = Pick<RegistryProblems, 'invalidRegistrations' | 'policyErrors'>;

export interface CatalogService {
  readonly name: string;
  readonly instances: readonly RegisteredInstance[];
  readonly policy: ServicePolicy;
  /** The mesh protocol (tcp, http, grpc) sidecars and Istio treat the service's traffic as. */
  readonly protocol: string;
  /** Registration protocols its instances declare that zk-xds does not know (treated as tcp). */
  readonly unknownProtocols: string[];
  readonly skipped: InvalidRegistration[];
  /** The policy write that was rejected (the policy shown is the previous good one), if any. */
  readonly policyError: PolicyError | null;
}

export interface CatalogPage {
  readonly services: CatalogService[];
  /** Every skipped registration (of the services shown). */
  readonly skipped: InvalidRegistration[];
  readonly policyErrors: PolicyError[];
}

export type PageResult<T> = { status: 200; body: T } | { status: 404; body: { error: string } };

/** The catalog, or one service of it (`service`); 404 for a service neither read nor skipped. */
export function catalogPage(catalog: CatalogStore, registry: RegistryReport, service?: string): PageResult<CatalogPage> {
  const skipped = registry.invalidRegistrations().filter((s) => !service || s.service === service);
  const policyErrors = registry.policyErrors().filter((e) => !service || e.service === service);
  const names = new Set<string>(service ? [] : catalog.snapshot().keys());
  if (service && (catalog.get(service) || skipped.length > 0 || policyErrors.length > 0)) names.add(service);
  if (service && names.size === 0) return { status: 404, body: { error: `no service named "${service}" was read from ZooKeeper` } };
  for (const s of skipped) names.add(s.service);
  const services = [...names].sort().map((name) => describe(catalog.get(name), name, skipped, policyErrors));
  return { status: 200, body: { services, skipped, policyErrors } };
}

function describe(service: Service | undefined, name: string, skipped: InvalidRegistration[], policyErrors: PolicyError[]): CatalogService {
  return {
    name,
    instances: service?.instances ?? [],
    policy: service?.policy ?? {},
    protocol: service ? protocolOf(service) : 'http',
    unknownProtocols: service ? unknownProtocolsOf(service) : [],
    skipped: skipped.filter((s) => s.service === name),
    policyError: policyErrors.find((e) => e.service === name) ?? null,
  };
}

export interface ServedResource {
  readonly name: string;
  readonly version: string;
  readonly resource: Record<string, unknown>;
}

type KindResources = Record<ResourceKind, ServedResource[]>;
/** Both base views always; a client-profile view when it is served. */
export type ViewResources = Record<ProxyKind, KindResources> & Partial<Record<ProfileView, KindResources>>;

export interface ResourcesPage {
  readonly service: string;
  /**
   * Per proxy view and kind: the resources served now, decoded from the bytes proxies get
   * (`proxyless`, `sidecar`, and a client-profile view such as `grpc-core-1.51`).
   */
  readonly views: ViewResources;
  /** Policy features each kind of client gets differently, or not at all ("not applied for <client>"). */
  readonly notApplied: ViewAdjustments[];
  /** Why the service has no sidecar listener, when its port is taken. */
  readonly sidecarConflict: string | null;
  /** Effective mTLS mode and authorization rules (null when the service is not in the catalog). */
  readonly security: SecuritySummary | null;
}

export function resourcesPage(publisher: CatalogPublisher, caches: ViewCaches, service: string | null, catalog?: CatalogStore): PageResult<ResourcesPage> {
  if (!service) return { status: 404, body: { error: 'name a service: /debug/resources?service=<name>' } };
  const names = publisher.resourceNamesOf(service);
  if (!names) return { status: 404, body: { error: `no xDS resources were built for a service named "${service}"` } };
  const views = {} as ViewResources;
  for (const [view, byKind] of Object.entries(names) as Array<[ViewName, Record<ResourceKind, string[]>]>) {
    const out = {} as Record<ResourceKind, ServedResource[]>;
    for (const kind of RESOURCE_KINDS) {
      out[kind] = byKind[kind].flatMap((name) => {
        const entry = cacheOfView(caches, view).get(TYPE_URL[kind], name);
        return entry ? [{ name, version: entry.version, resource: decodeAny(entry.anyBytes).object }] : [];
      });
    }
    views[view] = out;
  }
  // The gRPC server Listeners of the service's addresses (shared with services on the same address).
  for (const address of publisher.serverListeners.addressesOf(service)) {
    const name = serverListenerNameAt(address);
    const entry = caches.proxyless.get(TYPE_URL.listener, name);
    if (entry) views.proxyless.listener.push({ name, version: entry.version, resource: decodeAny(entry.anyBytes).object });
  }
  const known = catalog?.get(service);
  const notApplied = known ? publisher.adjustmentsOf(known) : [];
  const security = known ? securitySummary(known, publisher.serverListeners) : null;
  return { status: 200, body: { service, views, notApplied, sidecarConflict: publisher.sidecarConflicts().get(service) ?? null, security } };
}
