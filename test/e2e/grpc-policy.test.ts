// Traffic policy end to end with gRPC's own xDS client: a traffic split by instance label really
// splits calls, and every policy field zk-xds translates for proxyless gRPC is accepted (never NACKed).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import type { ZkTestClient } from '../support/zk-test-client.js';
import type { EchoBackend } from '../support/echo-backend.js';
import type { XdsClientProcess } from '../support/xds-client-process.js';
import { startGrpcEndToEnd, totalNacks, type GrpcEndToEnd } from '../support/grpc-end-to-end.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { eventually } from '../support/eventually.js';

let e2e: GrpcEndToEnd;
let app: ZkTestClient;
let server: RunningServer;
let client: XdsClientProcess;

const POLICY_PATH = '/zk-xds/policy/shop';

const nacks = () => totalNacks(server);

async function register(writer: ZkTestClient, started: readonly EchoBackend[]): Promise<void> {
  await writer.mkdirp('/services/shop');
  for (const b of started) {
    await writer.create(`/services/shop/${b.id}`, JSON.stringify({ address: b.host, port: b.port, metadata: { version: b.id.slice(0, 2) } }), {
      ephemeral: true,
    });
  }
  await writer.mkdirp('/zk-xds/policy');
  await writer.create(
    POLICY_PATH,
    JSON.stringify({
      protocol: 'grpc',
      trafficSplit: {
        label: 'version',
        subsets: [
          { value: 'v1', weight: 75 },
          { value: 'v2', weight: 25 },
        ],
      },
      requestTimeoutMs: 2000,
      retries: { attempts: 2, retryOn: ['unavailable', 'cancelled'] },
      circuitBreakers: { maxRequests: 500 },
      outlierDetection: { consecutive5xx: 5, intervalMs: 10000, baseEjectionTimeMs: 30000, maxEjectionPercent: 50 },
      connectTimeoutMs: 1000,
    }),
  );
}

beforeAll(async () => {
  e2e = await startGrpcEndToEnd({ backendIds: ['v1-a', 'v1-b', 'v2-a'], register, target: 'shop', nodeId: 'policy-client' });
  ({ app, server, client } = e2e);
}, 60000);

afterAll(async () => {
  await e2e?.stop();
});

describe('policy with gRPC proxyless clients', () => {
  it('splits calls across subsets by weight', async () => {
    await client.waitFor((seen) => seen.has('v1-a') && seen.has('v1-b') && seen.has('v2-a'), { timeoutMs: 15000, probeCalls: 40 });
    const results = await client.call(400);
    expect(results.every((r) => r.ok)).toBe(true);
    const v2 = results.filter((r) => r.ok && r.backend.startsWith('v2')).length / results.length;
    // 25% expected; the bounds leave room for randomness (400 calls: sd ~2.2%).
    expect(v2).toBeGreaterThan(0.15);
    expect(v2).toBeLessThan(0.35);
  });

  it('follows a changed split, and accepts a ring-hash cluster', async () => {
    await app.set(
      POLICY_PATH,
      JSON.stringify({
        protocol: 'grpc',
        loadBalancing: { policy: 'RING_HASH', ringMinSize: 1024, ringMaxSize: 4096 },
        trafficSplit: {
          label: 'version',
          subsets: [
            { value: 'v1', weight: 1 },
            { value: 'v2', weight: 99 },
          ],
        },
      }),
    );
    await client.waitFor((seen) => seen.size === 1 && seen.has('v2-a'), { timeoutMs: 3000, probeCalls: 10 });
  });

  it('was never NACKed, and every type ends SYNCED', async () => {
    expect(await nacks()).toBe(0);
    const stream = server.xds.connectedStreams().find((s) => s.nodeId === 'policy-client')!;
    for (const t of [TYPE_URL.listener, TYPE_URL.route, TYPE_URL.cluster, TYPE_URL.endpoint]) {
      await eventually(() => expect(stream.subscriptions.get(t)?.syncState()).toBe('SYNCED'));
    }
  });
});
