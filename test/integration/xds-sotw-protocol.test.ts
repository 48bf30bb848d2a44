// The state-of-the-world xDS protocol as served over real gRPC: subscriptions, ACK/NACK, stale
// nonces, what is re-sent on a change, push order, and reconnects after a restart.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import { startHarness, counter, type Harness } from '../support/xds-harness.js';
import { AdsClient } from '../support/ads-client.js';
import { service } from '../support/catalog-fixtures.js';

const QUIET_MS = 300;

describe('state-of-the-world ADS', () => {
  let h: Harness;
  let clients: AdsClient[];
  const client = () => {
    const c = new AdsClient(h.address);
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    clients = [];
    h = await startHarness([service('a', 2), service('b', 3)]);
  });
  afterEach(async () => {
    for (const c of clients) c.close();
    await h.server.shutdown(500);
  });

  it('answers a wildcard CDS request with every cluster and stays quiet after the ACK', async () => {
    const c = client();
    c.send({ typeUrl: TYPE_URL.cluster, node: { id: 'n1' } });
    const r = await c.next(TYPE_URL.cluster);
    expect(r.resources.map((x) => x.name).sort()).toEqual(['a', 'b']);
    expect(r.versionInfo).not.toBe('');
    expect(r.nonce).not.toBe('');
    c.ack(r);
    expect(await c.quietFor(QUIET_MS)).toEqual([]);
    expect(await counter(h.metrics, 'acks', 'CDS')).toBe(1);
  });

  it('answers a first request that carries a nonce it never sent (istiod does this)', async () => {
    const c = client();
    c.send({ typeUrl: TYPE_URL.cluster, nonce: '2024-11-21 10:00:00.000 +0000 UTC', node: { id: 'istiod' } });
    const r = await c.next(TYPE_URL.cluster);
    expect(r.resources).toHaveLength(2);
  });

  it('sends only the changed ClusterLoadAssignment to the streams subscribed to it', async () => {
    const onA = client();
    const onB = client();
    for (const [c, name] of [
      [onA, 'a'],
      [onB, 'b'],
    ] as const) {
      c.send({ typeUrl: TYPE_URL.endpoint, names: [name], node: { id: `n-${name}` } });
      c.ack(await c.next(TYPE_URL.endpoint), [name]);
    }
    h.publish(service('a', 4));
    const update = await onA.next(TYPE_URL.endpoint);
    expect(update.resources.map((x) => x.name)).toEqual(['a']);
    const lb = (update.resources[0]!.object.endpoints as Array<{ lb_endpoints: unknown[] }>)[0]!.lb_endpoints;
    expect(lb).toHaveLength(4);
    expect(await onB.quietFor(QUIET_MS)).toEqual([]);
  });

  it('sends EDS-only changes to a wildcard EDS stream as just the changed resource', async () => {
    const c = client();
    c.send({ typeUrl: TYPE_URL.endpoint, node: { id: 'n1' } });
    const first = await c.next(TYPE_URL.endpoint);
    expect(first.resources.map((x) => x.name).sort()).toEqual(['a', 'b']);
    c.ack(first);
    h.publish(service('b', 1));
    const update = await c.next(TYPE_URL.endpoint);
    expect(update.resources.map((x) => x.name)).toEqual(['b']);
    expect(update.versionInfo).not.toBe(first.versionInfo);
  });

  it('does not re-send a NACKed version, and sends the next change', async () => {
    const c = client();
    c.send({ typeUrl: TYPE_URL.cluster, node: { id: 'picky' } });
    const r = await c.next(TYPE_URL.cluster);
    c.nack(r, '', 'xDS response validation errors: [resource index 0: bad]');
    expect(await c.quietFor(QUIET_MS)).toEqual([]);
    expect(await counter(h.metrics, 'nacks', 'CDS')).toBe(1);
    const stream = h.server.connectedStreams()[0]!;
    expect(stream.subscriptions.get(TYPE_URL.cluster)!.syncState()).toBe('NACKED');
    h.publish(service('c', 1));
    const next = await c.next(TYPE_URL.cluster);
    expect(next.resources.map((x) => x.name).sort()).toEqual(['a', 'b', 'c']);
    expect(next.versionInfo).not.toBe(r.versionInfo);
  });

  it('does not re-send a NACKed push that the NACK names again (as gRPC clients send it), while other types flow, and sends the next change', async () => {
    const c = client();
    c.send({ typeUrl: TYPE_URL.endpoint, names: ['a'], node: { id: 'picky-eds' } });
    const initial = await c.next(TYPE_URL.endpoint);
    c.ack(initial, ['a']);
    c.send({ typeUrl: TYPE_URL.cluster });
    c.ack(await c.next(TYPE_URL.cluster));
    h.publish(service('a', 4));
    const rejected = await c.next(TYPE_URL.endpoint);
    c.nack(rejected, initial.versionInfo, 'xDS response validation errors: [resource index 0: bad]', ['a']);
    // A new service: a cluster push for this stream, but nothing for endpoint `a`.
    h.publish(service('c', 1));
    c.ack(await c.next(TYPE_URL.cluster));
    expect(await c.quietFor(QUIET_MS)).toEqual([]);
    expect(c.responses.filter((r) => r.typeUrl === TYPE_URL.endpoint && r.versionInfo === rejected.versionInfo)).toHaveLength(1);
    expect(h.server.connectedStreams()[0]!.subscriptions.get(TYPE_URL.endpoint)!.syncState()).toBe('NACKED');
    h.publish(service('a', 5));
    const next = await c.next(TYPE_URL.endpoint);
    expect(next.versionInfo).not.toBe(rejected.versionInfo);
    expect((next.resources[0]!.object.endpoints as Array<{ lb_endpoints: unknown[] }>)[0]!.lb_endpoints).toHaveLength(5);
  });

  it('ignores a request that answers an outdated nonce', async () => {
    const c = client();
    c.send({ typeUrl: TYPE_URL.cluster, node: { id: 'n1' } });
    const first = await c.next(TYPE_URL.cluster);
    h.publish(service('c', 1));
    const second = await c.next(TYPE_URL.cluster);
    // A late ACK of the first response must not trigger anything.
    c.ack(first);
    expect(await c.quietFor(QUIET_MS)).toEqual([]);
    expect(await counter(h.metrics, 'staleRequests', 'CDS')).toBe(1);
    c.ack(second);
    expect(await c.quietFor(QUIET_MS)).toEqual([]);
    expect(h.server.connectedStreams()[0]!.subscriptions.get(TYPE_URL.cluster)!.syncState()).toBe('SYNCED');
  });

  it('pushes clusters before endpoints and listeners before routes when a service appears', async () => {
    const c = client();
    c.send({ typeUrl: TYPE_URL.cluster, node: { id: 'n1' } });
    c.ack(await c.next(TYPE_URL.cluster));
    c.send({ typeUrl: TYPE_URL.endpoint, names: ['a', 'b', 'new'] });
    c.ack(await c.next(TYPE_URL.endpoint), ['a', 'b', 'new']);
    c.send({ typeUrl: TYPE_URL.listener });
    c.ack(await c.next(TYPE_URL.listener));
    c.send({ typeUrl: TYPE_URL.route, names: ['a', 'b', 'new'] });
    c.ack(await c.next(TYPE_URL.route), ['a', 'b', 'new']);
    const from = c.responses.length;
    h.publish(service('new', 1));
    await c.next(TYPE_URL.route, 3000, from);
    const order = c.responses.slice(from).map((r) => r.typeUrl);
    expect(order).toEqual([TYPE_URL.cluster, TYPE_URL.endpoint, TYPE_URL.listener, TYPE_URL.route]);
  });

  it('delivers newly subscribed names without re-sending the others', async () => {
    const c = client();
    c.send({ typeUrl: TYPE_URL.endpoint, names: ['a'], node: { id: 'n1' } });
    const r = await c.next(TYPE_URL.endpoint);
    c.ack(r, ['a', 'b']);
    const added = await c.next(TYPE_URL.endpoint);
    expect(added.resources.map((x) => x.name)).toEqual(['b']);
  });

  it.each([
    ['an Envoy user agent', { userAgent: 'envoy' }, 'sidecar'],
    ['node metadata zkxds.io/proxy=sidecar', { metadata: { 'zkxds.io/proxy': 'sidecar' } }, 'sidecar'],
    ['an Envoy that declares itself proxyless', { userAgent: 'envoy', metadata: { 'zkxds.io/proxy': 'proxyless' } }, 'proxyless'],
    ['a gRPC user agent', { userAgent: 'gRPC Node' }, 'proxyless'],
  ])('serves the view chosen by %s', async (_label, node, kind) => {
    const c = client();
    c.send({ typeUrl: TYPE_URL.listener, node: { id: 'n1', ...node } });
    const r = await c.next(TYPE_URL.listener);
    const names = r.resources.map((x) => x.name).sort();
    // No server Listeners: neither service's policy has an mtls or authorization section.
    expect(names).toEqual(kind === 'sidecar' ? ['zkxds-outbound-8080'] : ['a', 'b']);
  });

  it('answers a type it does not serve with an empty list', async () => {
    const c = client();
    c.send({ typeUrl: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', node: { id: 'n1' } });
    const r = await c.next();
    expect(r.resources).toEqual([]);
  });

  it('serves the per-type EDS service', async () => {
    const c = new AdsClient(h.address, 'eds');
    clients.push(c);
    c.send({ typeUrl: TYPE_URL.endpoint, names: ['b'], node: { id: 'n1' } });
    const r = await c.next(TYPE_URL.endpoint);
    expect(r.resources.map((x) => x.name)).toEqual(['b']);
  });

  it('answers a client back from a server restart that re-requests with its old version', async () => {
    const c = client();
    c.send({ typeUrl: TYPE_URL.cluster, node: { id: 'n1' } });
    const before = await c.next(TYPE_URL.cluster);
    c.close();
    await h.server.shutdown(500);
    // Same registrations, new process: the client comes back with the version it holds.
    h = await startHarness([service('a', 2), service('b', 3)]);
    const again = client();
    again.send({ typeUrl: TYPE_URL.cluster, versionInfo: before.versionInfo, node: { id: 'n1' } });
    const r = await again.next(TYPE_URL.cluster);
    expect(r.resources).toHaveLength(2);
    // Versions are content hashes: identical content, identical version on any replica or restart.
    expect(r.versionInfo).toBe(before.versionInfo);
  });
});

describe('a minimum interval between pushes', () => {
  it('coalesces changes made within the interval into one push, sent once the interval is over', async () => {
    const intervalMs = 1000;
    const h = await startHarness([service('a', 1), service('b', 1)], { minPushIntervalMs: intervalMs });
    const c = new AdsClient(h.address);
    try {
      c.send({ typeUrl: TYPE_URL.endpoint, names: ['a', 'b'], node: { id: 'n1' } });
      c.ack(await c.next(TYPE_URL.endpoint), ['a', 'b']);
      h.publish(service('a', 2));
      const first = await c.next(TYPE_URL.endpoint);
      c.ack(first, ['a', 'b']);
      // Two changes inside the interval: one push, after the interval, carrying both.
      h.publish(service('a', 3));
      await new Promise((r) => setTimeout(r, 50));
      h.publish(service('b', 3));
      const coalesced = await c.next(TYPE_URL.endpoint, 10_000);
      expect(coalesced.at - first.at).toBeGreaterThanOrEqual(intervalMs - 1);
      expect(coalesced.resources.map((r) => r.name).sort()).toEqual(['a', 'b']);
    } finally {
      c.close();
      await h.server.shutdown(500);
    }
  });

  it('answers a new subscription without waiting for the interval, and the changes held until then go with it', async () => {
    // An interval far longer than the test: anything that arrives was not held by it.
    const h = await startHarness([service('a', 1)], { minPushIntervalMs: 600_000 });
    const c = new AdsClient(h.address);
    try {
      c.send({ typeUrl: TYPE_URL.endpoint, names: ['a'], node: { id: 'n1' } });
      const initial = await c.next(TYPE_URL.endpoint);
      c.ack(initial, ['a']);
      h.publish(service('a', 2));
      c.send({ typeUrl: TYPE_URL.cluster });
      const clusters = await c.next(TYPE_URL.cluster, 10_000);
      const held = await c.next(TYPE_URL.endpoint, 10_000, c.responses.indexOf(initial) + 1);
      expect(clusters.resources.map((r) => r.name)).toEqual(['a']);
      // Push order within the round: clusters before their endpoints.
      expect(c.responses.indexOf(clusters)).toBeLessThan(c.responses.indexOf(held));
      expect(JSON.stringify(held.resources[0]!.object)).toContain('10.0.0.2');
    } finally {
      c.close();
      await h.server.shutdown(500);
    }
  });
});
