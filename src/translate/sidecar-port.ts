// What an Envoy sidecar gets for one outbound port, from the services reached on it: http and grpc
// services share an HttpConnectionManager that routes by host name; a tcp service needs the port
// to itself. Services that cannot be served on the port are named with the reason. Pure.
import type { Service } from '../catalog/model.js';
import type { Listener, RouteConfiguration } from './envoy-types.js';
import { protocolOf } from './service-shape.js';
import { sidecarDomains } from './virtual-host.js';
import { httpListenerFor, tcpListenerFor } from './sidecar-listener.js';
import { portRouteFor } from './sidecar-route.js';

export interface PortPlan {
  readonly listener: Listener;
  /** The port's RouteConfiguration (http ports only). */
  readonly route?: RouteConfiguration;
  readonly ignored: ReadonlyArray<{ service: string; reason: string }>;
}

export function planPort(port: number, services: readonly Service[], bindAddress: string, domainSuffix: string): PortPlan | undefined {
  if (services.length === 0) return undefined;
  const byName = [...services].sort((a, b) => (a.name < b.name ? -1 : 1));
  const http = byName.filter((s) => protocolOf(s) !== 'tcp');
  const tcp = byName.filter((s) => protocolOf(s) === 'tcp');
  if (http.length > 0) {
    const { routed, clashes } = withUniqueDomains(http, port, domainSuffix);
    return {
      listener: httpListenerFor(port, bindAddress),
      route: portRouteFor(port, routed, domainSuffix),
      ignored: [
        ...clashes,
        ...tcp.map((s) => ({ service: s.name, reason: `port ${port} carries http services (${http[0]!.name}...); a tcp service needs a port of its own` })),
      ],
    };
  }
  const [owner, ...rest] = tcp;
  return {
    listener: tcpListenerFor(port, bindAddress, owner!),
    ignored: rest.map((s) => ({ service: s.name, reason: `tcp port ${port} is already taken by ${owner!.name}` })),
  };
}

/**
 * Envoy rejects a whole RouteConfiguration in which two virtual hosts share a domain (service `a`
 * with suffix `svc.mesh` and a service named `a.svc.mesh`): the later service by name is left out.
 */
function withUniqueDomains(
  services: readonly Service[],
  port: number,
  domainSuffix: string,
): { routed: Service[]; clashes: Array<{ service: string; reason: string }> } {
  const owner = new Map<string, string>();
  const routed: Service[] = [];
  const clashes: Array<{ service: string; reason: string }> = [];
  for (const s of services) {
    const domains = sidecarDomains(s.name, port, domainSuffix);
    const taken = domains.find((d) => owner.has(d));
    if (taken) {
      clashes.push({ service: s.name, reason: `host name ${taken} on port ${port} already routes to ${owner.get(taken)}` });
      continue;
    }
    for (const d of domains) owner.set(d, s.name);
    routed.push(s);
  }
  return { routed, clashes };
}
