import type { ServicePolicy } from './policy.js';

// The registry-agnostic model of what is registered. Registries (src/registry) produce it,
// translators (src/translate) consume it; nothing here knows about ZooKeeper or Envoy.

/** Where an instance runs, as Envoy's core.Locality understands it. Empty strings mean "unset". */
export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

export const NO_LOCALITY: Locality = Object.freeze({ region: '', zone: '', subZone: '' });

/** One reachable endpoint of a service, as read from one registration. */
export interface Instance {
  /** The registration's own id (Curator `id`, JSON `id`), else the znode name. */
  readonly id: string;
  /** IP literal (v4 or v6, without brackets). Hostnames are rejected by the parsers. */
  readonly address: string;
  readonly port: number;
  /** Load-balancing weight, >= 1; 0 means "registered, takes no traffic" (and healthy is false). */
  readonly weight: number;
  /** False when the registration says it is not serving (disabled, OUT_OF_SERVICE, weight 0). */
  readonly healthy: boolean;
  readonly locality: Locality;
  readonly metadata: Readonly<Record<string, string>>;
  /** What the parser changed in the registration to make it usable (a removed IPv6 zone id), for /debug/catalog. */
  readonly notes?: readonly string[];
}

/**
 * Which registration format an instance was parsed from (for admin and inspect output):
 * `dubbo` is a Dubbo 2 provider URL, `dubbo-app` one protocol endpoint of a Dubbo 3 application.
 */
export type RegistrationFormat = 'host-port' | 'json' | 'curator' | 'dubbo' | 'dubbo-app';

/**
 * What a service is, in its framework's own terms; the mesh name is derived from it (see naming.ts).
 * Two registrations with the same identity are the same service, whichever ensemble or root they
 * were read from.
 */
export type ServiceIdentity =
  /** Curator ServiceDiscovery, Spring Cloud Zookeeper, Dubbo 3 application, plain JSON, host:port. */
  | { readonly kind: 'service'; readonly name: string }
  /** A Dubbo 2 interface-level service. Empty group or version means unset. */
  | { readonly kind: 'dubbo-interface'; readonly interface: string; readonly group: string; readonly version: string }
  /** One protocol endpoint (from `dubbo.endpoints`) of a Dubbo 3 application. */
  | { readonly kind: 'dubbo-application'; readonly application: string; readonly protocol: string };

/** An instance together with where it was read from. */
export interface RegisteredInstance extends Instance {
  /** Full znode path of the registration. */
  readonly source: string;
  readonly format: RegistrationFormat;
  /** Name of the ZooKeeper ensemble it was read from (absent in fixtures built without a registry). */
  readonly ensemble?: string;
}

/** A service and its current instances, sorted by source path so equal inputs give equal values. */
export interface Service {
  /** The DNS-safe mesh name clients dial (`xds:///<name>`); see catalog/naming.ts. */
  readonly name: string;
  /** The framework's own identity the name was derived from (absent in fixtures built without a registry). */
  readonly identity?: ServiceIdentity;
  readonly instances: readonly RegisteredInstance[];
  /** The operator's traffic policy (EMPTY_POLICY when none is set). */
  readonly policy: ServicePolicy;
}

/** The whole catalog at one moment: service name to service. Treated as immutable. */
export type Catalog = ReadonlyMap<string, Service>;

/**
 * A change to the catalog: services whose content changed (set = new value).
 * Services are never removed from the catalog once seen: a service that loses its last
 * instance or its znode stays with no instances (see translate/ for why).
 */
export interface CatalogChange {
  readonly upserts: readonly Service[];
}
