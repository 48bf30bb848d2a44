// Per connected proxy, the policy features of the services it uses that its client gets
// differently or not at all ("not applied for <client>"), for /debug/proxies and `zk-xds status`.
// Built on request from the proxy's subscriptions, the catalog and the publisher's adjustments.
import type { Service } from '../catalog/model.js';
import type { ViewAdjustments } from '../publish/catalog-publisher.js';
import type { XdsStream } from '../xds/xds-server.js';
import { TYPE_URL } from '../xds/resource-types.js';

export interface NotApplied {
  readonly service: string;
  /** The client profile's name, e.g. "gRPC C-core 1.51". */
  readonly client: string;
  readonly feature: string;
  readonly outcome: 'left out' | 'approximated';
  readonly why: string;
}

/**
 * The adjustments for the services a proxy subscribes to (by listener or cluster name; a subset
 * cluster `svc|label=value` counts as `svc`; a wildcard subscription counts every service).
 */
export function proxyNotApplied(
  streams: readonly XdsStream[],
  catalog: ReadonlyMap<string, Service>,
  adjustmentsOf: (s: Service) => ViewAdjustments[],
): NotApplied[] {
  const view = streams.find((s) => s.view)?.view?.name;
  if (!view) return [];
  const services = new Set<string>();
  for (const stream of streams) {
    for (const typeUrl of [TYPE_URL.listener, TYPE_URL.cluster]) {
      const sub = stream.subscriptions.get(typeUrl);
      if (!sub) continue;
      if (sub.wildcard) for (const name of catalog.keys()) services.add(name);
      for (const name of sub.names) services.add(name.split('|')[0]!);
    }
  }
  const out: NotApplied[] = [];
  for (const name of [...services].sort()) {
    const service = catalog.get(name);
    const mine = service ? adjustmentsOf(service).find((a) => a.view === view) : undefined;
    for (const a of mine?.adjustments ?? []) out.push({ service: name, client: mine!.client, feature: a.feature, outcome: a.outcome, why: a.why });
  }
  return out;
}
