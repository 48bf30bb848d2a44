// SotW streams that ask for the same names share one name set and one encoded body per cache step;
// the shared body is byte for byte what a stream with its own set builds.
import { describe, expect, it } from '@jest/globals';
import protobuf from 'protobufjs';
import { SotwStream } from '../../../src/xds/sotw-stream.js';
import { ResourceCache } from '../../../src/xds/resource-cache.js';
import { SharedBodies } from '../../../src/xds/shared-bodies.js';
import { encodeResource } from '../../../src/xds/resource-encoding.js';
import { RESOURCE_KINDS, TYPE_URL } from '../../../src/xds/resource-types.js';
import type { DiscoveryRequestMessage, OutgoingDiscoveryResponse } from '../../../src/xds/discovery-messages.js';
import type { StreamEnvironment } from '../../../src/xds/stream-base.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { silentLogger } from '../../../src/observability/logger.js';

const eds = TYPE_URL.endpoint;
const assignment = (name: string, weight: number) =>
  encodeResource(eds, name, {
    cluster_name: name,
    endpoints: [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } }, load_balancing_weight: { value: weight } }] }],
  });

function setup() {
  const cache = new ResourceCache(RESOURCE_KINDS.map((k) => TYPE_URL[k]));
  cache.apply([{ typeUrl: eds, upserts: ['a', 'b', 'c', 'd'].map((n) => assignment(n, 1)), removals: [] }]);
  const bodies = new SharedBodies(cache);
  const env: StreamEnvironment = {
    viewFor: () => ({ kind: 'sidecar', cache, bodies }),
    log: silentLogger(),
    metrics: createMetrics({ defaultMetrics: false }),
    schedule: (s) => s.flush(),
    minPushIntervalMs: 0,
  };
  let id = 1;
  const streams: SotwStream[] = [];
  // What XdsServer does: every change goes to every stream.
  cache.onChange((changes) => {
    for (const c of changes) for (const s of streams) s.onCacheChange(c.typeUrl, c.changed, c.observedAt);
  });
  const open = () => {
    const sent: OutgoingDiscoveryResponse[] = [];
    // A transport that can push back once (write returns false) until drain() is called.
    const control = { pushBack: false, drain: () => {} };
    const sink = {
      write: (r: OutgoingDiscoveryResponse) => (sent.push(r), !control.pushBack),
      once: (_event: 'drain', listener: () => void) => {
        control.drain = () => {
          control.pushBack = false;
          listener();
        };
      },
    };
    const stream = new SotwStream({ id: id++, api: 'ads', peer: 'test', connectedAt: new Date(0) }, sink, env);
    streams.push(stream);
    return { stream, sent, control };
  };
  return { cache, open };
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
    const { cache, open } = setup();
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
    cache.apply([{ typeUrl: eds, upserts: [assignment('c', 2), assignment('b', 2)], removals: [] }]);
    for (const s of [x, y, own]) expect(s.sent).toHaveLength(2);
    expect(y.sent[1]!.body).toBe(x.sent[1]!.body);
    expect(Buffer.from(own.sent[1]!.body)).toEqual(Buffer.from(x.sent[1]!.body));
    expect(x.sent[1]!.nonce).not.toBe('');
  });

  it('streams that fell behind get what changed since their own step; those at the same step share it', () => {
    const { cache, open } = setup();
    const [x, z, y, own] = [open(), open(), open(), open()];
    for (const s of [x, z, y]) s.stream.onRequest(request(names, true));
    own.stream.onRequest(request(names, false));
    for (const s of [x, z, y]) ackLast(s, names, true);
    ackLast(own, names, false);
    // x, z and the private stream push back on the next response: they miss the two after it.
    for (const s of [x, z, own]) s.control.pushBack = true;
    cache.apply([{ typeUrl: eds, upserts: [assignment('a', 3)], removals: [] }]);
    cache.apply([{ typeUrl: eds, upserts: [assignment('d', 3)], removals: [] }]);
    cache.apply([{ typeUrl: eds, upserts: [assignment('c', 3)], removals: [] }]);
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
