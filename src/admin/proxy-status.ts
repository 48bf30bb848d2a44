// What every connected proxy was sent and whether it accepted it, built on demand from the live
// streams (the same answer as `istioctl proxy-status`): /debug/proxies and `zk-xds status`.
// Nothing is copied or kept: each request walks the streams' own subscription records.
import type { XdsStream } from '../xds/xds-server.js';
import type { SubscriptionBase, SyncState } from '../xds/type-subscription.js';
import { DeltaStream } from '../xds/delta-stream.js';
import { shortTypeName } from '../xds/resource-types.js';
import type { ProxyKind } from '../xds/proxy-kind.js';
import { summarize, type LatencySummary } from '../xds/latency-window.js';

/** The streams the pages read (XdsServer satisfies it). */
export interface StreamSource {
  connectedStreams(): XdsStream[];
}

export type Protocol = 'sotw' | 'delta';

export interface TypeStatus {
  /** CDS, EDS, LDS, RDS (or the type URL of a type zk-xds does not serve). */
  readonly type: string;
  readonly typeUrl: string;
  /** Version of the last response sent on this type ('' before the first). */
  readonly sent: string;
  /** Version the proxy last ACKed ('' when none). */
  readonly acked: string;
  readonly state: SyncState;
  readonly lastNack: { readonly version: string; readonly message: string; readonly at: string } | null;
  /** '*' for a wildcard subscription, else the number of names subscribed. */
  readonly subscribed: '*' | number;
}

export interface StreamStatus {
  readonly stream: number;
  /** gRPC service the stream came in on: ads, delta-ads, cds, ... */
  readonly api: string;
  readonly protocol: Protocol;
  readonly peer: string;
  readonly connectedSince: string;
  readonly types: TypeStatus[];
  /** Over this stream's last responses that carried a change: from the change's origin to the ACK. */
  readonly changeToAck: LatencySummary | null;
}

export interface ProxyStatus {
  readonly node: string;
  readonly cluster: string;
  readonly userAgent: string;
  readonly kind: ProxyKind | 'unknown';
  /** The resource view it is served: its kind, or a client profile's view (e.g. `grpc-core-1.51`). */
  readonly view: string;
  /** The protocols of its streams, e.g. 'sotw', or 'delta,sotw' for a mix. */
  readonly protocol: string;
  /** When its oldest open stream connected. */
  readonly connectedSince: string;
  /** One entry per type over all its streams: where one type is carried twice, the worse state wins. */
  readonly types: Readonly<Record<string, TypeStatus>>;
  /**
   * From a change's origin (its znode's mtime, or its watch event) to this proxy's ACK of the
   * response carrying it: p50/p99 over its streams' last responses that carried a change.
   */
  readonly changeToAck: LatencySummary | null;
  readonly streams: StreamStatus[];
}

const STATE_RANK: Record<SyncState, number> = { NACKED: 3, STALE: 2, NOT_SENT: 1, SYNCED: 0 };

export function typeStatus(sub: SubscriptionBase): TypeStatus {
  const nack = sub.lastNack;
  return {
    type: shortTypeName(sub.typeUrl),
    typeUrl: sub.typeUrl,
    sent: sub.sentVersion,
    acked: sub.ackedVersion,
    state: sub.syncState(),
    lastNack: nack ? { version: nack.version, message: nack.message, at: nack.at.toISOString() } : null,
    subscribed: sub.wildcard ? '*' : sub.names.size,
  };
}

export function protocolOf(stream: XdsStream): Protocol {
  return stream instanceof DeltaStream ? 'delta' : 'sotw';
}

export function streamStatus(stream: XdsStream): StreamStatus {
  return {
    stream: stream.info.id,
    api: stream.info.api,
    protocol: protocolOf(stream),
    peer: stream.info.peer,
    connectedSince: stream.info.connectedAt.toISOString(),
    types: [...stream.subscriptions.values()].map(typeStatus),
    changeToAck: summarize(stream.changeToAck.samples()),
  };
}

/** Streams grouped by node id; streams that have not sent a node yet are left out. */
export function streamsByNode(source: StreamSource): Map<string, XdsStream[]> {
  const byNode = new Map<string, XdsStream[]>();
  for (const s of source.connectedStreams()) {
    if (!s.node) continue;
    const list = byNode.get(s.nodeId) ?? [];
    list.push(s);
    byNode.set(s.nodeId, list);
  }
  return byNode;
}

export function proxyStatus(node: string, streams: readonly XdsStream[]): ProxyStatus {
  const ordered = [...streams].sort((a, b) => a.info.connectedAt.getTime() - b.info.connectedAt.getTime() || a.info.id - b.info.id);
  const first = ordered[0]!;
  const types: Record<string, TypeStatus> = {};
  const statuses = ordered.map(streamStatus);
  for (const st of statuses) {
    for (const t of st.types) {
      const had = types[t.type];
      if (!had || STATE_RANK[t.state] > STATE_RANK[had.state]) types[t.type] = t;
    }
  }
  const ua = first.node?.user_agent_name ?? '';
  const uaVersion = first.node?.user_agent_version ?? '';
  return {
    node,
    cluster: first.node?.cluster ?? '',
    userAgent: uaVersion ? `${ua} ${uaVersion}` : ua,
    kind: first.view?.kind ?? 'unknown',
    view: first.view?.name ?? 'unknown',
    protocol: [...new Set(statuses.map((s) => s.protocol))].sort().join(','),
    connectedSince: first.info.connectedAt.toISOString(),
    types,
    changeToAck: summarize(ordered.flatMap((s) => s.changeToAck.samples())),
    streams: statuses,
  };
}

/** Every connected proxy, sorted by node id. */
export function allProxies(source: StreamSource): ProxyStatus[] {
  return [...streamsByNode(source)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([node, streams]) => proxyStatus(node, streams));
}

/** Distinct connected node ids per proxy kind (the connected-proxies metric). */
export function countProxiesByKind(source: StreamSource): Record<ProxyKind, number> {
  const seen: Record<ProxyKind, Set<string>> = { proxyless: new Set(), sidecar: new Set() };
  for (const s of source.connectedStreams()) if (s.node && s.view) seen[s.view.kind].add(s.nodeId);
  return { proxyless: seen.proxyless.size, sidecar: seen.sidecar.size };
}
