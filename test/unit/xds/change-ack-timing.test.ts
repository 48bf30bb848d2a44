// Change -> ACK timing per stream: a response that carried a change is timed from that change's
// origin to the proxy's ACK; an ACK of a later response also covers earlier ones the proxy got (a
// SotW proxy's ACKs of superseded responses arrive stale); a NACK counts nothing; answers to
// requests that carried no change count nothing.
import { expect, it } from '@jest/globals';
import { EDS, edsAssignment, recordingSink, streamWorld } from '../../support/stream-world.js';
import { SotwStream } from '../../../src/xds/sotw-stream.js';
import type { DiscoveryRequestMessage, OutgoingDiscoveryResponse } from '../../../src/xds/discovery-messages.js';

const request = (fields: Partial<DiscoveryRequestMessage> = {}): DiscoveryRequestMessage => ({
  version_info: '',
  node: null,
  resource_names: ['a', 'b'],
  type_url: EDS,
  response_nonce: '',
  error_detail: null,
  ...fields,
});

it('times each change-carrying response from its change to the ACK that covers it', async () => {
  const { cache, env, track } = streamWorld();
  const { sink, sent } = recordingSink<OutgoingDiscoveryResponse>();
  const stream = track(new SotwStream({ id: 1, api: 'ads', peer: 'test', connectedAt: new Date(0) }, sink, env));
  const histogram = async () =>
    (await env.metrics.changeToAck.get()).values.find(
      (v) => (v as { metricName?: string }).metricName === 'zkxds_change_to_ack_seconds_count' && v.labels.audience === 'sidecar',
    )?.value ?? 0;

  stream.onRequest(request());
  stream.onRequest(request({ response_nonce: sent[0]!.nonce }));
  expect(stream.changeToAck.samples()).toEqual([]); // the first answer carried no change

  // Two changes, one second and half a second old, pushed as two responses; the proxy ACKs only the
  // second (its ACK of the first would be stale).
  const change = (name: string, ageMs: number) =>
    cache.apply([{ typeUrl: EDS, upserts: [edsAssignment(name, ageMs)], removals: [] }], performance.now() - ageMs);
  change('a', 1000);
  change('b', 500);
  expect(sent).toHaveLength(3);
  stream.onRequest(request({ response_nonce: sent[2]!.nonce }));
  const [first, second] = stream.changeToAck.samples();
  expect(stream.changeToAck.samples()).toHaveLength(2);
  expect(first).toBeGreaterThanOrEqual(1000);
  expect(second).toBeGreaterThanOrEqual(500);
  expect(await histogram()).toBe(2);
  // The stale ACK of the first response arrives late: already counted.
  stream.onRequest(request({ response_nonce: sent[1]!.nonce }));
  expect(stream.changeToAck.samples()).toHaveLength(2);

  // A NACKed change counts nothing.
  change('a', 100);
  stream.onRequest(request({ response_nonce: sent[3]!.nonce, error_detail: { code: 3, message: 'no' } }));
  expect(stream.changeToAck.samples()).toHaveLength(2);
  expect(await histogram()).toBe(2);
});

it('a proxy that falls far behind with its ACKs is timed late, never early, in bounded memory', () => {
  const { cache, env, track } = streamWorld();
  const { sink, sent } = recordingSink<OutgoingDiscoveryResponse>();
  const stream = track(new SotwStream({ id: 1, api: 'ads', peer: 'test', connectedAt: new Date(0) }, sink, env));
  stream.onRequest(request());
  stream.onRequest(request({ response_nonce: sent[0]!.nonce }));
  // 100 changes, the oldest 5 s old, each pushed at once; no ACK until the last.
  for (let k = 0; k < 100; k++) cache.apply([{ typeUrl: EDS, upserts: [edsAssignment(k % 2 ? 'a' : 'b', k + 2)], removals: [] }], performance.now() - 5000 + k);
  expect(sent).toHaveLength(101);
  stream.onRequest(request({ response_nonce: sent[100]!.nonce }));
  const samples = stream.changeToAck.samples();
  expect(samples.length).toBeLessThanOrEqual(64);
  expect(samples.length).toBeGreaterThan(0);
  // The merged oldest entry still counts from the oldest change.
  expect(samples[0]).toBeGreaterThanOrEqual(5000);
});
