// Service -> envoy.config.route.v3.RouteConfiguration for proxyless gRPC: one virtual host for the
// service name, everything routed by the service's policy (cluster or split, timeout, retries).
import type { Service } from '../catalog/model.js';
import type { RouteConfiguration } from './envoy-types.js';
import { resourceNamesFor } from './resource-names.js';
import { virtualHostFor } from './virtual-host.js';
import { defaultCapabilities, type ClientCapabilities } from './client-capabilities.js';

export function routeFor(service: Service, caps: ClientCapabilities = defaultCapabilities('proxyless')): RouteConfiguration {
  return { name: resourceNamesFor(service.name).route, virtual_hosts: [virtualHostFor(service, [service.name], 'proxyless', caps)] };
}
