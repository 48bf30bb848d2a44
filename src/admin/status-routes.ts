// The status page and the small JSON pages only it needs, registered in the admin port's route
// table under /debug/ so that whatever guards /debug guards them too:
//   /debug/status       the HTML page (it fetches the JSON pages below and the existing ones)
//   /debug/services     one line per service: instance counts, skipped registrations, rejected policy
//   /debug/convergence  change -> proxy ACK convergence over the last minutes (p50/p99 per bucket)
//   /debug/writer       the leader election and the ServiceEntry writer's state
import type { CatalogStore } from '../catalog/catalog-store.js';
import type { ResourceCache } from '../xds/resource-cache.js';
import type { ProxyReply } from '../xds/stream-base.js';
import type { RouteHandler } from './admin-server.js';
import type { RegistryReport } from './catalog-pages.js';
import { ConvergenceSamples } from './convergence-samples.js';
import { streamsByNode, type StreamSource } from './proxy-status.js';
import { statusPage } from './status-page.js';

export interface StatusSources {
  readonly xds: StreamSource & { onReply(listener: (reply: ProxyReply) => void): unknown };
  readonly caches: Readonly<Record<string, ResourceCache>>;
  readonly catalog: CatalogStore;
  readonly registry: RegistryReport;
  /** The ServiceEntry writer, when --k8s-service-entries is on (read on each request: it starts after the admin port). */
  readonly kubernetes: () => WriterReport | undefined;
}

/** Replies between two prunes of the convergence tracker's per-node memory. */
const PRUNE_EVERY_REPLIES = 1000;

export interface ServiceLine {
  readonly name: string;
  readonly instances: number;
  readonly serving: number;
  readonly skipped: number;
  readonly policyRejected: boolean;
}

export function statusRoutes(src: StatusSources, samples = new ConvergenceSamples()): Record<string, RouteHandler> {
  for (const cache of new Set(Object.values(src.caches))) cache.onChange((changes) => samples.recordChanges(changes));
  let replies = 0;
  src.xds.onReply((reply) => {
    samples.recordReply(reply);
    if (++replies % PRUNE_EVERY_REPLIES === 0) samples.prune(new Set(streamsByNode(src.xds).keys()));
  });
  const page = statusPage();
  return {
    '/debug/status': () => ({ status: 200, body: null, raw: page }),
    '/debug/services': () => ({ status: 200, body: { services: serviceLines(src.catalog, src.registry) } }),
    '/debug/convergence': (url) => {
      const minutes = Number(url.searchParams.get('minutes') ?? '10');
      const window = Number.isFinite(minutes) && minutes >= 1 && minutes <= 60 ? Math.round(minutes) * 60 : 600;
      return { status: 200, body: samples.summary(window, window / 20) };
    },
    '/debug/writer': () => ({ status: 200, body: writerState(src.kubernetes()) }),
  };
}

export function serviceLines(catalog: CatalogStore, registry: RegistryReport): ServiceLine[] {
  const skipped = new Map<string, number>();
  for (const s of registry.invalidRegistrations()) skipped.set(s.service, (skipped.get(s.service) ?? 0) + 1);
  const rejected = new Set(registry.policyErrors().map((e) => e.service));
  const names = new Set([...catalog.snapshot().keys(), ...skipped.keys(), ...rejected]);
  return [...names].sort().map((name) => {
    const instances = catalog.get(name)?.instances ?? [];
    return {
      name,
      instances: instances.length,
      serving: instances.filter((i) => i.healthy).length,
      skipped: skipped.get(name) ?? 0,
      policyRejected: rejected.has(name),
    };
  });
}

/** The Kubernetes ServiceEntry writer as /debug/writer shows it (src/istio's writer satisfies it). */
export interface WriterReport {
  readonly election: { readonly identity: string; readonly candidateNode?: string | null; readonly isLeader: boolean };
  readonly writer: { status(): object };
}

function writerState(k: WriterReport | undefined) {
  if (!k) return { enabled: false };
  return {
    enabled: true,
    election: { identity: k.election.identity, candidateNode: k.election.candidateNode ?? null, leader: k.election.isLeader },
    writer: k.writer.status(),
  };
}
