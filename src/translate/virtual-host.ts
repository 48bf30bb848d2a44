// Service -> envoy.config.route.v3.VirtualHost: the domains it answers to, one catch-all route.
import type { Service } from '../catalog/model.js';
import type { Audience } from './envoy-json.js';
import type { VirtualHost } from './envoy-types.js';
import { routeActionFor } from './route-action.js';
import { defaultCapabilities, type ClientCapabilities } from './client-capabilities.js';

export function virtualHostFor(
  service: Service,
  domains: readonly string[],
  audience: Audience,
  caps: ClientCapabilities = defaultCapabilities(audience),
): VirtualHost {
  return {
    name: service.name,
    domains: [...domains],
    routes: [{ match: { prefix: audience === 'sidecar' ? '/' : '' }, route: routeActionFor(service, audience, caps) }],
  };
}

/** Host names a sidecar's outbound traffic may use for a service: with and without suffix and port. */
export function sidecarDomains(service: string, port: number, domainSuffix: string): string[] {
  const host = meshHostOf(service, domainSuffix);
  const names = host === service ? [service] : [service, host];
  return names.flatMap((n) => [n, `${n}:${port}`]);
}

/**
 * The one host name of a service in the mesh: `<name>.<suffix>` when a suffix is set, else the
 * bare name. Sidecar routes answer to it and Istio ServiceEntries declare it, so they must agree.
 */
export function meshHostOf(service: string, domainSuffix: string): string {
  return domainSuffix ? `${service}.${domainSuffix}` : service;
}
