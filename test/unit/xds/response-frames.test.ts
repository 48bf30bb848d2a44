// Responses framed once: streams that send the same shared body at the same step write the very
// same gRPC frame (one allocation for all of them), a valid DiscoveryResponse with its nonce; a
// stream whose last nonce of the type is not below the frame's gets a frame of its own with a newer
// nonce; and grpc-js (the version in package-lock.json) writes a frame as it is.
import { createRequire } from 'node:module';
import { expect, it } from '@jest/globals';
import { SotwStream } from '../../../src/xds/sotw-stream.js';
import type { DiscoveryRequestMessage, OutgoingDiscoveryResponse } from '../../../src/xds/discovery-messages.js';
import { encodeDiscoveryResponse } from '../../../src/xds/discovery-messages.js';
import { GRPC_FRAME, installPreframedSend } from '../../../src/xds/grpc-preframed.js';
import { frameOf } from '../../../src/xds/response-frames.js';
import { messageType } from '../../../src/xds/protos.js';
import { EDS, edsAssignment, recordingSink, streamWorld } from '../../support/stream-world.js';

const request = (fields: Partial<DiscoveryRequestMessage> = {}): DiscoveryRequestMessage => ({
  version_info: '',
  node: null,
  resource_names: [],
  type_url: EDS,
  response_nonce: '',
  error_detail: null,
  ...fields,
});

const decode = (message: Uint8Array) =>
  messageType('envoy.service.discovery.v3.DiscoveryResponse').decode(message) as unknown as {
    nonce: string;
    version_info: string;
    resources: unknown[];
    control_plane: { identifier: string };
  };

it('gives streams sending the same shared body one frame: prefix, body, nonce and control plane', () => {
  const { cache, env, track } = streamWorld();
  const sinks = [recordingSink<OutgoingDiscoveryResponse>(), recordingSink<OutgoingDiscoveryResponse>()];
  const streams = sinks.map(({ sink }, i) => track(new SotwStream({ id: i, api: 'ads', peer: 'test', connectedAt: new Date(0) }, sink, env)));
  for (const [i, s] of streams.entries()) {
    s.onRequest(request());
    s.onRequest(request({ response_nonce: sinks[i]!.sent[0]!.nonce }));
  }
  cache.apply([{ typeUrl: EDS, upserts: [edsAssignment('a', 7)], removals: [] }]);
  const [first, second] = sinks.map((k) => k.sent[1]!);
  expect(first![GRPC_FRAME]).toBeInstanceOf(Buffer);
  expect(second![GRPC_FRAME]).toBe(first![GRPC_FRAME]);
  expect(second!.nonce).toBe(first!.nonce);
  const frame = first![GRPC_FRAME]!;
  expect(frame[0]).toBe(0);
  expect(frame.readUInt32BE(1)).toBe(frame.length - 5);
  const decoded = decode(frame.subarray(5));
  expect(decoded.nonce).toBe(first!.nonce);
  expect(decoded.version_info).toBe(cache.version(EDS));
  expect(decoded.resources).toHaveLength(1);
  expect(decoded.control_plane.identifier).toBe('zk-xds');
  // The serializer grpc-js falls back to gives the same message without a copy of the body.
  expect(Buffer.from(encodeDiscoveryResponse(first!))).toEqual(frame.subarray(5));
});

it("never reuses a frame whose nonce is not above the stream's last one: a newer frame replaces it", () => {
  const body = new Uint8Array([0x0a, 0x01, 0x76]);
  const shared = frameOf(body, 0);
  expect(frameOf(body, shared.nonce - 1)).toBe(shared);
  const own = frameOf(body, shared.nonce);
  expect(own.nonce).toBeGreaterThan(shared.nonce);
  expect(decode(own.frame.subarray(5)).nonce).toBe(String(own.nonce));
  // The newer frame is the one shared from now on.
  expect(frameOf(body, shared.nonce)).toBe(own);
});

it('keeps nonces counting up within every stream, so ACKs of shared frames are matched in order', () => {
  const { cache, env, track } = streamWorld();
  const { sink, sent } = recordingSink<OutgoingDiscoveryResponse>();
  const stream = track(new SotwStream({ id: 1, api: 'ads', peer: 'test', connectedAt: new Date(0) }, sink, env));
  stream.onRequest(request());
  for (let w = 2; w < 6; w++) {
    stream.onRequest(request({ response_nonce: sent.at(-1)!.nonce }));
    cache.apply([{ typeUrl: EDS, upserts: [edsAssignment('b', w)], removals: [] }]);
  }
  const nonces = sent.map((r) => Number(r.nonce));
  expect(nonces).toEqual([...nonces].sort((x, y) => x - y));
  expect(new Set(nonces).size).toBe(nonces.length);
});

it('grpc-js writes a pre-framed response as it is, and serializes any other message as before', () => {
  expect(installPreframedSend()).toBe(true);
  const require = createRequire(import.meta.url);
  const { BaseServerInterceptingCall } = require('@grpc/grpc-js/build/src/server-interceptors.js') as {
    BaseServerInterceptingCall: { prototype: { serializeMessage(value: unknown): Buffer } };
  };
  const frame = Buffer.from([0, 0, 0, 0, 1, 0x2a]);
  const call = { handler: { serialize: (v: unknown) => Buffer.from(String(v)) } };
  expect(BaseServerInterceptingCall.prototype.serializeMessage.call(call, { [GRPC_FRAME]: frame })).toBe(frame);
  expect([...BaseServerInterceptingCall.prototype.serializeMessage.call(call, 'ab')]).toEqual([0, 0, 0, 0, 2, 0x61, 0x62]);
});
