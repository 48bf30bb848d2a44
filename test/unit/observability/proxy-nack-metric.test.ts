// zkxds_xds_proxy_nacks_total is labelled by node id: its series must stay bounded.
import { describe, expect, it } from '@jest/globals';
import { createMetrics, NACK_NODE_SERIES_LIMIT, NACK_OTHER_NODE } from '../../../src/observability/metrics.js';

async function series(metrics: ReturnType<typeof createMetrics>): Promise<Array<{ node: string; type: string; value: number }>> {
  const text = await metrics.registry.getSingleMetricAsString('zkxds_xds_proxy_nacks_total');
  return [...text.matchAll(/^zkxds_xds_proxy_nacks_total\{node="([^"]*)",type="([^"]*)"\} (\d+)$/gm)].map((m) => ({
    node: m[1]!,
    type: m[2]!,
    value: Number(m[3]),
  }));
}

describe('per-proxy NACK metric', () => {
  it('counts NACKs per node and type, and drops the series of proxies no longer connected', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let connected = new Set(['a', 'b']);
    metrics.setProxySource(
      () => ({}),
      () => connected,
    );
    metrics.recordProxyNack('a', 'EDS');
    metrics.recordProxyNack('a', 'EDS');
    metrics.recordProxyNack('a', 'CDS');
    metrics.recordProxyNack('b', 'LDS');
    expect(await series(metrics)).toEqual([
      { node: 'a', type: 'EDS', value: 2 },
      { node: 'a', type: 'CDS', value: 1 },
      { node: 'b', type: 'LDS', value: 1 },
    ]);
    connected = new Set(['b']);
    expect(await series(metrics)).toEqual([{ node: 'b', type: 'LDS', value: 1 }]);
  });

  it(`counts nodes beyond ${NACK_NODE_SERIES_LIMIT} under node="${NACK_OTHER_NODE}"`, async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const nodes = Array.from({ length: NACK_NODE_SERIES_LIMIT + 5 }, (_, i) => `n${i}`);
    metrics.setProxySource(
      () => ({}),
      () => new Set(nodes),
    );
    for (const n of nodes) metrics.recordProxyNack(n, 'EDS');
    const s = await series(metrics);
    expect(s).toHaveLength(NACK_NODE_SERIES_LIMIT + 1);
    expect(s.find((x) => x.node === NACK_OTHER_NODE)).toEqual({ node: NACK_OTHER_NODE, type: 'EDS', value: 5 });
    // A node that already has a series keeps it.
    metrics.recordProxyNack('n0', 'EDS');
    expect((await series(metrics)).find((x) => x.node === 'n0')!.value).toBe(2);
  });
});
