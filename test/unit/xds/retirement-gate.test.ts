// Make before break: a resource the publisher retires (no longer referenced) stays in the cache
// until every stream that was sent the change that dropped the reference ACKed it, and while a
// stream still subscribes to it by name; a NACK is no ACK, a closed stream holds nothing, streams
// that never ACK are waited for at most the grace period. Real SotW and delta streams on a real cache.
import { describe, expect, it } from '@jest/globals';
import { ResourceCache } from '../../../src/xds/resource-cache.js';
import { encodeAny, type EncodedResource } from '../../../src/xds/resource-encoding.js';
import { TYPE_URL } from '../../../src/xds/resource-types.js';
import { SharedBodies } from '../../../src/xds/shared-bodies.js';
import { SotwStream } from '../../../src/xds/sotw-stream.js';
import { DeltaStream } from '../../../src/xds/delta-stream.js';
import type { StreamEnvironment } from '../../../src/xds/stream-base.js';
import { StreamAckRetirementGate } from '../../../src/xds/retirement-gate.js';
import type { DeltaDiscoveryRequestMessage, OutgoingDeltaResponse } from '../../../src/xds/delta-messages.js';
import type { OutgoingDiscoveryResponse } from '../../../src/xds/discovery-messages.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { deltaRequest, recordingSink } from '../../support/stream-world.js';
import { eventually } from '../../support/eventually.js';

const CDS = TYPE_URL.cluster;
const RDS = TYPE_URL.route;

function res(typeUrl: string, name: string, version: string): EncodedResource {
  return { name, typeUrl, version, anyBytes: encodeAny(typeUrl, Buffer.from(`${name}@${version}`)), object: { name } };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

/** Route `r` names cluster `a`; flip() makes it name `b` and retires `a`, as the publisher does. */
function world(opts: { graceMs?: number; subscribedMaxMs?: number } = {}) {
  const cache = new ResourceCache([CDS, RDS]);
  cache.apply([
    { typeUrl: CDS, upserts: [res(CDS, 'a', '1')], removals: [] },
    { typeUrl: RDS, upserts: [res(RDS, 'r', 'to-a')], removals: [] },
  ]);
  const bodies = new SharedBodies(cache);
  const metrics = createMetrics({ defaultMetrics: false });
  const streams = new Set<SotwStream | DeltaStream>();
  const env: StreamEnvironment = {
    viewFor: () => ({ name: 'sidecar', kind: 'sidecar', cache, bodies }),
    log: silentLogger(),
    metrics,
    schedule: (s) => s.flush(),
    minPushIntervalMs: 0,
  };
  cache.onChange((changes) => {
    for (const c of changes) for (const s of streams) s.onCacheChange(c.typeUrl, c.changed, c.observedAt);
  });
  const gate = new StreamAckRetirementGate({
    cache,
    streams: () => streams,
    graceMs: opts.graceMs ?? 60_000,
    subscribedMaxMs: opts.subscribedMaxMs ?? 60_000,
    views: ['sidecar'],
    log: silentLogger(),
    metrics,
  });
  let id = 1;

  /** A SotW stream subscribed to CDS (`clusters`; [] = wildcard, as Envoy) and route r; every request rechecks, as XdsServer does. */
  const sotw = (clusters: string[]) => {
    const { sink } = recordingSink<OutgoingDiscoveryResponse>();
    const stream = new SotwStream({ id: id++, api: 'ads', peer: 'test', connectedAt: new Date(0) }, sink, env);
    streams.add(stream);
    const send = (typeUrl: string, names: string[], fields: { nack?: boolean } = {}) => {
      const sub = stream.subscriptions.get(typeUrl);
      stream.onRequest({
        version_info: fields.nack ? '' : (sub?.sentVersion ?? ''),
        node: { id: `sotw-${stream.info.id}` } as never,
        resource_names: names,
        type_url: typeUrl,
        response_nonce: sub?.nonce ?? '',
        error_detail: fields.nack ? { code: 3, message: 'rejected' } : null,
      });
      gate.recheck();
    };
    send(CDS, clusters);
    send(RDS, ['r']);
    send(CDS, clusters);
    send(RDS, ['r']);
    return {
      stream,
      send,
      close: () => {
        stream.close();
        streams.delete(stream);
        gate.recheck();
      },
    };
  };

  /** A wildcard delta stream for CDS and route r (an Envoy sidecar). */
  const delta = () => {
    const { sink, sent } = recordingSink<OutgoingDeltaResponse>();
    const stream = new DeltaStream({ id: id++, api: 'delta-ads', peer: 'test', connectedAt: new Date(0) }, sink, env);
    streams.add(stream);
    const request = (typeUrl: string, fields: Partial<DeltaDiscoveryRequestMessage>) => {
      stream.onRequest(deltaRequest({ type_url: typeUrl, ...fields }));
      gate.recheck();
    };
    const ack = (typeUrl: string) => request(typeUrl, { response_nonce: stream.subscriptions.get(typeUrl)!.nonce! });
    request(CDS, {});
    request(RDS, { resource_names_subscribe: ['r'] });
    ack(CDS);
    ack(RDS);
    return { stream, sent, ack };
  };

  const flip = () =>
    cache.apply([
      { typeUrl: CDS, upserts: [res(CDS, 'b', '1')], removals: [], retirements: ['a'] },
      { typeUrl: RDS, upserts: [res(RDS, 'r', 'to-b')], removals: [] },
    ]);
  const waits = async (outcome: string) =>
    (await metrics.retirementWait.get()).values.find((v) => v.metricName === 'zkxds_xds_retirement_wait_seconds_count' && v.labels.outcome === outcome)
      ?.value ?? 0;
  return { cache, gate, sotw, delta, flip, waits, has: (name: string) => cache.get(CDS, name) !== undefined };
}

describe('retired resources wait for the ACK of the change that dropped them', () => {
  it('SotW: kept, and still sent, until the stream ACKs the new route; then removed', async () => {
    const w = world();
    const envoy = w.sotw([]);
    w.flip();
    await turn();
    expect(w.has('a')).toBe(true);
    expect(w.cache.retiringNames().get(CDS)?.has('a')).toBe(true);
    expect(w.gate.report()).toEqual([expect.objectContaining({ resources: { CDS: ['a'] }, waitingFor: ['sotw-1'] })]);
    envoy.send(CDS, []); // ACK of the CDS push (a and b): not yet the route
    await turn();
    expect(w.has('a')).toBe(true);
    envoy.send(RDS, ['r']); // ACK of the route naming b
    await turn();
    expect(w.has('a')).toBe(false);
    expect(w.has('b')).toBe(true);
    expect(await w.waits('acked')).toBe(1);
    expect(w.gate.report()).toEqual([]);
  });

  it('a NACK is not an ACK: kept until the grace period ends', async () => {
    const w = world({ graceMs: 150 });
    const envoy = w.sotw([]);
    w.flip();
    envoy.send(CDS, []);
    envoy.send(RDS, ['r'], { nack: true });
    await turn();
    expect(w.has('a')).toBe(true);
    await eventually(() => expect(w.has('a')).toBe(false), 10_000);
    expect(await w.waits('grace')).toBe(1);
    expect(await w.waits('acked')).toBe(0);
  });

  it('waits for every concerned stream; a stream that closes releases its hold', async () => {
    const w = world();
    const one = w.sotw([]);
    const two = w.sotw([]);
    w.flip();
    one.send(CDS, []);
    one.send(RDS, ['r']);
    await turn();
    expect(w.has('a')).toBe(true);
    two.close();
    await turn();
    expect(w.has('a')).toBe(false);
  });

  it('a stream that connects after the change holds nothing', async () => {
    const w = world();
    const old = w.sotw([]);
    w.flip();
    w.sotw([]); // never ACKs anything after its first answers
    old.send(CDS, []);
    old.send(RDS, ['r']);
    await turn();
    expect(w.has('a')).toBe(false);
  });

  it('with no stream concerned, removed on the next turn (after the new references went out)', async () => {
    const w = world();
    w.flip();
    expect(w.has('a')).toBe(true);
    await turn();
    expect(w.has('a')).toBe(false);
    expect(await w.waits('unheld')).toBe(1);
  });

  it('upserted again while retiring (a split flipped back): stays, no longer retiring', async () => {
    const w = world();
    const envoy = w.sotw([]);
    w.flip();
    w.cache.apply([
      { typeUrl: CDS, upserts: [res(CDS, 'a', '1')], removals: [], retirements: ['b'] },
      { typeUrl: RDS, upserts: [res(RDS, 'r', 'to-a')], removals: [] },
    ]);
    envoy.send(CDS, []);
    envoy.send(RDS, ['r']);
    await turn();
    await turn();
    expect(w.has('a')).toBe(true);
    expect(w.has('b')).toBe(false);
  });

  it('delta: the removal (removed_resources) goes out only after the ACK of the new route', async () => {
    const w = world();
    const envoy = w.delta();
    w.flip();
    await turn();
    expect(envoy.sent.flatMap((r) => r.removed)).toEqual([]);
    envoy.ack(CDS);
    await turn();
    expect(w.has('a')).toBe(true);
    envoy.ack(RDS);
    await turn();
    expect(w.has('a')).toBe(false);
    expect(envoy.sent[envoy.sent.length - 1]!.removed).toEqual(['a']);
  });

  it('a stream naming the retired cluster (gRPC C-core keeps its watch) keeps it until it unsubscribes', async () => {
    const w = world();
    const core = w.sotw(['a']);
    w.flip();
    core.send(RDS, ['r']); // ACKs the route naming b, subscribes to b too, still names a
    core.send(CDS, ['a', 'b']);
    await turn();
    expect(w.gate.report()).toEqual([expect.objectContaining({ waitingFor: ['sotw-1'], subscribedBy: [] })]);
    core.send(CDS, ['a', 'b']); // ACK of the CDS answer (b): every reference is ACKed
    await turn();
    expect(w.has('a')).toBe(true);
    expect(w.gate.report()).toEqual([expect.objectContaining({ waitingFor: [], subscribedBy: ['sotw-1'] })]);
    core.send(CDS, ['b']); // unsubscribes
    await turn();
    expect(w.has('a')).toBe(false);
  });

  it('a stream naming it forever holds it at most subscribedMaxMs', async () => {
    const w = world({ subscribedMaxMs: 150 });
    const core = w.sotw(['a']);
    w.flip();
    core.send(RDS, ['r']);
    await turn();
    expect(w.has('a')).toBe(true);
    await eventually(() => expect(w.has('a')).toBe(false), 10_000);
  });
});
