// The name-set pool holds its entries weakly: a delta subscription holds its entry, so the set stays
// shared across garbage collections and streams that connect after a GC get the same set.
import { describe, expect, it } from '@jest/globals';
import v8 from 'node:v8';
import vm from 'node:vm';
import { NameSetPool } from '../../../src/xds/name-sets.js';
import { DeltaSubscription } from '../../../src/xds/delta-subscription.js';
import { TYPE_URL } from '../../../src/xds/resource-types.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** A full collection in a later job (WeakRef targets are kept until the current job ends). */
async function collect(): Promise<void> {
  await new Promise((r) => setTimeout(r, 0));
  gc();
  await new Promise((r) => setTimeout(r, 0));
}

const names = ['a', 'b', 'c'];

describe('shared name sets across garbage collection', () => {
  it('a delta subscription keeps its pool entry alive', async () => {
    const pool = new NameSetPool();
    const first = new DeltaSubscription(TYPE_URL.endpoint);
    first.update(names, [], true, (n) => n, pool);
    await collect();
    const later = new DeltaSubscription(TYPE_URL.endpoint);
    later.update(names, [], true, (n) => n, pool);
    expect(later.names).toBe(first.names);
  });
});
