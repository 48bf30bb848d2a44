// Until the composition root says the resources are complete (the first full read of ZooKeeper),
// the xDS server holds every request, whatever the protocol: no empty answer a client would take for
// "everything is gone". Opening the gate answers every held request at once with the full state.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import { WarmGate } from '../../src/xds/warm-gate.js';
import { startHarness, type Harness } from '../support/xds-harness.js';
import { AdsClient } from '../support/ads-client.js';
import { DeltaClient } from '../support/delta-client.js';
import { IstiodLikeClient } from '../support/istiod-client.js';
import { service } from '../support/catalog-fixtures.js';

const QUIET_MS = 400;

describe('xDS answers held until the resources are complete', () => {
  let h: Harness;
  let gate: WarmGate;
  const closers: Array<{ close(): void }> = [];

  beforeEach(async () => {
    gate = new WarmGate();
    h = await startHarness([], { gate });
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) c.close();
    await h.server.shutdown(500);
  });

  it('answers no SotW, delta or MCP request before the gate opens, and every one with the full state after', async () => {
    const envoy = new AdsClient(h.address);
    const reconnecting = new AdsClient(h.address);
    const delta = new DeltaClient(h.address);
    const istiod = new IstiodLikeClient(h.address);
    closers.push(envoy, reconnecting, delta, istiod);
    envoy.send({ typeUrl: TYPE_URL.cluster, node: { id: 'envoy-1', userAgent: 'envoy' } });
    envoy.send({ typeUrl: TYPE_URL.listener });
    // A client back from another replica, holding a version and asking for named endpoints.
    reconnecting.send({ typeUrl: TYPE_URL.endpoint, names: ['a', 'b'], versionInfo: 'held-elsewhere', node: { id: 'grpc-1' } });
    delta.send({ typeUrl: TYPE_URL.cluster, subscribe: ['*'], initialVersions: { a: 'old' }, node: { id: 'delta-1' } });
    istiod.subscribe();

    const quiet = await Promise.all([envoy, reconnecting, delta, istiod.ads].map((c) => c.quietFor(QUIET_MS)));
    expect(quiet.map((q) => q.length)).toEqual([0, 0, 0, 0]);

    // Resources arrive (the first read is being applied): still held.
    h.publish(service('a', 2), service('b', 3));
    const stillQuiet = await Promise.all([envoy, reconnecting, delta, istiod.ads].map((c) => c.quietFor(QUIET_MS)));
    expect(stillQuiet.map((q) => q.length)).toEqual([0, 0, 0, 0]);

    gate.open();
    const cds = await envoy.next(TYPE_URL.cluster);
    expect(cds.resources.map((r) => r.name).sort()).toEqual(['a', 'b']);
    expect((await envoy.next(TYPE_URL.listener)).resources.length).toBeGreaterThan(0);
    const eds = await reconnecting.next(TYPE_URL.endpoint);
    expect(eds.resources.map((r) => r.name).sort()).toEqual(['a', 'b']);
    const d = await delta.next(TYPE_URL.cluster);
    expect(d.resources.map((r) => r.name).sort()).toEqual(['a', 'b']);
    expect(d.removed).toEqual([]);
    for (const typeUrl of istiod.types) await istiod.ads.next(typeUrl, 3000, 0);
    expect(new Set(istiod.ads.responses.map((r) => r.typeUrl)).size).toBe(istiod.types.length);
    // One answer per request: nothing was queued twice while held.
    expect(envoy.responses.filter((r) => r.typeUrl === TYPE_URL.cluster)).toHaveLength(1);
  });

  it('answers streams opened after the gate opened at once, and changes flow as usual', async () => {
    gate.open();
    h.publish(service('a', 1));
    const c = new AdsClient(h.address);
    closers.push(c);
    c.send({ typeUrl: TYPE_URL.cluster, node: { id: 'later' } });
    const r = await c.next(TYPE_URL.cluster);
    expect(r.resources.map((x) => x.name)).toEqual(['a']);
    c.ack(r);
    h.publish(service('b', 1));
    expect((await c.next(TYPE_URL.cluster)).resources.map((x) => x.name).sort()).toEqual(['a', 'b']);
  });
});
