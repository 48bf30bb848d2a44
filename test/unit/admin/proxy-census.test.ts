import { describe, expect, it } from '@jest/globals';
import { ProxyCensus } from '../../../src/admin/proxy-census.js';
import type { StreamSource } from '../../../src/admin/proxy-status.js';
import type { XdsStream } from '../../../src/xds/xds-server.js';
import type { SyncState } from '../../../src/xds/type-subscription.js';

interface FakeSub {
  typeUrl: string;
  ackedVersion: string;
  state: SyncState;
  syncState(): SyncState;
}
const sub = (typeUrl: string, state: SyncState, ackedVersion = 'v1'): FakeSub => ({
  typeUrl,
  ackedVersion,
  state,
  syncState() {
    return this.state;
  },
});
const stream = (id: number, nodeId: string, subs: FakeSub[]) =>
  ({ node: { id: nodeId }, nodeId, info: { id }, subscriptions: new Map(subs.map((s) => [s.typeUrl, s])) }) as unknown as XdsStream;

describe('ProxyCensus', () => {
  it('counts each node once, by its worst state over all streams and types', () => {
    const streams = [
      stream(1, 'a', [sub('CDS', 'SYNCED'), sub('EDS', 'NACKED')]),
      stream(2, 'a', [sub('LDS', 'STALE')]),
      stream(3, 'b', [sub('CDS', 'STALE')]),
      stream(4, 'c', [sub('CDS', 'SYNCED')]),
      stream(5, 'd', [sub('CDS', 'NOT_SENT'), sub('EDS', 'SYNCED')]),
      { node: null, nodeId: '', info: { id: 6 }, subscriptions: new Map() } as unknown as XdsStream,
    ];
    const census = new ProxyCensus({ connectedStreams: () => streams });
    expect(census.take().byState).toEqual({ NACKED: 1, STALE: 1, SYNCED: 1, NOT_SENT: 1 });
  });

  it('measures STALE from when a stream was first seen behind on one acknowledged version; moving on resets it', () => {
    let now = 0;
    const cds = sub('CDS', 'STALE', 'v1');
    const source: StreamSource = { connectedStreams: () => [stream(1, 'a', [cds])] };
    const census = new ProxyCensus(source, () => now);
    expect(census.take().oldestStaleSeconds).toBe(0);
    now = 30_000;
    expect(census.take().oldestStaleSeconds).toBe(30);
    // It ACKed v2 and is STALE again on the next push: healthy churn, not a stuck proxy.
    cds.ackedVersion = 'v2';
    now = 31_000;
    expect(census.take().oldestStaleSeconds).toBe(0);
    cds.state = 'SYNCED';
    now = 90_000;
    expect(census.take()).toEqual({ byState: { SYNCED: 1, STALE: 0, NACKED: 0, NOT_SENT: 0 }, oldestStaleSeconds: 0 });
  });

  it('reuses a census younger than half a second (two gauges read it per scrape)', () => {
    let now = 1000;
    const cds = sub('CDS', 'SYNCED');
    const census = new ProxyCensus({ connectedStreams: () => [stream(1, 'a', [cds])] }, () => now);
    expect(census.take().byState.SYNCED).toBe(1);
    cds.state = 'NACKED';
    now = 1400;
    expect(census.take().byState.NACKED).toBe(0);
    now = 1500;
    expect(census.take().byState.NACKED).toBe(1);
  });
});
