// All the xDS resources one service becomes. Pure: the same service always gives the same objects.
import type { Catalog, Service } from '../catalog/model.js';
import { clusterFor } from './cluster.js';
import { endpointsFor } from './endpoints.js';
import { apiListenerFor } from './listener.js';
import { routeFor } from './route.js';
import type { Json } from './envoy-json.js';

export interface ServiceResources {
  readonly cluster: Json;
  readonly endpoint: Json;
  readonly listener: Json;
  readonly route: Json;
}

export function resourcesForService(service: Service): ServiceResources {
  return { cluster: clusterFor(service), endpoint: endpointsFor(service), listener: apiListenerFor(service), route: routeFor(service) };
}

export function resourcesForCatalog(catalog: Catalog): Map<string, ServiceResources> {
  const out = new Map<string, ServiceResources>();
  for (const [name, service] of catalog) out.set(name, resourcesForService(service));
  return out;
}
