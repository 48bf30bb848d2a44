// The SotW request decoder: every field as proto-loader reads it, and resource_names kept as
// bytes that equal each other exactly when the names (in order) do.
import { describe, expect, it } from '@jest/globals';
import type { DiscoveryRequestMessage } from '../../../src/xds/discovery-messages.js';
import { discoveryServiceDefinition, SERVICE_NAMES } from '../../../src/xds/discovery-services.js';
import { messageType } from '../../../src/xds/protos.js';
import { decodeNames } from '../../../src/xds/request-decoding.js';
import { TYPE_URL } from '../../../src/xds/resource-types.js';

interface RequestFields {
  version_info?: string;
  node?: { id: string; cluster: string; user_agent_name: string };
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: { code: number; message: string };
}

const requestType = messageType('envoy.service.discovery.v3.DiscoveryRequest');
const encode = (fields: RequestFields): Buffer => Buffer.from(requestType.encode(requestType.fromObject(fields)).finish());

/** The deserializer grpc-js runs for ADS SotW requests. */
const adsDeserialize = (() => {
  const method = discoveryServiceDefinition(SERVICE_NAMES.ads).StreamAggregatedResources!;
  return (bytes: Buffer) => method.requestDeserialize(bytes) as DiscoveryRequestMessage;
})();

const plain = (r: DiscoveryRequestMessage) => ({
  version_info: r.version_info,
  node_id: r.node?.id ?? null,
  resource_names: [...r.resource_names],
  type_url: r.type_url,
  response_nonce: r.response_nonce,
  error_detail: r.error_detail ? { code: r.error_detail.code, message: r.error_detail.message } : null,
});

const eds = TYPE_URL.endpoint;
const many = Array.from({ length: 1000 }, (_, i) => `outbound|8080||svc-${String(i).padStart(5, '0')}.zk`);

describe('SotW request decoding', () => {
  it.each<[string, RequestFields]>([
    ['an empty request', {}],
    ['a wildcard first request with a node', { type_url: TYPE_URL.cluster, node: { id: 'n1', cluster: 'c', user_agent_name: 'envoy' } }],
    ['an ACK with names', { version_info: 'v1', resource_names: ['a', 'b'], type_url: eds, response_nonce: '7' }],
    ['an ACK of 1,000 names', { version_info: 'AbC_-', resource_names: many, type_url: eds, response_nonce: '123456' }],
    ['non-ASCII names and nonce', { version_info: 'vé', resource_names: ['ünï', '名前', ''], type_url: eds, response_nonce: 'nø' }],
    ['a NACK', { version_info: 'v1', resource_names: ['a'], type_url: eds, response_nonce: '8', error_detail: { code: 3, message: 'bad endpoint' } }],
    ['"*" among names', { resource_names: ['*', 'a'], type_url: TYPE_URL.listener }],
  ])('%s: every field as protobufjs decodes it', (_title, fields) => {
    const bytes = encode(fields);
    const expected = requestType.toObject(requestType.decode(bytes), { defaults: true, arrays: true }) as unknown as DiscoveryRequestMessage;
    expect(plain(adsDeserialize(bytes))).toEqual(plain({ ...expected, node: expected.node ?? null, error_detail: expected.error_detail ?? null }));
  });

  it('keeps the names as bytes on the fast path (an ACK) and on the full path (node, error_detail)', () => {
    const names = ['a', 'b', 'c'];
    const ack = adsDeserialize(encode({ resource_names: names, type_url: eds, response_nonce: '1' }));
    const first = adsDeserialize(encode({ resource_names: names, type_url: eds, node: { id: 'n', cluster: 'c', user_agent_name: 'envoy' } }));
    const nack = adsDeserialize(encode({ resource_names: names, type_url: eds, response_nonce: '2', error_detail: { code: 3, message: 'x' } }));
    for (const r of [ack, first, nack]) {
      expect(r.resource_names_bytes).toBeDefined();
      expect(decodeNames(r.resource_names_bytes!)).toEqual(names);
    }
    expect(Buffer.from(ack.resource_names_bytes!)).toEqual(Buffer.from(first.resource_names_bytes!));
    expect(first.node?.id).toBe('n');
    expect(nack.error_detail?.message).toBe('x');
  });

  it('equal names give equal bytes whatever else differs; other names or another order do not', () => {
    const bytesOf = (fields: RequestFields) => Buffer.from(adsDeserialize(encode(fields)).resource_names_bytes!);
    const base = bytesOf({ version_info: 'v1', resource_names: many, type_url: eds, response_nonce: '1' });
    const sameAsBase = (fields: RequestFields) => bytesOf(fields).equals(base);
    expect(sameAsBase({ version_info: 'v2', resource_names: many, type_url: eds, response_nonce: '99' })).toBe(true);
    expect(sameAsBase({ resource_names: [...many.slice(0, 999), 'other'], type_url: eds })).toBe(false);
    expect(sameAsBase({ resource_names: [...many].reverse(), type_url: eds })).toBe(false);
    expect(bytesOf({ type_url: eds })).toHaveLength(0);
  });

  it('joins resource_names fields that other fields interrupt', () => {
    // Writers put repeated fields together, but the wire format allows them anywhere.
    const w = (field: number, s: string) => {
      const v = Buffer.from(s);
      return Buffer.concat([Buffer.from([(field << 3) | 2, v.length]), v]);
    };
    const bytes = Buffer.concat([w(3, 'a'), w(4, eds), w(3, 'b'), w(5, '3')]);
    const r = adsDeserialize(bytes);
    expect([...r.resource_names]).toEqual(['a', 'b']);
    expect(r.type_url).toBe(eds);
    expect(r.response_nonce).toBe('3');
    expect(Buffer.from(r.resource_names_bytes!)).toEqual(Buffer.from(adsDeserialize(encode({ resource_names: ['a', 'b'] })).resource_names_bytes!));
  });

  it('a request repeating a recent long run of names, or extending it, or cutting it short, decodes to its own names', () => {
    const run = many.slice(0, 500);
    const namesOf = (names: string[], extra: RequestFields = {}) => {
      const r = adsDeserialize(encode({ resource_names: names, type_url: eds, response_nonce: '1', ...extra }));
      return { names: [...r.resource_names], bytes: decodeNames(r.resource_names_bytes!) };
    };
    // The first request is walked field by field and remembered; the others start with the same bytes.
    for (const names of [run, run, [...run, 'one-more'], run.slice(0, 499), [...run.slice(0, 499), 'x'], run]) {
      const got = namesOf(names, { node: names.length === 499 ? { id: 'n', cluster: 'c', user_agent_name: 'envoy' } : undefined });
      expect(got.names).toEqual(names);
      expect(got.bytes).toEqual(names);
    }
    // The remembered run followed by other fields, then more names.
    const w = (field: number, v: string) =>
      Buffer.from(requestType.encode(requestType.fromObject(field === 3 ? { resource_names: [v] } : { type_url: v })).finish());
    const runBytes = encode({ resource_names: run });
    const r = adsDeserialize(Buffer.concat([runBytes, w(4, eds), w(3, 'tail')]));
    expect([...r.resource_names]).toEqual([...run, 'tail']);
    expect(r.type_url).toBe(eds);
  });

  it('every SotW service decodes requests this way', () => {
    for (const name of Object.values(SERVICE_NAMES)) {
      const [, method] = Object.entries(discoveryServiceDefinition(name)).find(([m, d]) => d.requestStream && d.responseStream && !m.startsWith('Delta'))!;
      const r = method.requestDeserialize(encode({ resource_names: ['x'], type_url: eds })) as DiscoveryRequestMessage;
      expect(r.resource_names_bytes).toBeDefined();
      expect([...r.resource_names]).toEqual(['x']);
    }
  });

  it('a truncated request is an error, not a partial request', () => {
    const bytes = encode({ resource_names: ['abcdef'], type_url: eds });
    expect(() => adsDeserialize(bytes.subarray(0, bytes.length - 3))).toThrow();
  });
});
