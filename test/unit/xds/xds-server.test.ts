// XdsServer on its own: in-memory caches, no catalog or ZooKeeper, raw clients on loopback. What it
// adds to the streams: which view (cache) a proxy is served, stream bookkeeping and its gauge, the
// ACK/NACK listeners, cache changes reaching only the streams of that cache, the unserved REST
// fetch, and shutdown ending every stream.
import { afterEach, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { TYPE_URL } from '../../../src/xds/resource-types.js';
import type { ProxyReply } from '../../../src/xds/stream-base.js';
import { AdsClient, serviceCtors } from '../../support/ads-client.js';
import { service } from '../../support/catalog-fixtures.js';
import { eventually } from '../../support/eventually.js';
import { startHarness, type Harness } from '../../support/xds-harness.js';

const QUIET_MS = 300;
let h: Harness | undefined;
const clients: AdsClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await h?.server.shutdown(500);
  h = undefined;
});

function client(address: string): AdsClient {
  const c = new AdsClient(address);
  clients.push(c);
  return c;
}

async function gauge(harness: Harness, api: string): Promise<number> {
  return (await harness.metrics.connectedStreams.get()).values.find((v) => v.labels.api === api)?.value ?? 0;
}

describe('XdsServer', () => {
  it('serves a sidecar its own cache and a gRPC client the proxyless one, and sends a cache change only to the streams of that cache', async () => {
    h = await startHarness([service('orders', 1)]);
    const grpcClient = client(h.address);
    const envoy = client(h.address);
    grpcClient.send({ typeUrl: TYPE_URL.listener, node: { id: 'grpc-1' } });
    envoy.send({ typeUrl: TYPE_URL.listener, node: { id: 'envoy-1', userAgent: 'envoy' } });
    const grpcListeners = await grpcClient.next(TYPE_URL.listener);
    const envoyListeners = await envoy.next(TYPE_URL.listener);
    expect(grpcListeners.resources.map((r) => r.name).sort()).toEqual(['orders']);
    expect(envoyListeners.resources.map((r) => r.name)).toEqual(['zkxds-outbound-8080']);
    grpcClient.ack(grpcListeners);
    envoy.ack(envoyListeners);

    // A change in the sidecar cache alone: the port's listener removed.
    h.sidecarCache.apply([{ typeUrl: TYPE_URL.listener, upserts: [], removals: ['zkxds-outbound-8080'] }]);
    const update = await envoy.next(TYPE_URL.listener);
    expect(update.resources).toEqual([]);
    expect(await grpcClient.quietFor(QUIET_MS)).toEqual([]);
  });

  it('keeps one entry and one gauge count per open stream, and forgets a stream when its client goes', async () => {
    h = await startHarness([service('orders', 1)]);
    const a = client(h.address);
    const b = client(h.address);
    a.send({ typeUrl: TYPE_URL.cluster, node: { id: 'a' } });
    b.send({ typeUrl: TYPE_URL.cluster, node: { id: 'b' } });
    await a.next(TYPE_URL.cluster);
    await b.next(TYPE_URL.cluster);
    expect(
      h.server
        .connectedStreams()
        .map((s) => s.nodeId)
        .sort(),
    ).toEqual(['a', 'b']);
    expect(await gauge(h, 'ads')).toBe(2);
    a.close();
    await eventually(() => expect(h!.server.connectedStreams().map((s) => s.nodeId)).toEqual(['b']));
    expect(await gauge(h, 'ads')).toBe(1);
  });

  it('tells reply listeners of every ACK and NACK with the node and version, until they unsubscribe', async () => {
    h = await startHarness([service('orders', 1)]);
    const replies: ProxyReply[] = [];
    const unsubscribe = h.server.onReply((r) => replies.push(r));
    const c = client(h.address);
    c.send({ typeUrl: TYPE_URL.cluster, node: { id: 'listener-test' } });
    const first = await c.next(TYPE_URL.cluster);
    c.ack(first);
    await eventually(() => expect(replies.map((r) => [r.kind, r.nodeId, r.version])).toEqual([['ack', 'listener-test', first.versionInfo]]));
    h.publish(service('other', 1));
    const second = await c.next(TYPE_URL.cluster);
    c.nack(second, first.versionInfo, 'bad');
    await eventually(() => expect(replies.map((r) => r.kind)).toEqual(['ack', 'nack']));
    expect(replies[1]!.version).toBe(second.versionInfo);
    unsubscribe();
    h.publish(service('third', 1));
    c.ack(await c.next(TYPE_URL.cluster));
    await c.quietFor(QUIET_MS);
    expect(replies).toHaveLength(2);
  });

  it('answers the REST-style fetch with UNIMPLEMENTED', async () => {
    h = await startHarness([service('orders', 1)]);
    const Ctor = serviceCtors().cds!;
    const raw = new Ctor(h.address, grpc.credentials.createInsecure());
    try {
      const err = await new Promise<grpc.ServiceError>((resolve) =>
        (raw.FetchClusters as (req: object, cb: (e: grpc.ServiceError | null) => void) => void).call(raw, { type_url: TYPE_URL.cluster }, (e) => resolve(e!)),
      );
      expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
    } finally {
      raw.close();
    }
  });

  it('ends every open stream on shutdown', async () => {
    const harness = await startHarness([service('orders', 1)]);
    const c = client(harness.address);
    c.send({ typeUrl: TYPE_URL.cluster, node: { id: 'n' } });
    await c.next(TYPE_URL.cluster);
    await harness.server.shutdown(500);
    await eventually(() => expect(c.ended).toBe(true));
    expect(harness.server.connectedStreams()).toEqual([]);
  });
});
