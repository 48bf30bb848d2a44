// /debug/config_dump?node=<id>: what one proxy was sent, per stream and type, decoded to JSON.
//
// Streams keep no copies of what they sent (that would cost memory per proxy); they keep the
// names they subscribe to, the version and cache step of their last response, and (delta) the
// version of each resource the client holds. The bytes come from the shared cache. So each
// resource is shown as the cache holds it now, and the dump says whether that is what was sent:
// - state of the world: `pendingChanges` lists subscribed names that changed in the cache after
//   the last response (not yet pushed); every other resource listed is exactly what was sent.
// - delta: each resource carries `sentVersion` (what the client holds) next to `version` (the
//   cache's now); they differ only while a push is on its way.
import type { XdsStream } from '../xds/xds-server.js';
import type { EncodedResource } from '../xds/resource-encoding.js';
import { decodeAny } from '../xds/resource-encoding.js';
import { DeltaStream } from '../xds/delta-stream.js';
import { shortTypeName } from '../xds/resource-types.js';
import type { SubscriptionBase } from '../xds/type-subscription.js';
import type { DeltaSubscription } from '../xds/delta-subscription.js';
import { proxyStatus, streamStatus, typeStatus, type ProxyStatus, type StreamStatus, type TypeStatus } from './proxy-status.js';

export interface DumpedResource {
  readonly name: string;
  /** The resource's version in the cache now (a content hash, identical on every replica). */
  readonly version: string;
  /** Delta only: the version the client was sent and holds. */
  readonly sentVersion?: string;
  /** Null when the resource is no longer in the cache (its removal is on its way). */
  readonly resource: Record<string, unknown> | null;
}

export interface DumpedType extends TypeStatus {
  /** The cache's current version of the type (equal to `sent` once every change was pushed). */
  readonly currentVersion: string;
  /** State of the world: subscribed names changed after the last response ('all' if too far behind to tell). */
  readonly pendingChanges?: string[] | 'all';
  readonly resources: DumpedResource[];
}

export interface ConfigDump extends Omit<ProxyStatus, 'streams' | 'types'> {
  readonly streams: Array<Omit<StreamStatus, 'types'> & { types: DumpedType[] }>;
}

/** The dump of one node over all its streams (optionally one type: CDS or a type URL), or null when no stream of that node is connected. */
export function configDump(node: string, streams: readonly XdsStream[], onlyType?: string): ConfigDump | null {
  if (streams.length === 0) return null;
  const { types: _merged, streams: _listed, ...summary } = proxyStatus(node, streams);
  return {
    ...summary,
    streams: streams.map((s) => {
      const { types: _t, ...info } = streamStatus(s);
      const subs = [...s.subscriptions.values()].filter((sub) => !onlyType || shortTypeName(sub.typeUrl) === onlyType || sub.typeUrl === onlyType);
      return { ...info, types: subs.map((sub) => dumpType(s, sub)) };
    }),
  };
}

function dumpType(stream: XdsStream, sub: SubscriptionBase): DumpedType {
  const status = typeStatus(sub);
  const cache = stream.view?.cache;
  if (!cache?.hasType(sub.typeUrl)) return { ...status, currentVersion: '', resources: [] };
  const currentVersion = cache.version(sub.typeUrl);
  if (stream instanceof DeltaStream) {
    const known = stream.heldVersions(sub as DeltaSubscription);
    const resources = [...known].sort(byFirst).map(([name, sentVersion]) => dumped(name, cache.get(sub.typeUrl, name), sentVersion));
    return { ...status, currentVersion, resources };
  }
  if (sub.nonce === null) return { ...status, currentVersion, resources: [] };
  const names = sub.wildcard ? [...cache.entries(sub.typeUrl).keys()] : [...sub.names];
  const resources = names.sort().flatMap((name) => {
    const entry = cache.get(sub.typeUrl, name);
    return entry ? [dumped(name, entry)] : [];
  });
  const changed = cache.changedSince(sub.typeUrl, sub.sentSeq);
  const pendingChanges = changed === 'all' ? 'all' : [...changed].filter((n) => sub.subscribes(n)).sort();
  return { ...status, currentVersion, pendingChanges, resources };
}

function dumped(name: string, entry: EncodedResource | undefined, sentVersion?: string): DumpedResource {
  return {
    name,
    version: entry?.version ?? '',
    ...(sentVersion !== undefined ? { sentVersion } : {}),
    resource: entry ? decodeAny(entry.anyBytes).object : null,
  };
}

function byFirst(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
