// Service -> envoy.config.route.v3.RouteConfiguration: one virtual host for the service name,
// everything routed to the service's cluster.
import type { Service } from '../catalog/model.js';
import type { Json } from './envoy-json.js';
import { resourceNamesFor } from './resource-names.js';

export function routeFor(service: Service): Json {
  const names = resourceNamesFor(service.name);
  return {
    name: names.route,
    virtual_hosts: [
      {
        name: service.name,
        domains: [service.name],
        routes: [{ match: { prefix: '' }, route: { cluster: names.cluster } }],
      },
    ],
  };
}
