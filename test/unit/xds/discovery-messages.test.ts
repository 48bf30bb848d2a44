import { describe, expect, it } from '@jest/globals';
import { encodeDiscoveryResponse, encodeResponseBody } from '../../../src/xds/discovery-messages.js';
import { discoveryServiceDefinition, SERVICE_NAMES } from '../../../src/xds/discovery-services.js';
import { messageType } from '../../../src/xds/protos.js';
import { ResourceCache } from '../../../src/xds/resource-cache.js';
import { decodeAny, encodeAny, encodeResource, type EncodedResource } from '../../../src/xds/resource-encoding.js';
import { TYPE_URL } from '../../../src/xds/resource-types.js';
import { SharedBodies } from '../../../src/xds/shared-bodies.js';
import { resourcesForService } from '../../../src/translate/service-resources.js';
import { service } from '../../support/catalog-fixtures.js';

interface DecodedAny {
  type_url: string;
  value: Uint8Array;
}

interface DecodedDiscoveryResponse {
  version_info: string;
  resources: DecodedAny[];
  type_url: string;
  nonce: string;
  control_plane: { identifier: string } | null;
}

function decodeResponse(bytes: Uint8Array): DecodedDiscoveryResponse {
  const type = messageType('envoy.service.discovery.v3.DiscoveryResponse');
  const object = type.toObject(type.decode(bytes), { defaults: true, arrays: true, longs: String, enums: String });
  return object as unknown as DecodedDiscoveryResponse;
}

/** The Any bytes of a decoded resource, re-serialized the way encodeResource writes them. */
const reencoded = (any: DecodedAny): Uint8Array => encodeAny(any.type_url, any.value);

const clustersOf = (...names: string[]): EncodedResource[] => names.map((n) => encodeResource(TYPE_URL.cluster, n, resourcesForService(service(n, 1)).cluster));

const endpointsOf = (...names: string[]): EncodedResource[] =>
  names.map((n) => encodeResource(TYPE_URL.endpoint, n, resourcesForService(service(n, 3)).endpoint));

// ---------------------------------------------------------------------------------------------

describe('encodeResponseBody + encodeDiscoveryResponse', () => {
  it.each<[string, string, string, Uint8Array[], string]>([
    ['zero resources', 'v0', TYPE_URL.cluster, [], 'n0'],
    ['zero resources, empty version (an unserved type)', '', 'type.googleapis.com/some.Unknown', [], '1'],
    ['one cluster', 'AbC-123_', TYPE_URL.cluster, clustersOf('orders').map((r) => r.anyBytes), 'nonce-1'],
    ['three endpoint assignments', 'x'.repeat(40), TYPE_URL.endpoint, endpointsOf('a', 'b', 'c').map((r) => r.anyBytes), '42'],
    [
      'opaque Any payloads, one empty',
      'v9',
      TYPE_URL.route,
      [encodeAny(TYPE_URL.route, new Uint8Array()), encodeAny(TYPE_URL.route, new Uint8Array([0, 255, 7]))],
      'n',
    ],
    [
      'a large resource (multi-byte length prefix)',
      'big',
      TYPE_URL.endpoint,
      [encodeResource(TYPE_URL.endpoint, 'big', resourcesForService(service('big', 300)).endpoint).anyBytes],
      'nonce-with-ünïcode',
    ],
  ])('%s: decodes to the same version, type, nonce, control plane and resources', (_title, version, typeUrl, resources, nonce) => {
    const body = encodeResponseBody(version, typeUrl, resources);
    const wire = encodeDiscoveryResponse({ body, nonce });
    const decoded = decodeResponse(wire);

    expect(decoded.version_info).toBe(version);
    expect(decoded.type_url).toBe(typeUrl);
    expect(decoded.nonce).toBe(nonce);
    expect(decoded.control_plane).toEqual({ identifier: 'zk-xds' });
    expect(decoded.resources).toHaveLength(resources.length);
    decoded.resources.forEach((any, i) => {
      expect(any.type_url).toBe(typeUrl);
      expect(Buffer.from(reencoded(any))).toEqual(Buffer.from(resources[i]!));
    });
  });

  it('the body is a shareable prefix: the nonce and control plane only follow it', () => {
    const body = encodeResponseBody(
      'v1',
      TYPE_URL.cluster,
      clustersOf('a', 'b').map((r) => r.anyBytes),
    );
    const copy = Uint8Array.from(body);
    const first = encodeDiscoveryResponse({ body, nonce: '1' });
    const second = encodeDiscoveryResponse({ body, nonce: '2' });
    expect(Buffer.from(first.subarray(0, body.length))).toEqual(Buffer.from(body));
    expect(Buffer.from(second.subarray(0, body.length))).toEqual(Buffer.from(body));
    expect(decodeResponse(first).nonce).toBe('1');
    expect(decodeResponse(second).nonce).toBe('2');
    // Framing one response does not alter the shared body.
    expect(Buffer.from(body)).toEqual(Buffer.from(copy));
  });

  it('decoded resources decode back to the translated objects', () => {
    const resources = clustersOf('orders', 'billing');
    const decoded = decodeResponse(
      encodeDiscoveryResponse({
        body: encodeResponseBody(
          'v',
          TYPE_URL.cluster,
          resources.map((r) => r.anyBytes),
        ),
        nonce: 'n',
      }),
    );
    const names = decoded.resources.map((any) => decodeAny(reencoded(any)).object.name);
    expect(names).toEqual(['orders', 'billing']);
  });

  it('accepts any iterable of resources', () => {
    const resources = clustersOf('a', 'b');
    function* anys(): Generator<Uint8Array> {
      for (const r of resources) yield r.anyBytes;
    }
    expect(Buffer.from(encodeResponseBody('v', TYPE_URL.cluster, anys()))).toEqual(
      Buffer.from(
        encodeResponseBody(
          'v',
          TYPE_URL.cluster,
          resources.map((r) => r.anyBytes),
        ),
      ),
    );
  });
});

describe('discoveryServiceDefinition', () => {
  it.each(Object.values(SERVICE_NAMES))('%s: the SotW stream serializes with encodeDiscoveryResponse', (name) => {
    const def = discoveryServiceDefinition(name);
    const sotw = Object.entries(def).filter(([method, m]) => m.requestStream && m.responseStream && !method.startsWith('Delta'));
    expect(sotw).toHaveLength(1);
    const body = encodeResponseBody('v1', TYPE_URL.listener, []);
    const bytes = sotw[0]![1].responseSerialize({ body, nonce: 'abc' });
    expect(Buffer.from(bytes)).toEqual(encodeDiscoveryResponse({ body, nonce: 'abc' }));
  });

  it('rejects a service not in the vendored protos', () => {
    expect(() => discoveryServiceDefinition('envoy.service.nope.v3.Nope')).toThrow(/not found/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('SharedBodies.allOf', () => {
  function setup(): { cache: ResourceCache; bodies: SharedBodies } {
    const cache = new ResourceCache([TYPE_URL.cluster, TYPE_URL.endpoint]);
    return { cache, bodies: new SharedBodies(cache) };
  }

  it('returns the identical bytes instance while the version stays the same', () => {
    const { cache, bodies } = setup();
    cache.apply([{ typeUrl: TYPE_URL.cluster, upserts: clustersOf('a', 'b'), removals: [] }]);
    const first = bodies.allOf(TYPE_URL.cluster);
    expect(bodies.allOf(TYPE_URL.cluster)).toBe(first);
    // An apply that changes nothing keeps the version, hence the memo.
    cache.apply([{ typeUrl: TYPE_URL.cluster, upserts: clustersOf('a'), removals: [] }]);
    expect(bodies.allOf(TYPE_URL.cluster)).toBe(first);
    // A change to another type does not invalidate this one.
    cache.apply([{ typeUrl: TYPE_URL.endpoint, upserts: endpointsOf('a'), removals: [] }]);
    expect(bodies.allOf(TYPE_URL.cluster)).toBe(first);
  });

  it.each<[string, (cache: ResourceCache) => void, string[]]>([
    ['an added resource', (c) => c.apply([{ typeUrl: TYPE_URL.cluster, upserts: clustersOf('c'), removals: [] }]), ['a', 'b', 'c']],
    ['a removed resource', (c) => c.apply([{ typeUrl: TYPE_URL.cluster, upserts: [], removals: ['a'] }]), ['b']],
    ['everything removed', (c) => c.apply([{ typeUrl: TYPE_URL.cluster, upserts: [], removals: ['a', 'b'] }]), []],
  ])('after %s: a new body with the new version and every current resource', (_title, change, names) => {
    const { cache, bodies } = setup();
    cache.apply([{ typeUrl: TYPE_URL.cluster, upserts: clustersOf('a', 'b'), removals: [] }]);
    const before = bodies.allOf(TYPE_URL.cluster);
    change(cache);
    const after = bodies.allOf(TYPE_URL.cluster);
    expect(after).not.toBe(before);
    expect(bodies.allOf(TYPE_URL.cluster)).toBe(after);

    const decoded = decodeResponse(encodeDiscoveryResponse({ body: after, nonce: 'n' }));
    expect(decoded.version_info).toBe(cache.version(TYPE_URL.cluster));
    expect(decoded.type_url).toBe(TYPE_URL.cluster);
    const expected = [...cache.entries(TYPE_URL.cluster).values()].map((e) => Buffer.from(e.anyBytes));
    expect(decoded.resources.map((any) => Buffer.from(reencoded(any)))).toEqual(expected);
    expect(decoded.resources.map((any) => decodeAny(reencoded(any)).object.name)).toEqual(names);
  });

  it('an empty type gives a body with zero resources and the empty-type version', () => {
    const { cache, bodies } = setup();
    const decoded = decodeResponse(encodeDiscoveryResponse({ body: bodies.allOf(TYPE_URL.endpoint), nonce: '0' }));
    expect(decoded.resources).toEqual([]);
    expect(decoded.version_info).toBe(cache.version(TYPE_URL.endpoint));
    expect(decoded.type_url).toBe(TYPE_URL.endpoint);
  });

  it('keeps one memo per type', () => {
    const { cache, bodies } = setup();
    cache.apply([
      { typeUrl: TYPE_URL.cluster, upserts: clustersOf('a'), removals: [] },
      { typeUrl: TYPE_URL.endpoint, upserts: endpointsOf('a'), removals: [] },
    ]);
    const clusters = bodies.allOf(TYPE_URL.cluster);
    const endpoints = bodies.allOf(TYPE_URL.endpoint);
    expect(endpoints).not.toBe(clusters);
    expect(bodies.allOf(TYPE_URL.cluster)).toBe(clusters);
    expect(bodies.allOf(TYPE_URL.endpoint)).toBe(endpoints);
    expect(decodeResponse(encodeDiscoveryResponse({ body: endpoints, nonce: 'n' })).type_url).toBe(TYPE_URL.endpoint);
  });
});
