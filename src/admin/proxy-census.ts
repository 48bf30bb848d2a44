// Connected proxies counted by sync state, and how long the longest-STALE one has been stuck, for
// the zkxds_xds_proxies_by_state and zkxds_xds_stale_proxy_max_seconds metrics (read at scrape time).
//
// "STALE" alone is a poor alarm: under churn every healthy proxy is STALE for the few milliseconds
// between a push and its ACK, so some proxy is nearly always STALE. What matters is a proxy that
// stays behind: the same stream and type, STALE, still acknowledging the same old version. The
// census remembers when it first saw each such (stream, type, acked version) and reports the oldest.
import type { SyncState } from '../xds/type-subscription.js';
import type { StreamSource } from './proxy-status.js';

const REUSE_MS = 500;
const RANK: Record<SyncState, number> = { NACKED: 3, STALE: 2, NOT_SENT: 1, SYNCED: 0 };

export interface ProxyCensusResult {
  /** Distinct node ids by the worst state over all their streams and types. */
  readonly byState: Record<SyncState, number>;
  /** Seconds the longest-stuck STALE (stream, type) has been seen STALE on the same acked version; 0 when none. */
  readonly oldestStaleSeconds: number;
}

export class ProxyCensus {
  /** `${stream}\0${typeUrl}\0${ackedVersion}` -> wall-clock ms when first seen STALE. */
  private staleSince = new Map<string, number>();

  constructor(
    private readonly source: StreamSource,
    private readonly now: () => number = Date.now,
  ) {}

  private last: { at: number; result: ProxyCensusResult } | undefined;

  /**
   * Bound, so it can be handed over as the metrics' source. Two gauges read it per scrape: a result
   * younger than REUSE_MS is reused (a census walks every stream: ~20 ms at 5,000 proxies).
   */
  readonly take = (): ProxyCensusResult => {
    const now = this.now();
    if (this.last && now - this.last.at < REUSE_MS && now >= this.last.at) return this.last.result;
    const worst = new Map<string, SyncState>();
    const stillStale = new Map<string, number>();
    let oldest = 0;
    for (const stream of this.source.connectedStreams()) {
      if (!stream.node) continue;
      let state: SyncState = worst.get(stream.nodeId) ?? 'SYNCED';
      for (const sub of stream.subscriptions.values()) {
        const s = sub.syncState();
        if (RANK[s] > RANK[state]) state = s;
        if (s !== 'STALE') continue;
        const key = `${stream.info.id}\0${sub.typeUrl}\0${sub.ackedVersion}`;
        const since = this.staleSince.get(key) ?? now;
        stillStale.set(key, since);
        oldest = Math.max(oldest, now - since);
      }
      worst.set(stream.nodeId, state);
    }
    this.staleSince = stillStale;
    const byState = { SYNCED: 0, STALE: 0, NACKED: 0, NOT_SENT: 0 };
    for (const s of worst.values()) byState[s]++;
    const result = { byState, oldestStaleSeconds: oldest / 1000 };
    this.last = { at: now, result };
    return result;
  };
}
