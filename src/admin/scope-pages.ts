// Sidecar scopes on the admin port: each proxy's scope (on /debug/proxies), and /debug/scopes with
// every node cluster's scope and where each entry came from, rejected documents, and which node
// clusters have one service in scope (`?service=`, used by `zk-xds inspect`).
import type { ScopeEntry } from '../catalog/scope.js';
import type { NodeMessage } from '../xds/discovery-messages.js';
import type { RouteHandler } from './admin-server.js';

/** What a proxy's row shows: served everything / nothing (no scope), or its scope. */
export interface ProxyScope {
  readonly mode: 'scoped' | 'all' | 'none';
  readonly entries: readonly ScopeEntry[];
  readonly services: readonly string[];
}

export interface ScopeSource {
  describe(node: NodeMessage | null): ProxyScope;
  whoHas(service: string): Array<{ nodeCluster: string; entries: ScopeEntry[] }>;
  /** Every node cluster with a scope, with its entries. */
  all(): Array<{ nodeCluster: string; entries: readonly ScopeEntry[] }>;
  readonly scopeDefault: 'all' | 'none';
  errors(): unknown[];
  skippedConsumers(): unknown[];
}

/** Who has a service in scope: `/debug/scopes?service=orders`. */
export interface ScopedByPage {
  readonly service: string;
  readonly scopeDefault: 'all' | 'none';
  readonly nodeClusters: Array<{ nodeCluster: string; entries: ScopeEntry[] }>;
}

export function scopeRoutes(src: ScopeSource): Record<string, RouteHandler> {
  return {
    '/debug/scopes': (url) => {
      const service = url.searchParams.get('service');
      if (service) return { status: 200, body: { service, scopeDefault: src.scopeDefault, nodeClusters: src.whoHas(service) } satisfies ScopedByPage };
      return { status: 200, body: { scopeDefault: src.scopeDefault, scopes: src.all(), invalid: src.errors(), skippedConsumers: src.skippedConsumers() } };
    },
  };
}

/** The SCOPE cell of `zk-xds status`: `3 services (znode,dubbo-consumer)`, `all` or `none`. */
export function scopeCell(scope: ProxyScope | undefined): string {
  if (!scope) return '-';
  if (scope.mode !== 'scoped') return scope.mode;
  const sources = [...new Set(scope.entries.map((e) => e.source))].sort().join(',');
  const n = scope.services.length;
  return `${n} service${n === 1 ? '' : 's'} (${sources})`;
}
