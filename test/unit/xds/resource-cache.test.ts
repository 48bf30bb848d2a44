import { describe, expect, it } from '@jest/globals';
import { ResourceCache, type ResourceUpdate, type TypeChange } from '../../../src/xds/resource-cache.js';
import { encodeAny, type EncodedResource } from '../../../src/xds/resource-encoding.js';
import { TYPE_URL } from '../../../src/xds/resource-types.js';

const CDS = TYPE_URL.cluster;
const EDS = TYPE_URL.endpoint;
const CHANGE_LOG_STEPS = 8192;

/** A stand-in encoded resource: the cache only looks at name and version. */
function res(name: string, version: string, typeUrl: string = CDS): EncodedResource {
  return { name, typeUrl, version, anyBytes: encodeAny(typeUrl, Buffer.from(`${name}@${version}`)), object: { name } };
}

function upsert(typeUrl: string, ...resources: EncodedResource[]): ResourceUpdate {
  return { typeUrl, upserts: resources, removals: [] };
}

function remove(typeUrl: string, ...names: string[]): ResourceUpdate {
  return { typeUrl, upserts: [], removals: names };
}

function newCache(): ResourceCache {
  return new ResourceCache([CDS, EDS]);
}

function recordingCache(): { cache: ResourceCache; calls: (readonly TypeChange[])[] } {
  const cache = newCache();
  const calls: (readonly TypeChange[])[] = [];
  cache.onChange((changes) => calls.push(changes));
  return { cache, calls };
}

const sorted = (names: ReadonlySet<string> | 'all'): string[] | 'all' => (names === 'all' ? 'all' : [...names].sort());

// ---------------------------------------------------------------------------------------------

describe('apply: unchanged versions are ignored', () => {
  it.each<[string, ResourceUpdate[]]>([
    ['the same resource again', [upsert(CDS, res('a', 'v1'))]],
    ['the same set in another order', [upsert(CDS, res('b', 'v1'), res('a', 'v1'))]],
    ['a new object with the same version', [upsert(CDS, { ...res('a', 'v1'), anyBytes: new Uint8Array([1, 2, 3]) })]],
    ['removal of a name that is not there', [remove(CDS, 'zzz')]],
    ['an empty update', [{ typeUrl: CDS, upserts: [], removals: [] }]],
    ['no updates at all', []],
  ])('%s: no TypeChange, no listener call, version and seq kept', (_title, second) => {
    const { cache, calls } = recordingCache();
    cache.apply([upsert(CDS, res('a', 'v1'), res('b', 'v1'))], 1);
    const version = cache.version(CDS);
    const seq = cache.seq(CDS);
    calls.length = 0;

    expect(cache.apply(second, 2)).toEqual([]);
    expect(calls).toEqual([]);
    expect(cache.version(CDS)).toBe(version);
    expect(cache.seq(CDS)).toBe(seq);
  });

  it('a partly unchanged update reports only the changed names', () => {
    const { cache, calls } = recordingCache();
    cache.apply([upsert(CDS, res('a', 'v1'), res('b', 'v1'))], 1);
    const changes = cache.apply([upsert(CDS, res('a', 'v1'), res('b', 'v2'), res('c', 'v1'))], 2);
    expect(changes).toHaveLength(1);
    expect(sorted(changes[0]!.changed)).toEqual(['b', 'c']);
    expect([...changes[0]!.removed]).toEqual([]);
    expect(calls).toHaveLength(2);
    expect(calls[1]).toBe(changes);
  });

  it('keeps the new entry for a changed version and the old object for an unchanged one', () => {
    const cache = newCache();
    const a1 = res('a', 'v1');
    cache.apply([upsert(CDS, a1)]);
    cache.apply([upsert(CDS, res('a', 'v1'))]);
    expect(cache.get(CDS, 'a')).toBe(a1);
    const a2 = res('a', 'v2');
    cache.apply([upsert(CDS, a2)]);
    expect(cache.get(CDS, 'a')).toBe(a2);
  });
});

// ---------------------------------------------------------------------------------------------

describe('type version is content-derived', () => {
  /** Each scenario is a list of apply() calls, all against CDS. */
  const sameContent: [string, ResourceUpdate[][]][] = [
    ['one apply of a, b, c', [[upsert(CDS, res('a', '1'), res('b', '1'), res('c', '1'))]]],
    ['one apply of c, a, b', [[upsert(CDS, res('c', '1'), res('a', '1'), res('b', '1'))]]],
    ['three applies, one name each, reversed', [[upsert(CDS, res('c', '1'))], [upsert(CDS, res('b', '1'))], [upsert(CDS, res('a', '1'))]]],
    ['a at another version first, then overwritten', [[upsert(CDS, res('a', '9'), res('b', '1'))], [upsert(CDS, res('a', '1'), res('c', '1'))]]],
    ['an extra name added then removed', [[upsert(CDS, res('a', '1'), res('b', '1'), res('c', '1'), res('d', '1'))], [remove(CDS, 'd')]]],
    [
      'everything removed then re-added',
      [[upsert(CDS, res('a', '1'), res('b', '1'), res('c', '1'))], [remove(CDS, 'a', 'b', 'c')], [upsert(CDS, res('b', '1'), res('c', '1'), res('a', '1'))]],
    ],
    ['two updates of the same type in one apply', [[upsert(CDS, res('a', '1')), upsert(CDS, res('b', '1'), res('c', '1'))]]],
  ];

  const differentContent: [string, ResourceUpdate[][]][] = [
    ['a different version of one resource', [[upsert(CDS, res('a', '1'), res('b', '1'), res('c', '2'))]]],
    ['one resource fewer', [[upsert(CDS, res('a', '1'), res('b', '1'))]]],
    ['one resource more', [[upsert(CDS, res('a', '1'), res('b', '1'), res('c', '1'), res('d', '1'))]]],
    ['a renamed resource', [[upsert(CDS, res('a', '1'), res('b', '1'), res('x', '1'))]]],
    ['versions swapped between names', [[upsert(CDS, res('a', '2'), res('b', '1'), res('c', '1'))], [upsert(CDS, res('a', '1'), res('b', '2'))]]],
    ['nothing', []],
  ];

  function versionAfter(applies: ResourceUpdate[][]): string {
    const cache = newCache();
    for (const updates of applies) cache.apply(updates);
    return cache.version(CDS);
  }

  const reference = versionAfter(sameContent[0]![1]);

  it.each(sameContent)('%s: same version as the reference', (_title, applies) => {
    expect(versionAfter(applies)).toBe(reference);
  });

  it.each(differentContent)('%s: a different version', (_title, applies) => {
    expect(versionAfter(applies)).not.toBe(reference);
  });

  it('all different contents have pairwise different versions', () => {
    const versions = [reference, ...differentContent.map(([, applies]) => versionAfter(applies))];
    expect(new Set(versions).size).toBe(versions.length);
  });

  it('removing then re-adding gives back the earlier version', () => {
    const cache = newCache();
    const empty = cache.version(CDS);
    cache.apply([upsert(CDS, res('a', '1'), res('b', '1'))]);
    const withBoth = cache.version(CDS);
    cache.apply([remove(CDS, 'b')]);
    const withA = cache.version(CDS);
    expect(withA).not.toBe(withBoth);
    cache.apply([upsert(CDS, res('b', '1'))]);
    expect(cache.version(CDS)).toBe(withBoth);
    cache.apply([remove(CDS, 'a', 'b')]);
    expect(cache.version(CDS)).toBe(empty);
  });

  it('changing a resource and changing it back gives back the earlier version', () => {
    const cache = newCache();
    cache.apply([upsert(CDS, res('a', '1'))]);
    const before = cache.version(CDS);
    cache.apply([upsert(CDS, res('a', '2'))]);
    expect(cache.version(CDS)).not.toBe(before);
    cache.apply([upsert(CDS, res('a', '1'))]);
    expect(cache.version(CDS)).toBe(before);
  });

  it('the version of one type does not move when another type changes', () => {
    const cache = newCache();
    const eds = cache.version(EDS);
    cache.apply([upsert(CDS, res('a', '1'))]);
    expect(cache.version(EDS)).toBe(eds);
    expect(cache.seq(EDS)).toBe(0);
  });

  it('the TypeChange carries the same version and seq as the cache', () => {
    const cache = newCache();
    const [change] = cache.apply([upsert(CDS, res('a', '1'))]);
    expect(change!.version).toBe(cache.version(CDS));
    expect(change!.seq).toBe(cache.seq(CDS));
    expect(change!.seq).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------

describe('changedSince', () => {
  /** seq 1..5 on CDS: the names each step changes. */
  function cacheWithSteps(): ResourceCache {
    const cache = newCache();
    cache.apply([upsert(CDS, res('a', '1'), res('b', '1'))]); // 1: a, b
    cache.apply([upsert(CDS, res('c', '1'))]); // 2: c
    cache.apply([upsert(CDS, res('a', '2'))]); // 3: a
    cache.apply([remove(CDS, 'b')]); // 4: b (removed)
    cache.apply([upsert(CDS, res('d', '1'), res('c', '2'))]); // 5: c, d
    return cache;
  }

  it.each<[number, string[]]>([
    [0, ['a', 'b', 'c', 'd']],
    [1, ['a', 'b', 'c', 'd']],
    [2, ['a', 'b', 'c', 'd']],
    [3, ['b', 'c', 'd']],
    [4, ['c', 'd']],
    [5, []],
    [6, []],
    [100, []],
  ])('since seq %i: %j', (since, expected) => {
    const cache = cacheWithSteps();
    expect(cache.seq(CDS)).toBe(5);
    expect(sorted(cache.changedSince(CDS, since))).toEqual(expected);
  });

  const STEPS: ResourceUpdate[][] = [
    [upsert(CDS, res('a', '1'), res('b', '1'))], // 1
    [upsert(CDS, res('c', '1'))], // 2
    [upsert(CDS, res('a', '2'))], // 3
    [remove(CDS, 'b')], // 4
  ];

  it.each<[number, string[]]>([
    [0, ['a', 'b']],
    [1, ['c']],
    [2, ['a']],
    [3, ['b']],
  ])('one step behind (since %i): exactly that step, %j', (since, expected) => {
    const cache = newCache();
    for (const s of STEPS.slice(0, since + 1)) cache.apply(s);
    expect(cache.seq(CDS)).toBe(since + 1);
    expect(sorted(cache.changedSince(CDS, since))).toEqual(expected);
  });

  it('is empty (not "all") on a fresh type at seq 0', () => {
    const cache = newCache();
    expect(cache.changedSince(CDS, 0)).not.toBe('all');
    expect(sorted(cache.changedSince(CDS, 0))).toEqual([]);
  });

  it('before any response (seq -1) everything is due', () => {
    expect(newCache().changedSince(CDS, -1)).toBe('all');
    expect(cacheWithSteps().changedSince(CDS, -1)).toBe('all');
  });

  it('ignored (unchanged) applies do not add steps', () => {
    const cache = cacheWithSteps();
    cache.apply([upsert(CDS, res('a', '2'), res('d', '1'))]);
    expect(cache.seq(CDS)).toBe(5);
    expect(sorted(cache.changedSince(CDS, 5))).toEqual([]);
  });

  it('is per type', () => {
    const cache = cacheWithSteps();
    cache.apply([upsert(EDS, res('e', '1', EDS))]);
    expect(cache.seq(EDS)).toBe(1);
    expect(sorted(cache.changedSince(EDS, 0))).toEqual(['e']);
    expect(sorted(cache.changedSince(CDS, 4))).toEqual(['c', 'd']);
  });

  describe(`after more than ${CHANGE_LOG_STEPS} steps`, () => {
    const STEPS = CHANGE_LOG_STEPS + 3;

    function longCache(): ResourceCache {
      const cache = newCache();
      for (let i = 1; i <= STEPS; i++) cache.apply([upsert(CDS, res(`n${i}`, '1'))]);
      return cache;
    }

    it.each<[string, number, string[] | 'all']>([
      ['from the start', 0, 'all'],
      ['just before the oldest remembered step', STEPS - CHANGE_LOG_STEPS - 1, 'all'],
      [
        'at the oldest remembered step boundary',
        STEPS - CHANGE_LOG_STEPS,
        Array.from({ length: CHANGE_LOG_STEPS }, (_, i) => `n${STEPS - CHANGE_LOG_STEPS + 1 + i}`).sort(),
      ],
      ['two steps behind', STEPS - 2, [`n${STEPS - 1}`, `n${STEPS}`].sort()],
      ['up to date', STEPS, []],
    ])('%s (since %i)', (_title, since, expected) => {
      const cache = longCache();
      expect(cache.seq(CDS)).toBe(STEPS);
      expect(sorted(cache.changedSince(CDS, since))).toEqual(expected);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('removals', () => {
  it('are reported in removed (and changed), and only real removals count', () => {
    const cache = newCache();
    cache.apply([upsert(CDS, res('a', '1'), res('b', '1'), res('c', '1'))]);
    const [change] = cache.apply([remove(CDS, 'a', 'c', 'not-there')]);
    expect(sorted(change!.removed)).toEqual(['a', 'c']);
    expect(sorted(change!.changed)).toEqual(['a', 'c']);
    expect(cache.get(CDS, 'a')).toBeUndefined();
    expect([...cache.entries(CDS).keys()]).toEqual(['b']);
  });

  it('upserts in the same update are changed but not removed', () => {
    const cache = newCache();
    cache.apply([upsert(CDS, res('a', '1'), res('b', '1'))]);
    const [change] = cache.apply([{ typeUrl: CDS, upserts: [res('c', '1'), res('a', '2')], removals: ['b'] }]);
    expect(sorted(change!.changed)).toEqual(['a', 'b', 'c']);
    expect(sorted(change!.removed)).toEqual(['b']);
  });

  it('removing a name twice changes nothing the second time', () => {
    const cache = newCache();
    cache.apply([upsert(CDS, res('a', '1'))]);
    expect(cache.apply([remove(CDS, 'a')])).toHaveLength(1);
    expect(cache.apply([remove(CDS, 'a')])).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('listeners', () => {
  it('get one call per apply with every changed type and the observedAt of the apply', () => {
    const { cache, calls } = recordingCache();
    const changes = cache.apply([upsert(CDS, res('a', '1')), upsert(EDS, res('a', '1', EDS)), remove(CDS, 'missing')], 1234.5);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toBe(changes);
    expect(changes.map((c) => [c.typeUrl, c.observedAt])).toEqual([
      [CDS, 1234.5],
      [EDS, 1234.5],
    ]);
  });

  it('every listener is called, in registration order', () => {
    const cache = newCache();
    const order: string[] = [];
    cache.onChange(() => order.push('first'));
    cache.onChange(() => order.push('second'));
    cache.apply([upsert(CDS, res('a', '1'))]);
    expect(order).toEqual(['first', 'second']);
  });

  it('observedAt defaults to performance.now()', () => {
    const cache = newCache();
    const before = performance.now();
    const [change] = cache.apply([upsert(CDS, res('a', '1'))]);
    const after = performance.now();
    expect(change!.observedAt).toBeGreaterThanOrEqual(before);
    expect(change!.observedAt).toBeLessThanOrEqual(after);
  });
});

describe('unknown types', () => {
  it('apply, version and changedSince throw for a type the cache does not hold', () => {
    const cache = new ResourceCache([CDS]);
    expect(cache.hasType(EDS)).toBe(false);
    expect(() => cache.apply([upsert(EDS, res('a', '1', EDS))])).toThrow(/does not hold/);
    expect(() => cache.version(EDS)).toThrow(/does not hold/);
    expect(() => cache.changedSince(EDS, 0)).toThrow(/does not hold/);
    expect(cache.get(EDS, 'a')).toBeUndefined();
  });
});
