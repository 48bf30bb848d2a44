// Delta streams that hold "the cache at step N" keep no map of versions of their own, share one
// name set when they subscribed alike, and share one response body per cache step. The shared
// responses are byte for byte what the name-by-name path (an explicit map of held versions) sends,
// and the exceptions (NACK, initial_resource_versions, unsubscribe, a stream far behind) stay right.
import { describe, expect, it } from '@jest/globals';
import { EDS, deltaRequest, recordingSink, streamWorld } from '../../support/stream-world.js';
import { DeltaStream } from '../../../src/xds/delta-stream.js';
import type { DeltaSubscription } from '../../../src/xds/delta-subscription.js';
import { encodeDeltaResponse, type DeltaDiscoveryRequestMessage, type OutgoingDeltaResponse } from '../../../src/xds/delta-messages.js';

const eds = EDS;

function setup() {
  const { cache, env, set, track } = streamWorld();
  let id = 1;
  const open = (first: Partial<DeltaDiscoveryRequestMessage>) => {
    const { sink, sent, control } = recordingSink<OutgoingDeltaResponse>();
    const stream = track(new DeltaStream({ id: id++, api: 'delta-ads', peer: 'test', connectedAt: new Date(0) }, sink, env));
    stream.onRequest(request(first));
    const sub = () => stream.subscriptions.get(eds)! as DeltaSubscription;
    const reply = (fields: Partial<DeltaDiscoveryRequestMessage> = {}) =>
      stream.onRequest(request({ response_nonce: sent[sent.length - 1]!.nonce, ...fields }));
    return { stream, sent, control, sub, reply, last: () => sent[sent.length - 1]! };
  };
  return { cache, open, set };
}

const request = (fields: Partial<DeltaDiscoveryRequestMessage>): DeltaDiscoveryRequestMessage => deltaRequest({ type_url: eds, ...fields });

const names = (r: OutgoingDeltaResponse) => r.resources.map((e) => e.name);
/** Forces the name-by-name path: an explicit map equal to what the client holds. */
const explicit = (s: { stream: DeltaStream; sub: () => DeltaSubscription }) => {
  s.sub().known = s.stream.heldVersions(s.sub());
};

describe('delta streams holding the cache at a step', () => {
  it('share one name set and one body per cache step, and keep no map of held versions', () => {
    const { open, set } = setup();
    const one = open({ resource_names_subscribe: ['a', 'b', 'c'] });
    const two = open({ resource_names_subscribe: ['a', 'b', 'c'] });
    expect(one.sub().names).toBe(two.sub().names);
    expect(one.sub().known).toBeNull();
    expect(one.last().body).toBeDefined();
    expect(one.last().body).toBe(two.last().body);
    expect(names(one.last())).toEqual(['a', 'b', 'c']);
    one.reply();
    two.reply();
    set({ b: 2, d: 2 });
    expect(names(one.last())).toEqual(['b']);
    expect(one.last().body).toBe(two.last().body);
    expect(one.sub().known).toBeNull();
    expect(one.stream.heldVersions(one.sub()).get('b')).toBe(one.last().resources[0]!.version);
  });

  it('share name sets only within one server: two servers in one process share nothing', () => {
    const first = setup();
    const second = setup();
    const here = first.open({ resource_names_subscribe: ['a', 'b'] });
    const alsoHere = first.open({ resource_names_subscribe: ['a', 'b'] });
    const there = second.open({ resource_names_subscribe: ['a', 'b'] });
    expect(here.sub().names).toBe(alsoHere.sub().names);
    expect(there.sub().names).not.toBe(here.sub().names);
    expect([...there.sub().names]).toEqual([...here.sub().names]);
  });

  it('send byte for byte what the name-by-name path sends, removals included', () => {
    const { open, set } = setup();
    const shared = open({ resource_names_subscribe: ['a', 'b', 'x'] });
    const own = open({ resource_names_subscribe: ['a', 'b', 'x'] });
    explicit(own);
    const steps: Array<() => void> = [() => set({ a: 2 }), () => set({ x: 1, c: 5 }), () => set({}, ['b']), () => set({ b: 3, a: 4 }, ['x'])];
    for (const step of steps) {
      const before = shared.sent.length;
      step();
      expect(shared.sent.length).toBe(before + 1);
      expect(own.sub().known).not.toBeNull();
      // Nonces come from one counter per process: compared apart from them.
      const withoutNonce = (r: OutgoingDeltaResponse) => encodeDeltaResponse({ ...r, nonce: '' });
      expect(Buffer.compare(withoutNonce(shared.last()), withoutNonce(own.last()))).toBe(0);
    }
    expect(shared.last().removed).toEqual(['x']);
    expect(own.sub().known).toEqual(shared.stream.heldVersions(shared.sub()));
  });

  it('does not send a NACKed version again until it changes, and the NACKing stream keeps sharing', () => {
    const { open, set } = setup();
    const nacker = open({ resource_names_subscribe: ['a', 'b'] });
    const other = open({ resource_names_subscribe: ['a', 'b'] });
    nacker.reply();
    other.reply();
    set({ a: 2 });
    nacker.reply({ error_detail: { code: 3, message: 'bad' } });
    expect(nacker.sub().syncState()).toBe('NACKED');
    set({ b: 2 });
    expect(names(nacker.last())).toEqual(['b']);
    expect(nacker.last().body).toBe(other.last().body);
    set({ a: 3 });
    expect(names(nacker.last())).toEqual(['a']);
  });

  it('answers initial_resource_versions name by name, then holds the cache at a step and shares', () => {
    const { cache, open, set } = setup();
    const settled = open({ resource_names_subscribe: ['a', 'b'] });
    settled.reply();
    const a = cache.get(eds, 'a')!.version;
    const back = open({ resource_names_subscribe: ['a', 'b'], initial_resource_versions: { a, b: 'old', gone: 'v0' } });
    expect(names(back.last())).toEqual(['b']);
    expect(back.last().removed).toEqual(['gone']);
    expect(back.sub().known).toBeNull();
    back.reply();
    set({ a: 9 });
    expect(back.last().body).toBe(settled.last().body);
  });

  it('stops sending an unsubscribed name and sends it again on re-subscription', () => {
    const { open, set } = setup();
    const s = open({ resource_names_subscribe: ['a', 'b'] });
    const peer = open({ resource_names_subscribe: ['a', 'b'] });
    s.reply({ resource_names_unsubscribe: ['a'] });
    expect(s.sub().names).not.toBe(peer.sub().names);
    expect([...s.sub().names]).toEqual(['b']);
    const before = s.sent.length;
    set({ a: 2 });
    expect(s.sent.length).toBe(before);
    expect(names(peer.last())).toEqual(['a']);
    s.stream.onRequest(request({ resource_names_subscribe: ['a'] }));
    expect(names(s.last())).toEqual(['a']);
    expect(s.last().resources[0]!.version).toBe(peer.last().resources[0]!.version);
  });

  it('moving from named to wildcard sends only what the client does not hold', () => {
    const { open } = setup();
    const s = open({ resource_names_subscribe: ['a', 'b'] });
    s.reply({ resource_names_subscribe: ['*'] });
    expect(names(s.last())).toEqual(['c', 'd']);
    expect(s.sub().known).toBeNull();
  });

  it('a stream that fell behind gets what changed meanwhile, shared with another at the same step', () => {
    const { open, set } = setup();
    const slow = open({ resource_names_subscribe: ['a', 'b', 'c'] });
    const slower = open({ resource_names_subscribe: ['a', 'b', 'c'] });
    slow.control.pushBack = true;
    slower.control.pushBack = true;
    set({ a: 2 });
    set({ b: 2 });
    set({}, ['c']);
    set({ d: 7 });
    slow.control.drain();
    slower.control.drain();
    expect(names(slow.last())).toEqual(['b']);
    expect(slow.last().removed).toEqual(['c']);
    expect(slow.last().body).toBe(slower.last().body);
  });

  it('sends nothing for a resource that changed and changed back, or came and went, while it waited', () => {
    const { open, set } = setup();
    const s = open({ resource_names_subscribe: ['a', 'b', 'e'] });
    s.reply();
    // The write of this change is the one the transport pushes back on; later ones wait for drain.
    s.control.pushBack = true;
    set({ b: 2 });
    set({ a: 2 });
    set({ a: 1 });
    set({ e: 1 });
    set({}, ['e']);
    set({ b: 5 });
    const before = s.sent.length;
    s.control.drain();
    expect(s.sent.length).toBe(before + 1);
    expect(names(s.last())).toEqual(['b']);
    expect(s.last().removed).toEqual([]);
  });

  it('a stream behind the whole change log gets every subscribed resource and the removals', () => {
    const { open, set } = setup();
    const s = open({ resource_names_subscribe: ['a', 'b', 'c'] });
    s.control.pushBack = true;
    set({ a: 2 });
    set({}, ['c']);
    for (let i = 0; i < 8200; i++) set({ d: i + 10 });
    s.control.drain();
    expect(names(s.last())).toEqual(['a', 'b']);
    expect(s.last().removed).toEqual(['c']);
  });
});
