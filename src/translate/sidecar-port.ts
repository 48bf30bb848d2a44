// What an Envoy sidecar gets for one outbound port, from the services reached on it: http and grpc
// services share an HttpConnectionManager that routes by host name; a tcp service needs the port
// to itself. Services that cannot be served on the port are named with the reason. Pure.
import type { Service } from '../catalog/model.js';
import type { Json } from './envoy-json.js';
import { resourceNamesFor } from './resource-names.js';
import { protocolOf } from './service-shape.js';
import { httpListenerFor, tcpListenerFor } from './sidecar-listener.js';
import { portRouteFor } from './sidecar-route.js';

export interface PortPlan {
  readonly listener: Json;
  /** The port's RouteConfiguration (http ports only). */
  readonly route?: Json;
  readonly ignored: ReadonlyArray<{ service: string; reason: string }>;
}

export function planPort(port: number, services: readonly Service[], bindAddress: string, domainSuffix: string): PortPlan | undefined {
  if (services.length === 0) return undefined;
  const byName = [...services].sort((a, b) => (a.name < b.name ? -1 : 1));
  const http = byName.filter((s) => protocolOf(s) !== 'tcp');
  const tcp = byName.filter((s) => protocolOf(s) === 'tcp');
  if (http.length > 0) {
    return {
      listener: httpListenerFor(port, bindAddress),
      route: portRouteFor(port, http, domainSuffix),
      ignored: tcp.map((s) => ({ service: s.name, reason: `port ${port} carries http services (${http[0]!.name}...); a tcp service needs a port of its own` })),
    };
  }
  const [owner, ...rest] = tcp;
  return {
    listener: tcpListenerFor(port, bindAddress, resourceNamesFor(owner!.name).cluster),
    ignored: rest.map((s) => ({ service: s.name, reason: `tcp port ${port} is already taken by ${owner!.name}` })),
  };
}
