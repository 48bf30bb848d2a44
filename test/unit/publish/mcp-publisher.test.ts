import { describe, expect, it } from '@jest/globals';
import { createMetrics } from '../../../src/observability/metrics.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { McpPublisher } from '../../../src/publish/mcp-publisher.js';
import { decodeMcpResource, decodeServiceEntryBody, MCP_SERVICE_ENTRY_TYPE_URLS } from '../../../src/publish/mcp-resources.js';
import { ResourceCache } from '../../../src/xds/resource-cache.js';
import { service } from '../../support/catalog-fixtures.js';

const [V1, V1ALPHA3] = MCP_SERVICE_ENTRY_TYPE_URLS;

function setup() {
  const caches = [new ResourceCache([...MCP_SERVICE_ENTRY_TYPE_URLS]), new ResourceCache([...MCP_SERVICE_ENTRY_TYPE_URLS])];
  const metrics = createMetrics();
  const publisher = new McpPublisher(caches, { namespace: 'zk-xds', exportTo: ['*'], domainSuffix: 'svc.zk' }, silentLogger(), metrics, () => 1000);
  return { caches, metrics, publisher };
}

describe('McpPublisher', () => {
  it('puts every service with a port into each cache under both type URLs, named <namespace>/<name>', () => {
    const { caches, publisher } = setup();
    publisher.publish({ upserts: [service('a', 2), service('b', 1), service('none', 0)] });
    for (const cache of caches) {
      for (const t of [V1!, V1ALPHA3!]) expect([...cache.entries(t).keys()].sort()).toEqual(['zk-xds/a', 'zk-xds/b']);
    }
    const { resource } = decodeMcpResource(caches[0]!.get(V1!, 'zk-xds/a')!.anyBytes);
    expect(resource.metadata.createTimeSeconds).toBe(1000);
    expect(decodeServiceEntryBody(resource.body).hosts).toEqual(['a.svc.zk']);
  });

  it('changes the type version only when an entry changes, and removes an entry whose service lost its port', () => {
    const { caches, publisher } = setup();
    publisher.publish({ upserts: [service('a', 2)] });
    const v = caches[0]!.version(V1!);
    // Same instances under other znodes: same entry, same version.
    publisher.publish({ upserts: [{ ...service('a', 2), instances: service('a', 2).instances.map((i) => ({ ...i, source: `${i.source}-new`, id: 'x' })) }] });
    expect(caches[0]!.version(V1!)).toBe(v);
    publisher.publish({ upserts: [service('a', 3)] });
    expect(caches[0]!.version(V1!)).not.toBe(v);
    publisher.publish({ upserts: [service('a', 0)] });
    expect(caches[0]!.entries(V1!).size).toBe(0);
  });

  it('leaves out an entry Istio would reject, keeps the previous one, and counts it', async () => {
    const { caches, metrics, publisher } = setup();
    publisher.publish({ upserts: [service('ok', 1)] });
    publisher.publish({ upserts: [service('Not_A_Host', 1)] });
    expect([...caches[0]!.entries(V1!).keys()]).toEqual(['zk-xds/ok']);
    expect(publisher.rejectedEntries().get('Not_A_Host')).toEqual([
      'hosts[0]: "Not_A_Host.svc.zk" is not a host name (a wildcard may only be the first label)',
    ]);
    expect((await metrics.istioServiceEntriesRejected.get()).values[0]!.value).toBe(1);
    expect((await metrics.istioServiceEntriesRejectedTotal.get()).values[0]!.value).toBe(1);
    // Gone from the catalog's instances: nothing to reject any more.
    publisher.publish({ upserts: [service('Not_A_Host', 0)] });
    expect(publisher.rejectedEntries().size).toBe(0);
    expect((await metrics.istioServiceEntriesRejected.get()).values[0]!.value).toBe(0);
  });
});
