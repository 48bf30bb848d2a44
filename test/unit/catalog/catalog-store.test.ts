import { describe, expect, it } from '@jest/globals';
import { CatalogStore } from '../../../src/catalog/catalog-store.js';
import type { CatalogChange, RegisteredInstance, Service } from '../../../src/catalog/model.js';
import { instance, service } from '../../support/catalog-fixtures.js';
import { EMPTY_POLICY } from '../../../src/catalog/policy.js';

interface Recorded {
  readonly names: string[];
  readonly observedAt: number;
}

function recordingStore(): { store: CatalogStore; calls: Recorded[] } {
  const store = new CatalogStore();
  const calls: Recorded[] = [];
  store.onChange((change: CatalogChange, observedAt: number) => calls.push({ names: change.upserts.map((s) => s.name), observedAt }));
  return { store, calls };
}

/** A service of two instances with every field set to something non-default. */
function base(): Service {
  return {
    name: 'orders',
    instances: [
      instance('orders', 0, {
        address: '10.0.0.1',
        port: 8080,
        weight: 3,
        locality: { region: 'eu', zone: 'eu-1', subZone: 'r1' },
        metadata: { version: 'v1', team: 'a' },
      }),
      instance('orders', 1, { address: '2001:db8::2', port: 9090 }),
    ],
    policy: { connectTimeoutMs: 250 },
  };
}

/** base() with one field of its first instance changed. */
function withFirst(change: (i: RegisteredInstance) => RegisteredInstance): Service {
  const s = base();
  return { ...s, instances: [change(s.instances[0]!), ...s.instances.slice(1)] };
}

// ---------------------------------------------------------------------------------------------

describe('CatalogStore.offer: which services pass on', () => {
  it.each<[string, Service]>([
    ['address', withFirst((i) => ({ ...i, address: '10.0.0.99' }))],
    ['address v4 -> v6', withFirst((i) => ({ ...i, address: '::ffff:10.0.0.1' }))],
    ['port', withFirst((i) => ({ ...i, port: 8081 }))],
    ['weight', withFirst((i) => ({ ...i, weight: 4 }))],
    ['healthy', withFirst((i) => ({ ...i, healthy: false }))],
    ['locality region', withFirst((i) => ({ ...i, locality: { ...i.locality, region: 'us' } }))],
    ['locality zone', withFirst((i) => ({ ...i, locality: { ...i.locality, zone: 'eu-2' } }))],
    ['locality sub-zone', withFirst((i) => ({ ...i, locality: { ...i.locality, subZone: 'r2' } }))],
    ['locality sub-zone cleared', withFirst((i) => ({ ...i, locality: { ...i.locality, subZone: '' } }))],
    ['metadata value', withFirst((i) => ({ ...i, metadata: { version: 'v2', team: 'a' } }))],
    ['metadata key added', withFirst((i) => ({ ...i, metadata: { ...i.metadata, extra: '' } }))],
    ['metadata key removed', withFirst((i) => ({ ...i, metadata: { version: 'v1' } }))],
    ['metadata key renamed (same size)', withFirst((i) => ({ ...i, metadata: { version: 'v1', owner: 'a' } }))],
    ['metadata emptied', withFirst((i) => ({ ...i, metadata: {} }))],
    ['source', withFirst((i) => ({ ...i, source: '/services/orders/other' }))],
    ['format', withFirst((i) => ({ ...i, format: 'curator' }))],
    ['id', withFirst((i) => ({ ...i, id: 'another-id' }))],
    ['an instance added', { ...base(), instances: [...base().instances, instance('orders', 2)] }],
    ['an instance removed', { ...base(), instances: base().instances.slice(0, 1) }],
    ['all instances removed', { ...base(), instances: [] }],
    ['instances reordered', { ...base(), instances: [...base().instances].reverse() }],
  ])('a change of %s passes on', (_title, changed) => {
    const { store, calls } = recordingStore();
    store.offer([base()], 1);
    calls.length = 0;

    const passed = store.offer([changed], 2);
    expect(passed).toEqual([changed]);
    expect(passed[0]).toBe(changed);
    expect(calls).toEqual([{ names: ['orders'], observedAt: 2 }]);
    expect(store.get('orders')).toBe(changed);
  });

  it.each<[string, (first: Service) => Service]>([
    ['a structurally equal copy', () => base()],
    ['a deep copy', (first) => structuredClone(first)],
    ['the same instances with metadata keys in another order', () => withFirst((i) => ({ ...i, metadata: { team: 'a', version: 'v1' } }))],
    ['the very same object', (first) => first],
  ])('%s does not pass on, and the stored value stays', (_title, build) => {
    const { store, calls } = recordingStore();
    const first = base();
    store.offer([first], 1);
    calls.length = 0;

    expect(store.offer([build(first)], 2)).toEqual([]);
    expect(calls).toEqual([]);
    expect(store.get('orders')).toBe(first);
  });

  it.each<[string, Service]>([
    ['with instances', service('fresh', 2)],
    ['with zero instances', service('fresh', 0)],
  ])('a service seen for the first time passes on (%s)', (_title, fresh) => {
    const { store, calls } = recordingStore();
    expect(store.offer([fresh], 5)).toEqual([fresh]);
    expect(calls).toEqual([{ names: ['fresh'], observedAt: 5 }]);
    // ...and only once.
    expect(store.offer([service('fresh', fresh.instances.length)], 6)).toEqual([]);
    expect(calls).toHaveLength(1);
  });

  it('passes on only the changed services of a mixed offer, in offer order, in one listener call', () => {
    const { store, calls } = recordingStore();
    store.offer([service('a', 1), service('b', 2), service('c', 3)], 1);
    calls.length = 0;

    const b2 = service('b', 3);
    const d = service('d', 1);
    const passed = store.offer([service('a', 1), b2, service('c', 3), d], 7);
    expect(passed.map((s) => s.name)).toEqual(['b', 'd']);
    expect(passed[0]).toBe(b2);
    expect(calls).toEqual([{ names: ['b', 'd'], observedAt: 7 }]);
  });

  it('tells every listener, with the same change and observedAt', () => {
    const store = new CatalogStore();
    const seen: [string, CatalogChange, number][] = [];
    store.onChange((c, at) => seen.push(['first', c, at]));
    store.onChange((c, at) => seen.push(['second', c, at]));
    store.offer([service('a', 1)], 42);
    expect(seen.map(([who, , at]) => [who, at])).toEqual([
      ['first', 42],
      ['second', 42],
    ]);
    expect(seen[0]![1]).toEqual(seen[1]![1]);
    expect(seen[0]![1].upserts.map((s) => s.name)).toEqual(['a']);
  });

  it('observedAt defaults to performance.now()', () => {
    const { store, calls } = recordingStore();
    const before = performance.now();
    store.offer([service('a', 1)]);
    const after = performance.now();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.observedAt).toBeGreaterThanOrEqual(before);
    expect(calls[0]!.observedAt).toBeLessThanOrEqual(after);
  });

  it('an empty offer changes nothing and calls no listener', () => {
    const { store, calls } = recordingStore();
    expect(store.offer([], 1)).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('accepts any iterable', () => {
    const { store } = recordingStore();
    function* services(): Generator<Service> {
      yield service('a', 1);
      yield service('b', 1);
    }
    expect(store.offer(services(), 1).map((s) => s.name)).toEqual(['a', 'b']);
  });
});

describe('CatalogStore.snapshot', () => {
  it('reflects the latest value of every service; services are never dropped', () => {
    const { store } = recordingStore();
    store.offer([service('a', 1), service('b', 2)], 1);
    const a2 = service('a', 3);
    const bEmpty = service('b', 0);
    store.offer([a2], 2);
    store.offer([bEmpty], 3);

    const snapshot = store.snapshot();
    expect([...snapshot.keys()].sort()).toEqual(['a', 'b']);
    expect(snapshot.get('a')).toBe(a2);
    expect(snapshot.get('b')).toBe(bEmpty);
    expect(store.get('b')!.instances).toEqual([]);
    expect(store.get('missing')).toBeUndefined();
  });

  it('is empty before any offer', () => {
    expect(new CatalogStore().snapshot().size).toBe(0);
  });
});

describe('policy changes', () => {
  it.each([
    ['a policy set', { connectTimeoutMs: 250, protocol: 'grpc' as const }],
    ['a policy changed', { connectTimeoutMs: 500 }],
    ['the policy removed', EMPTY_POLICY],
  ])('passes the service on when %s', (_label, policy) => {
    const { store, calls } = recordingStore();
    store.offer([base()]);
    store.offer([{ ...base(), policy }]);
    expect(calls.map((c) => c.names)).toEqual([['orders'], ['orders']]);
  });

  it('does not pass on an equal policy', () => {
    const { store, calls } = recordingStore();
    store.offer([base()]);
    store.offer([{ ...base(), policy: { connectTimeoutMs: 250 } }]);
    expect(calls).toHaveLength(1);
  });
});
