// SotW streams that ask for the same names share one name set and one encoded body per cache step;
// the shared body is byte for byte what a stream with its own set builds.
import { describe, expect, it } from '@jest/globals';
import { EDS, recordingSink, streamWorld } from '../../support/stream-world.js';
import protobuf from 'protobufjs';
import { SotwStream } from '../../../src/xds/sotw-stream.js';
import type { DiscoveryRequestMessage, OutgoingDiscoveryResponse } from '../../../src/xds/discovery-messages.js';

const eds = EDS;

function setup() {
  const { cache, env, set, track } = streamWorld();
  let id = 1;
  const open = () => {
    const { sink, sent, control } = recordingSink<OutgoingDiscoveryResponse>();
    const stream = track(new SotwStream({ id: id++, api: 'ads', peer: 'test', connectedAt: new Date(0) }, sink, env));
    return { stream, sent, control };
  };
  return { cache, open, set };
}

const encodedNames = (names: readonly string[]): Uint8Array => {
  const w = protobuf.Writer.create();
  for (const n of names) w.uint32(0x1a).string(n);
  return w.finish();
};

/** A request as the SotW decoder delivers it (with encoded names), or as code builds it (without). */
function request(names: string[], encoded: boolean, fields: Partial<DiscoveryRequestMessage> = {}): DiscoveryRequestMessage {
  return {
    version_info: '',
    node: null,
    resource_names: names,
    ...(encoded ? { resource_names_bytes: encodedNames(names) } : {}),
    type_url: eds,
    response_nonce: '',
    error_detail: null,
    ...fields,
  };
}

const ackLast = (s: { stream: SotwStream; sent: OutgoingDiscoveryResponse[] }, names: string[], encoded: boolean) =>
  s.stream.onRequest(request(names, encoded, { response_nonce: s.sent[s.sent.length - 1]!.nonce }));

describe('SotW bodies shared between streams with the same names', () => {
  const names = ['a', 'c', 'd'];

  it('the first answer and each change: one body instance for the sharing streams, equal bytes to a private one', () => {
    const { open, set } = setup();
    const [x, y, own] = [open(), open(), open()];
    x.stream.onRequest(request(names, true));
    y.stream.onRequest(request(names, true));
    own.stream.onRequest(request(names, false));
    expect(y.sent[0]!.body).toBe(x.sent[0]!.body);
    expect(own.sent[0]!.body).not.toBe(x.sent[0]!.body);
    expect(Buffer.from(own.sent[0]!.body)).toEqual(Buffer.from(x.sent[0]!.body));
    expect(x.stream.subscriptions.get(eds)!.names).toBe(y.stream.subscriptions.get(eds)!.names);

    for (const s of [x, y]) ackLast(s, names, true);
    ackLast(own, names, false);
    set({ c: 2, b: 2 });
    for (const s of [x, y, own]) expect(s.sent).toHaveLength(2);
    expect(y.sent[1]!.body).toBe(x.sent[1]!.body);
    expect(Buffer.from(own.sent[1]!.body)).toEqual(Buffer.from(x.sent[1]!.body));
    expect(x.sent[1]!.nonce).not.toBe('');
  });

  it('streams that fell behind get what changed since their own step; those at the same step share it', () => {
    const { open, set } = setup();
    const [x, z, y, own] = [open(), open(), open(), open()];
    for (const s of [x, z, y]) s.stream.onRequest(request(names, true));
    own.stream.onRequest(request(names, false));
    for (const s of [x, z, y]) ackLast(s, names, true);
    ackLast(own, names, false);
    // x, z and the private stream push back on the next response: they miss the two after it.
    for (const s of [x, z, own]) s.control.pushBack = true;
    set({ a: 3 });
    set({ d: 3 });
    set({ c: 3 });
    expect(y.sent).toHaveLength(4);
    for (const s of [x, z, own]) {
      expect(s.sent).toHaveLength(2);
      s.control.drain();
      expect(s.sent).toHaveLength(3);
    }
    expect(decodeResponse(x.sent[2]!.body).resources).toHaveLength(2);
    expect(z.sent[2]!.body).toBe(x.sent[2]!.body);
    expect(Buffer.from(own.sent[2]!.body)).toEqual(Buffer.from(x.sent[2]!.body));
    expect(decodeResponse(y.sent[3]!.body).resources).toHaveLength(1);
  });

  it('names owed on top of the changes (a grown subscription) are answered with a body of its own', () => {
    const { open } = setup();
    const [x, y] = [open(), open()];
    for (const s of [x, y]) s.stream.onRequest(request(names, true));
    for (const s of [x, y]) ackLast(s, names, true);
    ackLast(x, [...names, 'b'], true);
    expect(x.sent).toHaveLength(2);
    expect(y.sent).toHaveLength(1);
    const { resources } = decodeResponse(x.sent[1]!.body);
    expect(resources).toHaveLength(1);
  });
});

function decodeResponse(body: Uint8Array): { resources: unknown[] } {
  const type = protobuf.Root.fromJSON({ nested: { R: { fields: { resources: { rule: 'repeated', type: 'bytes', id: 2 } } } } }).lookupType('R');
  return type.toObject(type.decode(body), { arrays: true }) as { resources: unknown[] };
}
