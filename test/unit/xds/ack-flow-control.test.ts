// Flow control (maxAckWaitMs): a push of changes waits for the proxy's answer to the previous
// response of its type, so a slow proxy gets one fuller response instead of a queue of snapshots;
// an ACK (or a NACK) lets the held push go at once, answers to requests never wait, and a proxy that
// never answers is pushed again once the limit has passed. Without the option nothing waits.
import { expect, it } from '@jest/globals';
import { EDS, deltaRequest, edsAssignment, recordingSink, streamWorld } from '../../support/stream-world.js';
import { SotwStream } from '../../../src/xds/sotw-stream.js';
import { DeltaStream } from '../../../src/xds/delta-stream.js';
import type { DiscoveryRequestMessage, OutgoingDiscoveryResponse } from '../../../src/xds/discovery-messages.js';
import type { OutgoingDeltaResponse } from '../../../src/xds/delta-messages.js';
import { encodeDiscoveryResponse } from '../../../src/xds/discovery-messages.js';
import { decodeAny } from '../../../src/xds/resource-encoding.js';
import { messageType } from '../../../src/xds/protos.js';
import { eventually } from '../../support/eventually.js';

const request = (fields: Partial<DiscoveryRequestMessage> = {}): DiscoveryRequestMessage => ({
  version_info: '',
  node: null,
  resource_names: ['a', 'b', 'c'],
  type_url: EDS,
  response_nonce: '',
  error_detail: null,
  ...fields,
});

const info = { id: 1, api: 'ads', peer: 'test', connectedAt: new Date(0) };
/** The cluster names of the assignments a SotW response carries. */
const namesIn = (r: OutgoingDiscoveryResponse): string[] => {
  const decoded = messageType('envoy.service.discovery.v3.DiscoveryResponse').decode(encodeDiscoveryResponse(r)) as unknown as {
    resources: Array<{ type_url: string; value: Uint8Array }>;
  };
  return decoded.resources.map((any) => String(decodeAny(messageType('google.protobuf.Any').encode(any).finish()).object.cluster_name));
};

function sotwWorld(maxAckWaitMs: number) {
  const world = streamWorld();
  const { sink, sent } = recordingSink<OutgoingDiscoveryResponse>();
  const stream = world.track(new SotwStream(info, sink, { ...world.env, maxAckWaitMs }));
  const change = (name: string, weight: number) => world.cache.apply([{ typeUrl: EDS, upserts: [edsAssignment(name, weight)], removals: [] }]);
  stream.onRequest(request());
  return { ...world, stream, sent, change };
}

it('holds a push until the previous response is ACKed, then sends everything that changed meanwhile in one response', () => {
  const { stream, sent, change } = sotwWorld(60_000);
  stream.onRequest(request({ response_nonce: sent[0]!.nonce }));
  change('a', 2);
  expect(sent).toHaveLength(2); // answered: pushed at once
  change('b', 2);
  change('c', 2);
  expect(sent).toHaveLength(2); // the push of a's change is not ACKed yet: b and c wait
  stream.onRequest(request({ response_nonce: sent[1]!.nonce }));
  expect(sent).toHaveLength(3);
  expect(namesIn(sent[2]!).sort()).toEqual(['b', 'c']);
  stream.close();
});

it('a NACK also answers, a stale ACK does not, and a request for new names is answered without waiting', () => {
  const { stream, sent, change } = sotwWorld(60_000);
  stream.onRequest(request({ response_nonce: sent[0]!.nonce }));
  change('a', 2);
  change('b', 2);
  expect(sent).toHaveLength(2);
  // An ACK of the first response is stale: the push of a's change is still unanswered.
  stream.onRequest(request({ response_nonce: sent[0]!.nonce }));
  expect(sent).toHaveLength(2);
  stream.onRequest(request({ response_nonce: sent[1]!.nonce, error_detail: { code: 3, message: 'rejected' } }));
  expect(sent).toHaveLength(3);
  expect(namesIn(sent[2]!)).toEqual(['b']);
  // A request for more names carries the current nonce (SotW ignores others): it is answered at
  // once, and the change after it waits for the answer to that response.
  stream.onRequest(request({ response_nonce: sent[2]!.nonce, resource_names: ['a', 'b', 'c', 'd'] }));
  expect(sent).toHaveLength(4);
  change('c', 3);
  expect(sent).toHaveLength(4);
  stream.onRequest(request({ response_nonce: sent[3]!.nonce, resource_names: ['a', 'b', 'c', 'd'] }));
  expect(sent).toHaveLength(5);
  expect(namesIn(sent[4]!)).toEqual(['c']);
  stream.close();
});

it('pushes again after the limit when the proxy never answers', async () => {
  const { stream, sent, change } = sotwWorld(50);
  stream.onRequest(request({ response_nonce: sent[0]!.nonce }));
  change('a', 2);
  change('b', 2);
  expect(sent).toHaveLength(2);
  await eventually(() => expect(sent).toHaveLength(3));
  expect(namesIn(sent[2]!)).toEqual(['b']);
  stream.close();
});

it('without the option every change is pushed without waiting for an answer', () => {
  const { stream, sent, change } = sotwWorld(0);
  stream.onRequest(request({ response_nonce: sent[0]!.nonce }));
  change('a', 2);
  change('b', 2);
  change('c', 2);
  expect(sent).toHaveLength(4);
});

it('delta streams wait for the answer to their previous response too', () => {
  const world = streamWorld();
  const { sink, sent } = recordingSink<OutgoingDeltaResponse>();
  const stream = world.track(new DeltaStream(info, sink, { ...world.env, maxAckWaitMs: 60_000 }));
  const delta = deltaRequest;
  const change = (name: string, weight: number) => world.cache.apply([{ typeUrl: EDS, upserts: [edsAssignment(name, weight)], removals: [] }]);
  const names = (r: OutgoingDeltaResponse) => r.resources.map((e) => e.name);
  stream.onRequest(delta({ resource_names_subscribe: ['a', 'b', 'c'] }));
  stream.onRequest(delta({ response_nonce: sent[0]!.nonce }));
  change('a', 2);
  change('b', 2);
  change('c', 2);
  expect(sent).toHaveLength(2);
  stream.onRequest(delta({ response_nonce: sent[1]!.nonce }));
  expect(sent).toHaveLength(3);
  expect(names(sent[2]!).sort()).toEqual(['b', 'c']);
  stream.close();
});
