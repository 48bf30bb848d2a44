// The generator's response decoder, scan cache and layered map, against responses encoded by
// protobufjs from the vendored protos. Outside jest's default testMatch (test/**); run with:
//   NODE_OPTIONS=--experimental-vm-modules npx jest --rootDir . --testMatch '<rootDir>/bench/loadgen/*.test.ts'
import { describe, expect, it } from '@jest/globals';
import protobuf from 'protobufjs';
import { messageType } from '../../src/xds/protos.js';
import { decodeDeltaResponse, decodeSotwResponse, resourceAt } from './discovery-decode.js';
import { LayeredMap } from './layered-map.js';
import { TYPE_URL } from './resource-scan.js';
import { ScanCache } from './scan-cache.js';

const ADS = { ads: {}, resource_api_version: 'V3' };
const clusterBytes = (name: string) => {
  const t = messageType('envoy.config.cluster.v3.Cluster');
  return t.encode(t.fromObject({ name, type: 'EDS', eds_cluster_config: { eds_config: ADS, service_name: `${name}-eds` } })).finish();
};
const encode = (type: string, o: Record<string, unknown>) => {
  const t = messageType(type);
  return Buffer.from(t.encode(t.fromObject(o)).finish());
};
const sotwResponse = (names: string[], nonce = 'n1') =>
  encode('envoy.service.discovery.v3.DiscoveryResponse', {
    version_info: 'v7',
    resources: names.map((n) => ({ type_url: TYPE_URL.CDS, value: clusterBytes(n) })),
    type_url: TYPE_URL.CDS,
    nonce,
    control_plane: { identifier: 'test' },
  });

describe('discovery response decoding', () => {
  it('reads a SotW response: envelope fields, and each Any as a range of the message', () => {
    const r = decodeSotwResponse(sotwResponse(['a', 'b', 'c']));
    expect([r.typeUrl, r.version, r.nonce, r.removed]).toEqual([TYPE_URL.CDS, 'v7', 'n1', []]);
    expect(r.resources.starts).toHaveLength(3);
    for (const [i, n] of ['a', 'b', 'c'].entries()) {
      const e = resourceAt(r.resources, i);
      expect(e.typeUrl).toBe(TYPE_URL.CDS);
      expect(Buffer.from(e.value).equals(Buffer.from(clusterBytes(n)))).toBe(true);
      expect(e.name).toBeUndefined();
    }
    expect(r.resources.region).not.toBeNull();
  });

  it('reads a delta response: names, removals in both forms, and a resource without a body', () => {
    const buf = encode('envoy.service.discovery.v3.DeltaDiscoveryResponse', {
      system_version_info: 's1',
      resources: [
        { name: 'a', version: '1', resource: { type_url: TYPE_URL.CDS, value: clusterBytes('a') } },
        { resource_name: { name: 'b' }, version: '2', resource: { type_url: TYPE_URL.CDS, value: clusterBytes('b') } },
        { name: 'c', version: '3' },
      ],
      type_url: TYPE_URL.CDS,
      removed_resources: ['x'],
      removed_resource_names: [{ name: 'y' }],
      nonce: 'd1',
    });
    const r = decodeDeltaResponse(buf);
    expect([r.typeUrl, r.version, r.nonce, r.removed]).toEqual([TYPE_URL.CDS, 's1', 'd1', ['x', 'y']]);
    expect([0, 1, 2].map((i) => resourceAt(r.resources, i).name)).toEqual(['a', 'b', 'c']);
    expect(resourceAt(r.resources, 2).value).toHaveLength(0);
    const scanned = new ScanCache().scan('CDS', r.resources, undefined);
    expect([...scanned.map]).toEqual([
      ['a', 'a-eds'],
      ['b', 'b-eds'],
    ]);
  });

  it('has no region when other fields sit between the resources (no byte comparison then)', () => {
    const any = encode('google.protobuf.Any', { type_url: TYPE_URL.CDS, value: clusterBytes('a') });
    const buf = Buffer.from(
      protobuf.Writer.create().uint32(0x12).bytes(any).uint32(0x22).string(TYPE_URL.CDS).uint32(0x12).bytes(any).uint32(0x2a).string('n').finish(),
    );
    const r = decodeSotwResponse(buf);
    expect(r.resources.starts).toHaveLength(2);
    expect(r.resources.region).toBeNull();
  });
});

describe('scan cache', () => {
  it('scans identical resources once, whatever the nonce, and tells different ones apart', () => {
    const cache = new ScanCache();
    const first = cache.scan('CDS', decodeSotwResponse(sotwResponse(['a', 'b'], 'n1')).resources, undefined);
    const again = cache.scan('CDS', decodeSotwResponse(sotwResponse(['a', 'b'], 'n2')).resources, undefined);
    expect(again).toBe(first);
    // Same count and byte length, different content.
    const other = cache.scan('CDS', decodeSotwResponse(sotwResponse(['a', 'c'])).resources, undefined);
    expect(other).not.toBe(first);
    expect(other.names).toEqual(['a', 'c']);
    expect([cache.hits, cache.misses]).toEqual([1, 2]);
  });
});

describe('LayeredMap', () => {
  it('reads through to a shared base and keeps its own changes off it', () => {
    const base = new Map([
      ['a', 1],
      ['b', 2],
    ]);
    const m = new LayeredMap<number>();
    m.adopt(base);
    expect([m.size, m.get('a'), m.has('b'), m.pureBase]).toEqual([2, 1, true, base]);
    m.set('a', 10);
    m.set('c', 3);
    m.delete('b');
    m.delete('zz');
    expect([m.size, m.get('a'), m.has('b'), m.get('c'), m.pureBase]).toEqual([2, 10, false, 3, null]);
    expect([...m.entries()].sort()).toEqual([
      ['a', 10],
      ['c', 3],
    ]);
    m.set('b', 20);
    expect([m.size, m.get('b')]).toEqual([3, 20]);
    m.delete('a');
    expect([m.size, m.has('a'), [...m.keys()].sort()]).toEqual([2, false, ['b', 'c']]);
    expect([...base]).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    m.clear();
    expect([m.size, [...m.values()]]).toEqual([0, []]);
  });
});
