import { describe, expect, it } from '@jest/globals';
import { TypeSubscription, type Pending, type SyncState } from '../../../src/xds/type-subscription.js';
import { TYPE_URL } from '../../../src/xds/resource-types.js';
import { NameSetPool } from '../../../src/xds/name-sets.js';
import protobuf from 'protobufjs';

/** One request's resource_names and what the subscription must look like after it. */
interface Step {
  readonly request: readonly string[];
  /** updateNames' return: 'all' or the newly added names (sorted). */
  readonly returns: 'all' | readonly string[];
  readonly wildcard: boolean;
  readonly names: readonly string[];
}

const step = (request: readonly string[], returns: 'all' | readonly string[], wildcard: boolean, names: readonly string[] = []): Step => ({
  request,
  returns,
  wildcard,
  names,
});

const asComparable = (r: ReadonlySet<string> | 'all'): 'all' | string[] => (r === 'all' ? 'all' : [...r].sort());

describe('TypeSubscription.updateNames', () => {
  it.each<[string, Step[]]>([
    ['first empty list is a (legacy) wildcard', [step([], 'all', true)]],
    ['repeated empty lists stay wildcard and add nothing', [step([], 'all', true), step([], [], true), step([], [], true)]],
    ['"*" is a wildcard', [step(['*'], 'all', true)]],
    ['"*" with names: wildcard, names kept', [step(['*', 'a'], 'all', true, ['a'])]],
    ['names first: not a wildcard', [step(['a', 'b'], ['a', 'b'], false, ['a', 'b'])]],
    ['names after a legacy wildcard end it', [step([], 'all', true), step(['a'], ['a'], false, ['a'])]],
    ['an empty list after names unsubscribes all (it is not a wildcard)', [step(['a', 'b'], ['a', 'b'], false, ['a', 'b']), step([], [], false, [])]],
    [
      'an empty list after a legacy wildcard ended by names is still not a wildcard',
      [step([], 'all', true), step(['a'], ['a'], false, ['a']), step([], [], false, []), step([], [], false, [])],
    ],
    ['an empty list after an explicit "*" unsubscribes all', [step(['*'], 'all', true), step([], [], false)]],
    ['a later "*" makes a named subscriber a wildcard again', [step(['a'], ['a'], false, ['a']), step([], [], false), step(['*'], 'all', true)]],
    [
      'only newly added names are returned; dropped names leave',
      [step(['a', 'b'], ['a', 'b'], false, ['a', 'b']), step(['b', 'c', 'd'], ['c', 'd'], false, ['b', 'c', 'd']), step(['d'], [], false, ['d'])],
    ],
    ['the same names again add nothing', [step(['a', 'b'], ['a', 'b'], false, ['a', 'b']), step(['b', 'a'], [], false, ['a', 'b'])]],
    ['duplicate names in one request count once', [step(['a', 'a', 'b'], ['a', 'b'], false, ['a', 'b'])]],
    [
      'an explicit wildcard that stays wildcard returns only added names',
      [step(['*'], 'all', true), step(['*', 'a'], ['a'], true, ['a']), step(['*', 'a', 'b'], ['b'], true, ['a', 'b']), step(['*'], [], true)],
    ],
    [
      'dropping "*" but keeping names leaves the wildcard',
      [step(['*', 'a'], 'all', true, ['a']), step(['a'], [], false, ['a']), step(['a', 'b'], ['b'], false, ['a', 'b'])],
    ],
    ['a legacy wildcard switching to "*" is not a new wildcard', [step([], 'all', true), step(['*'], [], true)]],
  ])('%s', (_title, steps) => {
    const sub = new TypeSubscription(TYPE_URL.cluster);
    steps.forEach((s, i) => {
      const context = `step ${i}: ${JSON.stringify(s.request)}`;
      expect({ context, returns: asComparable(sub.updateNames(s.request)) }).toEqual({ context, returns: s.returns });
      expect({ context, wildcard: sub.wildcard, names: [...sub.names].sort() }).toEqual({ context, wildcard: s.wildcard, names: [...s.names] });
    });
  });

  it.each<[string, readonly string[], string[], boolean[]]>([
    ['a wildcard subscribes to every name', ['*'], ['a', 'anything'], [true, true]],
    ['a named subscriber only to its names', ['a', 'b'], ['a', 'b', 'c'], [true, true, false]],
    ['a first empty list (legacy wildcard) subscribes to every name', [], ['a', 'b'], [true, true]],
  ])('subscribes(): %s', (_title, request, probe, expected) => {
    const sub = new TypeSubscription(TYPE_URL.endpoint);
    sub.updateNames(request);
    expect(probe.map((n) => sub.subscribes(n))).toEqual(expected);
  });

  it('subscribes() is false for everything after names then an empty list', () => {
    const sub = new TypeSubscription(TYPE_URL.endpoint);
    sub.updateNames(['a']);
    sub.updateNames([]);
    expect(sub.subscribes('a')).toBe(false);
    expect(sub.subscribes('b')).toBe(false);
  });
});

describe('TypeSubscription.owe', () => {
  const set = (...names: string[]): Set<string> => new Set(names);

  it.each<[string, Pending[], 'all' | string[]]>([
    ['one set', [set('a')], ['a']],
    ['sets merge', [set('a', 'b'), set('b', 'c')], ['a', 'b', 'c']],
    ['an empty set still makes a response owed', [set()], []],
    ['all', ['all'], 'all'],
    ['all absorbs a later set', ['all', set('a')], 'all'],
    ['all absorbs earlier sets', [set('a'), set('b'), 'all'], 'all'],
    ['all then all', ['all', 'all'], 'all'],
  ])('%s', (_title, owed, expected) => {
    const sub = new TypeSubscription(TYPE_URL.route);
    expect(sub.pending).toBeNull();
    for (const o of owed) sub.owe(o);
    const pending = sub.pending as Pending | null;
    expect(pending).not.toBeNull();
    expect(pending === 'all' ? 'all' : [...pending!].sort()).toEqual(expected);
  });

  it('does not keep (or mutate) the caller set', () => {
    const sub = new TypeSubscription(TYPE_URL.route);
    const first = set('a');
    sub.owe(first);
    sub.owe(set('b'));
    expect([...first]).toEqual(['a']);
    expect(sub.pending).not.toBe(first);
  });
});

describe('TypeSubscription.syncState', () => {
  interface SentState {
    nonce: string | null;
    sentVersion: string;
    ackedVersion: string;
    nackedVersion: string | null;
  }

  it.each<[string, SyncState, SentState]>([
    ['nothing sent yet', 'NOT_SENT', { nonce: null, sentVersion: '', ackedVersion: '', nackedVersion: null }],
    ['nothing sent, even with versions recorded', 'NOT_SENT', { nonce: null, sentVersion: 'v1', ackedVersion: 'v1', nackedVersion: 'v1' }],
    ['sent and ACKed', 'SYNCED', { nonce: '1', sentVersion: 'v1', ackedVersion: 'v1', nackedVersion: null }],
    ['sent, not ACKed yet', 'STALE', { nonce: '1', sentVersion: 'v1', ackedVersion: '', nackedVersion: null }],
    ['sent a newer version than ACKed', 'STALE', { nonce: '2', sentVersion: 'v2', ackedVersion: 'v1', nackedVersion: null }],
    ['the sent version was NACKed', 'NACKED', { nonce: '2', sentVersion: 'v2', ackedVersion: 'v1', nackedVersion: 'v2' }],
    ['an older NACK, newer version ACKed', 'SYNCED', { nonce: '3', sentVersion: 'v3', ackedVersion: 'v3', nackedVersion: 'v2' }],
    ['an older NACK, newer version pending', 'STALE', { nonce: '3', sentVersion: 'v3', ackedVersion: 'v1', nackedVersion: 'v2' }],
  ])('%s: %s', (_title, expected, s) => {
    const sub = new TypeSubscription(TYPE_URL.listener);
    sub.nonce = s.nonce;
    sub.sentVersion = s.sentVersion;
    sub.ackedVersion = s.ackedVersion;
    sub.lastNack = s.nackedVersion === null ? null : { nonce: 'x', version: s.nackedVersion, message: 'bad', at: new Date(0) };
    expect(sub.syncState()).toBe(expected);
  });

  it('a fresh subscription is NOT_SENT with nothing owed', () => {
    const sub = new TypeSubscription(TYPE_URL.listener);
    expect(sub.typeUrl).toBe(TYPE_URL.listener);
    expect(sub.syncState()).toBe('NOT_SENT');
    expect(sub.sentSeq).toBe(-1);
    expect(sub.pending).toBeNull();
    expect(sub.wildcard).toBe(false);
  });
});

describe('updateNames interning', () => {
  it('passes only names new to the subscription through the interner', () => {
    const sub = new TypeSubscription('type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment');
    const seen: string[] = [];
    const intern = (n: string) => {
      seen.push(n);
      return n;
    };
    sub.updateNames(['a', 'b'], intern);
    sub.updateNames(['a', 'b'], intern);
    sub.updateNames(['a', 'b', 'c'], intern);
    expect(seen).toEqual(['a', 'b', 'c']);
    expect([...sub.names].sort()).toEqual(['a', 'b', 'c']);
  });
});

describe('TypeSubscription.updateFromRequest', () => {
  const encodeNames = (names: readonly string[]): Uint8Array => {
    const w = protobuf.Writer.create();
    for (const n of names) w.uint32(0x1a).string(n);
    return w.finish();
  };
  /** A request as the SotW decoder makes it; `reads` counts how often its names were decoded. */
  const requestOf = (names: readonly string[]) => {
    const req = {
      reads: 0,
      resource_names_bytes: encodeNames(names),
      get resource_names(): readonly string[] {
        req.reads++;
        return names;
      },
    };
    return req;
  };
  const keep = (n: string) => n;

  it.each<[string, Step[]]>([
    ['a legacy wildcard, then names, then none', [step([], 'all', true), step([], [], true), step(['a'], ['a'], false, ['a']), step([], [], false)]],
    [
      'names change, then repeat',
      [step(['a', 'b'], ['a', 'b'], false, ['a', 'b']), step(['b', 'c'], ['c'], false, ['b', 'c']), step(['b', 'c'], [], false, ['b', 'c'])],
    ],
    ['"*" and names', [step(['*', 'a'], 'all', true, ['a']), step(['*', 'a'], [], true, ['a']), step(['a'], [], false, ['a']), step(['*'], 'all', true)]],
    ['another order of the same names adds nothing', [step(['a', 'b'], ['a', 'b'], false, ['a', 'b']), step(['b', 'a'], [], false, ['a', 'b'])]],
  ])('behaves as updateNames: %s', (_title, steps) => {
    const sub = new TypeSubscription(TYPE_URL.endpoint);
    const pool = new NameSetPool();
    steps.forEach((s, i) => {
      const context = `step ${i}: ${JSON.stringify(s.request)}`;
      expect({ context, returns: asComparable(sub.updateFromRequest(requestOf(s.request), keep, pool)) }).toEqual({ context, returns: s.returns });
      expect({ context, wildcard: sub.wildcard, names: [...sub.names].sort() }).toEqual({ context, wildcard: s.wildcard, names: [...s.names] });
    });
  });

  it('an ACK with the same names neither decodes nor diffs them; changed names do', () => {
    const sub = new TypeSubscription(TYPE_URL.endpoint);
    const pool = new NameSetPool();
    const interned: string[] = [];
    const intern = (n: string) => {
      interned.push(n);
      return n;
    };
    const first = requestOf(['a', 'b']);
    expect(asComparable(sub.updateFromRequest(first, intern, pool))).toEqual(['a', 'b']);
    const names = sub.names;

    const ack = requestOf(['a', 'b']);
    expect(asComparable(sub.updateFromRequest(ack, intern, pool))).toEqual([]);
    expect(ack.reads).toBe(0);
    expect(sub.names).toBe(names);
    expect(interned).toEqual(['a', 'b']);

    const changed = requestOf(['a', 'b', 'c']);
    expect(asComparable(sub.updateFromRequest(changed, intern, pool))).toEqual(['c']);
    expect(changed.reads).toBeGreaterThan(0);
    expect([...sub.names].sort()).toEqual(['a', 'b', 'c']);
  });

  it('subscriptions asking for the same names share one set; a change or updateNames leaves the others alone', () => {
    const pool = new NameSetPool();
    const [x, y, z] = [0, 1, 2].map(() => new TypeSubscription(TYPE_URL.endpoint));
    for (const sub of [x!, y!, z!]) sub.updateFromRequest(requestOf(['a', 'b']), keep, pool);
    expect(y!.names).toBe(x!.names);
    expect(z!.names).toBe(x!.names);
    expect(pool.size).toBe(1);

    y!.updateFromRequest(requestOf(['a', 'b', 'c']), keep, pool);
    z!.updateNames(['a']);
    expect([...x!.names].sort()).toEqual(['a', 'b']);
    expect([...y!.names].sort()).toEqual(['a', 'b', 'c']);
    expect([...z!.names]).toEqual(['a']);
    expect(pool.size).toBe(2);
  });

  it('without encoded names (requests built in code) it falls back to updateNames', () => {
    const sub = new TypeSubscription(TYPE_URL.endpoint);
    const pool = new NameSetPool();
    expect(asComparable(sub.updateFromRequest({ resource_names: ['a'] }, keep, pool))).toEqual(['a']);
    expect(asComparable(sub.updateFromRequest({ resource_names: ['a'] }, keep, pool))).toEqual([]);
    expect(pool.size).toBe(0);
  });
});
