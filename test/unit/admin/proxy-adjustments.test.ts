// "not applied for <client>": per proxy, the adjustments of the services it subscribes to (a
// subset cluster counts as its service, a wildcard counts every service), grouped by client.
import { describe, expect, it } from '@jest/globals';
import { SotwStream } from '../../../src/xds/sotw-stream.js';
import { ResourceCache } from '../../../src/xds/resource-cache.js';
import { SharedBodies } from '../../../src/xds/shared-bodies.js';
import { RESOURCE_KINDS, TYPE_URL } from '../../../src/xds/resource-types.js';
import type { StreamEnvironment } from '../../../src/xds/stream-base.js';
import type { ViewName } from '../../../src/xds/client-profile.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { proxyNotApplied } from '../../../src/admin/proxy-adjustments.js';
import { notAppliedReport } from '../../../src/cli/status-command.js';
import { CatalogPublisher } from '../../../src/publish/catalog-publisher.js';
import type { Service } from '../../../src/catalog/model.js';
import { service } from '../../support/catalog-fixtures.js';

const types = RESOURCE_KINDS.map((k) => TYPE_URL[k]);
const caches = { proxyless: new ResourceCache(types), sidecar: new ResourceCache(types), 'grpc-core-1.51': new ResourceCache(types) };
const publisher = new CatalogPublisher(caches, { domainSuffix: '', sidecarBindAddress: '0.0.0.0' }, silentLogger(), createMetrics({ defaultMetrics: false }));
const catalog = new Map<string, Service>([
  ['hashed', service('hashed', 2, { loadBalancing: { policy: 'RING_HASH' }, trafficSplit: { label: 'v', subsets: [{ value: 'a', weight: 100 }] } })],
  ['fast', service('fast', 1, { requestTimeoutMs: 500, connectTimeoutMs: 100 })],
  ['plain', service('plain', 1)],
]);
publisher.publish({ upserts: [...catalog.values()] });
const adjustmentsOf = (s: Service) => publisher.adjustmentsOf(s);

function streamOf(view: ViewName, subscribe: Array<[string, string[]]>): SotwStream {
  const env: StreamEnvironment = {
    viewFor: () => ({ name: view, kind: view === 'sidecar' ? 'sidecar' : 'proxyless', cache: caches[view], bodies: new SharedBodies(caches[view]) }),
    log: silentLogger(),
    metrics: createMetrics({ defaultMetrics: false }),
    schedule: () => undefined,
    minPushIntervalMs: 0,
  };
  const stream = new SotwStream({ id: 1, api: 'ads', peer: 'p', connectedAt: new Date() }, { write: (_r, done) => done() }, env);
  for (const [typeUrl, names] of subscribe) {
    stream.onRequest({
      version_info: '',
      node: { id: 'n', cluster: 'c', user_agent_name: 'x', locality: null },
      resource_names: names,
      type_url: typeUrl,
      response_nonce: '',
      error_detail: null,
    });
  }
  return stream;
}

describe('proxyNotApplied', () => {
  it('C-core 1.51 subscribed to a subset cluster of a ring-hash service: ring hash left out, with why', () => {
    const list = proxyNotApplied([streamOf('grpc-core-1.51', [[TYPE_URL.cluster, ['hashed|v=a']]])], catalog, adjustmentsOf);
    expect(list.map((n) => [n.service, n.client, n.feature, n.outcome])).toEqual([['hashed', 'gRPC C-core 1.51', 'loadBalancing RING_HASH', 'left out']]);
  });

  it('a gRPC client listening to two services: only what gRPC lacks, ring hash kept', () => {
    const list = proxyNotApplied([streamOf('proxyless', [[TYPE_URL.listener, ['hashed', 'fast', 'plain']]])], catalog, adjustmentsOf);
    expect(list.map((n) => [n.service, n.feature])).toEqual([['fast', 'connectTimeoutMs']]);
  });

  it('a wildcard Envoy: nothing, Envoy is given every feature', () => {
    expect(proxyNotApplied([streamOf('sidecar', [[TYPE_URL.cluster, []]])], catalog, adjustmentsOf)).toEqual([]);
  });

  it('status groups the lines by client and names its proxies', () => {
    const core = proxyNotApplied([streamOf('grpc-core-1.51', [[TYPE_URL.listener, ['hashed', 'fast']]])], catalog, adjustmentsOf);
    const report = notAppliedReport([
      { node: 'py-2', notApplied: core },
      { node: 'py-1', notApplied: core },
      { node: 'envoy', notApplied: [] },
    ]);
    expect(report.split('\n').filter((l) => l.startsWith('not applied'))).toEqual(['not applied for gRPC C-core 1.51 (py-1, py-2):']);
    expect(report).toContain('\n  fast: requestTimeoutMs: gRPC C-core 1.51 fails calls');
    expect(report).toContain('\n  hashed: loadBalancing RING_HASH: gRPC C-core 1.51 crashes');
    expect(report).toContain('\n  fast: connectTimeoutMs: gRPC ignores Cluster.connect_timeout');
  });
});
