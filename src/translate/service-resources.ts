// The per-service xDS resources for each audience. Pure: the same service always gives the same
// objects. (Sidecar listeners and routes are per port, built by sidecar-port.ts.)
import type { Catalog, Service } from '../catalog/model.js';
import { clusterFor, clustersFor } from './cluster.js';
import { assignmentsFor, endpointsFor } from './endpoints.js';
import { apiListenerFor } from './listener.js';
import { routeFor } from './route.js';
import type { Cluster, ClusterLoadAssignment, Listener, RouteConfiguration } from './envoy-types.js';
import { protocolOf } from './service-shape.js';
import { defaultCapabilities, type ClientCapabilities } from './client-capabilities.js';

export interface ServiceResources {
  readonly cluster: Cluster;
  readonly endpoint: ClusterLoadAssignment;
  readonly listener: Listener;
  readonly route: RouteConfiguration;
}

/** A service's main proxyless resources, one of each kind. */
export function resourcesForService(service: Service): ServiceResources {
  return { cluster: clusterFor(service), endpoint: endpointsFor(service), listener: apiListenerFor(service), route: routeFor(service) };
}

export function resourcesForCatalog(catalog: Catalog): Map<string, ServiceResources> {
  const out = new Map<string, ServiceResources>();
  for (const [name, service] of catalog) out.set(name, resourcesForService(service));
  return out;
}

/** Everything a service contributes, by resource kind, including traffic-split subsets. */
export interface ServiceResourceSet {
  readonly cluster: Cluster[];
  readonly endpoint: ClusterLoadAssignment[];
  readonly listener: Listener[];
  readonly route: RouteConfiguration[];
}

/**
 * A proxyless client's resources for a service, for a gRPC client with `caps` (default: any gRPC).
 * A gRPC client can only call a service that speaks gRPC (or plain HTTP/2, the default for
 * registrations that declare nothing): a tcp service (Dubbo's binary protocol, thrift, an unknown
 * one) gets no Listener or Route in this view, so a client dialing it is told the name does not
 * exist instead of sending gRPC frames to a Dubbo port. Its Cluster and endpoints stay (harmless).
 */
export function proxylessResourceSet(service: Service, caps: ClientCapabilities = defaultCapabilities('proxyless')): ServiceResourceSet {
  const callable = protocolOf(service) !== 'tcp';
  return {
    cluster: clustersFor(service, 'proxyless', caps),
    endpoint: assignmentsFor(service),
    listener: callable ? [apiListenerFor(service)] : [],
    route: callable ? [routeFor(service, caps)] : [],
  };
}

/** A sidecar's per-service resources; its listeners and routes come per port. */
export function sidecarResourceSet(service: Service): ServiceResourceSet {
  return { cluster: clustersFor(service, 'sidecar'), endpoint: assignmentsFor(service), listener: [], route: [] };
}
