// The RouteConfiguration of one outbound sidecar port: a virtual host per http/grpc service on
// that port, sorted by service name so equal inputs give equal bytes.
import type { Service } from '../catalog/model.js';
import type { RouteConfiguration } from './envoy-types.js';
import { outboundName } from './sidecar-listener.js';
import { sidecarDomains, virtualHostFor } from './virtual-host.js';

export function portRouteFor(port: number, services: readonly Service[], domainSuffix: string): RouteConfiguration {
  const sorted = [...services].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    name: outboundName(port),
    virtual_hosts: sorted.map((s) => virtualHostFor(s, sidecarDomains(s.name, port, domainSuffix), 'sidecar')),
  };
}
