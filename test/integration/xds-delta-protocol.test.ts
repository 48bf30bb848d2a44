// Incremental (delta) xDS over real gRPC, with a client written against the protos: wildcard and
// named subscriptions, unsubscribe, reconnect with initial_resource_versions, removed_resources,
// per-resource versions, ACK/NACK per nonce, and only-what-changed pushes.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import type { DeltaStream } from '../../src/xds/delta-stream.js';
import { DeltaClient, type DeltaResponse } from '../support/delta-client.js';
import { startHarness, counter, type Harness } from '../support/xds-harness.js';
import { service } from '../support/catalog-fixtures.js';
import { eventually } from '../support/eventually.js';

const QUIET_MS = 300;
const names = (r: DeltaResponse) => r.resources.map((x) => x.name).sort();

describe('delta ADS', () => {
  let h: Harness;
  let clients: DeltaClient[];
  const client = (api: 'ads' | 'eds' = 'ads') => {
    const c = new DeltaClient(h.address, api);
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    clients = [];
    h = await startHarness([service('a', 2), service('b', 3), service('c', 1)]);
  });
  afterEach(async () => {
    for (const c of clients) c.close();
    await h.server.shutdown(500);
  });

  it('sends every resource to a wildcard subscriber, each with its own content version', async () => {
    const c = client();
    c.send({ typeUrl: TYPE_URL.cluster, node: { id: 'envoy-1' } });
    const r = await c.next(TYPE_URL.cluster);
    expect(names(r)).toEqual(['a', 'b', 'c']);
    for (const res of r.resources) expect(res.version).toBe(h.cache.get(TYPE_URL.cluster, res.name)!.version);
    expect(r.removed).toEqual([]);
    c.ack(r);
    expect(await c.quietFor(QUIET_MS)).toEqual([]);
    expect(await counter(h.metrics, 'acks', 'CDS')).toBe(1);
  });

  it('sends one ClusterLoadAssignment, only to the streams subscribed to it, when one service changes', async () => {
    const onA = client();
    const onB = client();
    const wildcard = client();
    for (const [c, subscribe] of [
      [onA, ['a']],
      [onB, ['b']],
      [wildcard, []],
    ] as const) {
      c.send({ typeUrl: TYPE_URL.endpoint, subscribe: [...subscribe], node: { id: `n-${subscribe.join() || 'all'}` } });
      c.ack(await c.next(TYPE_URL.endpoint));
    }
    h.publish(service('a', 5));
    for (const c of [onA, wildcard]) {
      const r = await c.next(TYPE_URL.endpoint);
      expect(names(r)).toEqual(['a']);
      expect(r.removed).toEqual([]);
    }
    expect(await onB.quietFor(QUIET_MS)).toEqual([]);
  });

  it('subscribes and unsubscribes by name, and reports a missing name as removed', async () => {
    const c = client();
    c.send({ typeUrl: TYPE_URL.endpoint, subscribe: ['a', 'ghost'], node: { id: 'n1' } });
    const first = await c.next(TYPE_URL.endpoint);
    expect(names(first)).toEqual(['a']);
    expect(first.removed).toEqual(['ghost']);
    c.ack(first);
    c.send({ typeUrl: TYPE_URL.endpoint, subscribe: ['b'] });
    expect(names(await c.next(TYPE_URL.endpoint))).toEqual(['b']);
    c.send({ typeUrl: TYPE_URL.endpoint, unsubscribe: ['a'] });
    const sub = () => (h.server.connectedStreams()[0] as DeltaStream).subscriptions.get(TYPE_URL.endpoint)!;
    await eventually(() => expect(sub().names.has('a')).toBe(false));
    h.publish(service('a', 7));
    expect(await c.quietFor(QUIET_MS)).toEqual([]);
    // Subscribing again delivers the current version, even though the client once held one.
    c.send({ typeUrl: TYPE_URL.endpoint, subscribe: ['a'] });
    const again = await c.next(TYPE_URL.endpoint);
    expect(names(again)).toEqual(['a']);
    expect(again.resources[0]!.version).toBe(h.cache.get(TYPE_URL.endpoint, 'a')!.version);
  });

  it('on reconnect sends only what differs from initial_resource_versions, and removes what is gone', async () => {
    const current = h.cache.get(TYPE_URL.cluster, 'a')!.version;
    const c = client();
    c.send({
      typeUrl: TYPE_URL.cluster,
      node: { id: 'back' },
      subscribe: ['*'],
      initialVersions: { a: current, b: 'stale-version', gone: 'whatever' },
    });
    const r = await c.next(TYPE_URL.cluster);
    expect(names(r)).toEqual(['b', 'c']);
    expect(r.removed).toEqual(['gone']);
  });

  it('tells a subscriber when a resource is removed', async () => {
    const c = client();
    c.send({ typeUrl: TYPE_URL.route, node: { id: 'n1' } });
    c.ack(await c.next(TYPE_URL.route));
    h.cache.apply([{ typeUrl: TYPE_URL.route, upserts: [], removals: ['b'] }]);
    const r = await c.next(TYPE_URL.route);
    expect(r.resources).toEqual([]);
    expect(r.removed).toEqual(['b']);
  });

  it('does not re-send a NACKed resource, sends its next version, and reports NACKED until then', async () => {
    const c = client();
    c.send({ typeUrl: TYPE_URL.endpoint, subscribe: ['a'], node: { id: 'picky' } });
    c.ack(await c.next(TYPE_URL.endpoint));
    h.publish(service('a', 3));
    const bad = await c.next(TYPE_URL.endpoint);
    c.nack(bad, 'rejected by test');
    expect(await c.quietFor(QUIET_MS)).toEqual([]);
    expect(await counter(h.metrics, 'nacks', 'EDS')).toBe(1);
    const stream = h.server.connectedStreams()[0] as DeltaStream;
    expect(stream.subscriptions.get(TYPE_URL.endpoint)!.syncState()).toBe('NACKED');
    h.publish(service('a', 4));
    const next = await c.next(TYPE_URL.endpoint);
    expect(names(next)).toEqual(['a']);
    c.ack(next);
    await c.quietFor(100);
    expect(stream.subscriptions.get(TYPE_URL.endpoint)!.syncState()).toBe('SYNCED');
  });

  it('pushes clusters before endpoints when a new service appears', async () => {
    const c = client();
    c.send({ typeUrl: TYPE_URL.cluster, node: { id: 'n1' } });
    c.ack(await c.next(TYPE_URL.cluster));
    c.send({ typeUrl: TYPE_URL.endpoint, subscribe: ['a', 'new'] });
    c.ack(await c.next(TYPE_URL.endpoint));
    const from = c.responses.length;
    h.publish(service('new', 1));
    await c.next(TYPE_URL.endpoint, 3000, from);
    expect(c.responses.slice(from).map((r) => r.typeUrl)).toEqual([TYPE_URL.cluster, TYPE_URL.endpoint]);
  });

  it('serves an Envoy sidecar its outbound listener, and only the route that changed', async () => {
    const c = client();
    c.send({ typeUrl: TYPE_URL.listener, node: { id: 'envoy-delta', userAgent: 'envoy' } });
    const listeners = await c.next(TYPE_URL.listener);
    expect(names(listeners)).toEqual(['zkxds-outbound-8080']);
    c.ack(listeners);
    c.send({ typeUrl: TYPE_URL.route, subscribe: ['zkxds-outbound-8080'] });
    c.ack(await c.next(TYPE_URL.route));
    // A policy change to one service rebuilds its port's route; instance changes do not.
    h.publish(service('a', 4));
    expect((await c.quietFor(QUIET_MS)).filter((r) => r.typeUrl === TYPE_URL.route)).toEqual([]);
    h.publish(service('a', 4, { requestTimeoutMs: 1500 }));
    const route = await c.next(TYPE_URL.route);
    expect(names(route)).toEqual(['zkxds-outbound-8080']);
  });

  it('serves the per-type delta EDS service', async () => {
    const c = client('eds');
    c.send({ typeUrl: TYPE_URL.endpoint, subscribe: ['c'], node: { id: 'n1' } });
    expect(names(await c.next(TYPE_URL.endpoint))).toEqual(['c']);
  });

  it('answers the first request of a type it does not serve with an empty response', async () => {
    const c = client();
    c.send({ typeUrl: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', node: { id: 'n1' } });
    const r = await c.next();
    expect(r.resources).toEqual([]);
  });
});
