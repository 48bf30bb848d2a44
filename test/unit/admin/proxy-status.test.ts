// The proxy table merges a node's streams: one entry per node, the worse state per type.
import { describe, expect, it } from '@jest/globals';
import { SotwStream } from '../../../src/xds/sotw-stream.js';
import { ResourceCache } from '../../../src/xds/resource-cache.js';
import { SharedBodies } from '../../../src/xds/shared-bodies.js';
import { encodeResource } from '../../../src/xds/resource-encoding.js';
import { RESOURCE_KINDS, TYPE_URL } from '../../../src/xds/resource-types.js';
import type { DiscoveryRequestMessage, OutgoingDiscoveryResponse } from '../../../src/xds/discovery-messages.js';
import type { StreamEnvironment } from '../../../src/xds/stream-base.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { allProxies, countProxiesByKind } from '../../../src/admin/proxy-status.js';

const cache = new ResourceCache(RESOURCE_KINDS.map((k) => TYPE_URL[k]));
cache.apply([{ typeUrl: TYPE_URL.endpoint, upserts: [encodeResource(TYPE_URL.endpoint, 'echo', { cluster_name: 'echo', endpoints: [] })], removals: [] }]);
const env: StreamEnvironment = {
  viewFor: () => ({ name: 'proxyless', kind: 'proxyless', cache, bodies: new SharedBodies(cache) }),
  log: silentLogger(),
  metrics: createMetrics({ defaultMetrics: false }),
  schedule: (s) => s.flush(),
  minPushIntervalMs: 0,
};
let nextId = 1;

function request(node: string | null, fields: Partial<DiscoveryRequestMessage> = {}): DiscoveryRequestMessage {
  return {
    version_info: '',
    node: node ? { id: node, cluster: 'c', user_agent_name: 'gRPC Node', locality: null } : null,
    resource_names: ['echo'],
    type_url: TYPE_URL.endpoint,
    response_nonce: '',
    error_detail: null,
    ...fields,
  };
}

/** A stream that subscribed to EDS 'echo' and then ACKed or NACKed the answer. */
function streamThat(reply: 'ack' | 'nack' | 'none', node: string): SotwStream {
  const sent: OutgoingDiscoveryResponse[] = [];
  const stream = new SotwStream(
    { id: nextId++, api: 'ads', peer: 'ipv4:127.0.0.1:1', connectedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, nextId)) },
    {
      write: (r, done) => {
        sent.push(r);
        done();
      },
    },
    env,
  );
  stream.onRequest(request(node));
  const nonce = sent[0]!.nonce;
  const version = cache.version(TYPE_URL.endpoint);
  if (reply === 'ack') stream.onRequest(request(null, { response_nonce: nonce, version_info: version }));
  if (reply === 'nack') stream.onRequest(request(null, { response_nonce: nonce, error_detail: { code: 3, message: 'bad' } }));
  return stream;
}

describe('proxy status', () => {
  it('gives one entry per node, listing its streams, with the worse state of a type carried twice', () => {
    const streams = [streamThat('ack', 'n1'), streamThat('nack', 'n1'), streamThat('none', 'n2'), streamThat('ack', 'n3')];
    const proxies = allProxies({ connectedStreams: () => streams });
    expect(proxies.map((p) => p.node)).toEqual(['n1', 'n2', 'n3']);
    const version = cache.version(TYPE_URL.endpoint);
    expect(proxies[0]).toMatchObject({
      cluster: 'c',
      userAgent: 'gRPC Node',
      kind: 'proxyless',
      protocol: 'sotw',
      connectedSince: streams[0]!.info.connectedAt.toISOString(),
    });
    expect(proxies[0]!.types.EDS).toMatchObject({ state: 'NACKED', sent: version, acked: '', lastNack: { version, message: 'bad' }, subscribed: 1 });
    expect(proxies[0]!.streams.map((s) => s.types[0]!.state)).toEqual(['SYNCED', 'NACKED']);
    expect(proxies[1]!.types.EDS).toMatchObject({ state: 'STALE', sent: version, acked: '' });
    expect(proxies[2]!.types.EDS).toMatchObject({ state: 'SYNCED', sent: version, acked: version, lastNack: null });
    expect(countProxiesByKind({ connectedStreams: () => streams })).toEqual({ proxyless: 3, sidecar: 0 });
  });
});
