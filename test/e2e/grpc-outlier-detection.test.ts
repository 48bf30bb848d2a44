// Outlier detection with gRPC's own xDS client (grpc-js-xds 1.14). Its outlier-detection balancer
// replaces its defaults with every field left unset, and the client process dies at the first
// ejection check ("Reduce of empty array with no initial value") when success-rate fields are
// unset: a consecutive5xx policy used to kill every proxyless client within one interval. The
// client here keeps calling through several intervals, with each policy shape, and stays alive.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import type { EchoBackend } from '../support/echo-backend.js';
import type { ZkTestClient } from '../support/zk-test-client.js';
import { startGrpcEndToEnd, totalNacks, type GrpcEndToEnd } from '../support/grpc-end-to-end.js';
import { summarize, type CallResult } from '../support/xds-client-process.js';
import { eventually } from '../support/eventually.js';

const POLICY_PATH = '/zk-xds/policy/echo';
const INTERVAL_MS = 1000;
/** Ejection checks each policy must live through. */
const INTERVALS = 4;

let e2e: GrpcEndToEnd;

async function register(app: ZkTestClient, backends: readonly EchoBackend[]): Promise<void> {
  await app.mkdirp('/services/echo');
  for (const b of backends) await app.create(`/services/echo/${b.id}`, JSON.stringify({ address: b.host, port: b.port }), { ephemeral: true });
  await app.mkdirp('/zk-xds/policy');
  await app.create(POLICY_PATH, JSON.stringify({ protocol: 'grpc', outlierDetection: { consecutive5xx: 5, intervalMs: INTERVAL_MS } }));
}

/** Waits until the client ACKed the clusters zk-xds holds now (so it runs the policy just written). */
async function clientHasCurrentClusters(): Promise<void> {
  const current = () => e2e.server.caches.proxyless.version(TYPE_URL.cluster);
  await eventually(() => {
    const stream = e2e.server.xds.connectedStreams().find((s) => s.nodeId === 'outlier-client');
    expect(stream?.subscriptions.get(TYPE_URL.cluster)?.ackedVersion).toBe(current());
  }, 10_000);
}

/** Calls without pause until `intervals` ejection intervals have passed; every result. */
async function callThrough(intervals: number): Promise<CallResult[]> {
  const results: CallResult[] = [];
  const start = Date.now();
  while (Date.now() - start < intervals * INTERVAL_MS + 500) results.push(...(await e2e.client.call(20)));
  return results;
}

beforeAll(async () => {
  e2e = await startGrpcEndToEnd({ backendIds: ['a', 'b'], register, target: 'echo', nodeId: 'outlier-client' });
  await e2e.client.waitFor((seen) => seen.has('a') && seen.has('b'), { timeoutMs: 15_000 });
}, 60_000);

afterAll(async () => {
  await e2e?.stop();
});

describe('outlier detection with grpc-js-xds', () => {
  it.each([
    ['consecutive5xx (sent to gRPC as failure percentage)', { consecutive5xx: 5, intervalMs: INTERVAL_MS }],
    ['success rate with explicit fields', { intervalMs: INTERVAL_MS, successRate: { minimumHosts: 2, requestVolume: 5, stdevFactor: 1900 } }],
    ['only an interval (the success-rate defaults)', { intervalMs: INTERVAL_MS, maxEjectionPercent: 50 }],
    ['failure percentage', { intervalMs: INTERVAL_MS, failurePercentage: { threshold: 50, minimumHosts: 2, requestVolume: 5 } }],
  ])(
    '%s: the client keeps calling through several ejection intervals, all calls answered',
    async (_title, outlierDetection) => {
      await e2e.app.set(POLICY_PATH, JSON.stringify({ protocol: 'grpc', outlierDetection }));
      await clientHasCurrentClusters();
      const results = await callThrough(INTERVALS);
      // The process is still there and still answers after the last check.
      results.push(...(await e2e.client.call(5)));
      expect(summarize(results.filter((r) => !r.ok))).toBe('(no calls)');
      expect(new Set(results.flatMap((r) => (r.ok ? [r.backend] : [])))).toEqual(new Set(['a', 'b']));
    },
    60_000,
  );

  it('was never NACKed', async () => {
    expect(await totalNacks(e2e.server)).toBe(0);
  });
});
