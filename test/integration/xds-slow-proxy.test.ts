// A proxy that stops reading, over real HTTP/2: zk-xds hands its transport one response and builds
// nothing more for it while that one has not left, however many changes come (they coalesce into
// the next response, built when the proxy reads again). Before, every change queued another
// response in grpc-js's write buffer (up to 16 per stream).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startHarness, counter, type Harness } from '../support/xds-harness.js';
import { service } from '../support/catalog-fixtures.js';
import { openStuckStreams, type StuckStreams } from '../support/stuck-streams.js';
import { AdsClient } from '../support/ads-client.js';
import { eventually } from '../support/eventually.js';
import { TYPE_URL } from '../../src/xds/resource-types.js';

const SERVICES = 50;
const name = (i: number) => `svc-${String(i).padStart(5, '0')}`;
const sent = async (h: Harness) => {
  let n = 0;
  for (const type of ['CDS', 'EDS', 'LDS', 'RDS']) n += await counter(h.metrics, 'responsesSent', type);
  return n;
};

describe('a proxy that stops reading', () => {
  let h: Harness;
  let stuck: StuckStreams;
  beforeAll(async () => {
    h = await startHarness(Array.from({ length: SERVICES }, (_, i) => service(name(i), 20)));
  });
  afterAll(async () => {
    await stuck?.close();
    await h.server.shutdown(200);
  });

  it('holds one response in the transport while changes coalesce, and healthy proxies get every change', async () => {
    stuck = await openStuckStreams({ address: h.address, streams: 1, connections: 1 });
    await eventually(async () => expect(await sent(h)).toBe(1), 10000);
    const healthy = new AdsClient(h.address);
    healthy.send({ typeUrl: TYPE_URL.cluster, node: { id: 'healthy', userAgent: 'envoy' } });
    const first = await healthy.next(TYPE_URL.cluster, 10000);
    healthy.ack(first);
    const before = await sent(h);
    for (let k = 0; k < 10; k++) h.publish(service(name(SERVICES + k), 1));
    // The healthy proxy is pushed the new clusters...
    await eventually(async () => {
      const last = healthy.responses.filter((r) => r.typeUrl === TYPE_URL.cluster).at(-1)!;
      expect(last.resources).toHaveLength(SERVICES + 10);
      healthy.ack(last);
    }, 10000);
    // ...while nothing more was built for the stuck one: every response since went to the healthy proxy.
    const healthyResponses = healthy.responses.length - 1;
    expect((await sent(h)) - before).toBe(healthyResponses);
    expect(h.server.connectedStreams()).toHaveLength(2);
    healthy.close();
  });
});
