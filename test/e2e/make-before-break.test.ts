// Make before break with both real proxyless clients, grpc-js-xds and gRPC C-core (Debian's
// python3-grpcio), calling without pause: a traffic split flipped between 100% v1 and 100% v2 six
// times, a split changed (weights, then a different label), the policy deleted. Not one call may
// fail, and every change must take effect (calls reach the new subset). Before retirements, each
// flip removed the old subset cluster in the same push that re-pointed the route: grpc-js failed a
// call with "Cluster resource ... does not exist", C-core several with `CDS resource "..." does not exist`.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RunningServer } from '../../src/cli/serve.js';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import type { EchoBackend } from '../support/echo-backend.js';
import { eventually } from '../support/eventually.js';
import { startGrpcEndToEnd, totalNacks, type GrpcEndToEnd } from '../support/grpc-end-to-end.js';
import { CoreCaller, JsCaller, SidecarObserver, failures, lastCallsReach, type ContinuousCaller } from '../support/continuous-callers.js';
import type { ZkTestClient } from '../support/zk-test-client.js';

const POLICY_PATH = '/zk-xds/policy/echo';
/** Consecutive calls to the expected backends that show a change took effect. */
const SETTLED_CALLS = 20;
/** A change must take effect within this (generous: the machine is loaded; not a latency bound). */
const TAKES_EFFECT_MS = 30_000;

let e2e: GrpcEndToEnd;
let app: ZkTestClient;
let server: RunningServer;
let callers: ContinuousCaller[] = [];
let sidecar: SidecarObserver;
/** Per case and client: calls made and failed (printed at the end for docs/reliability.md). */
const tally: string[] = [];

const split = (label: string, subsets: Record<string, number>) =>
  JSON.stringify({ protocol: 'grpc', trafficSplit: { label, subsets: Object.entries(subsets).map(([value, weight]) => ({ value, weight })) } });

async function register(writer: ZkTestClient, backends: readonly EchoBackend[]): Promise<void> {
  await writer.mkdirp('/services/echo');
  for (const b of backends) {
    const version = b.id.slice(0, 2);
    const track = version === 'v1' ? 'stable' : 'canary';
    await writer.create(`/services/echo/${b.id}`, JSON.stringify({ address: b.host, port: b.port, metadata: { version, track } }), { ephemeral: true });
  }
  await writer.mkdirp('/zk-xds/policy');
  await writer.create(POLICY_PATH, split('version', { v1: 100 }));
}

/**
 * Runs one change while every client keeps calling: waits until each client's last calls reach
 * only backends `reached` accepts (all of `mustSee` among them), and returns the index each
 * client's results had when the change was written.
 */
async function change(write: () => Promise<unknown>, reached: (backend: string) => boolean, mustSee: readonly string[]): Promise<number[]> {
  const from = callers.map((c) => c.results.length);
  await write();
  await eventually(
    () => {
      callers.forEach((c, i) => {
        expect({ client: c.label, settled: lastCallsReach(c.results, from[i]!, SETTLED_CALLS, reached) }).toEqual({ client: c.label, settled: true });
        const seen = new Set(c.results.slice(-SETTLED_CALLS).flatMap((r) => (r.ok ? [r.backend] : [])));
        for (const b of mustSee) expect({ client: c.label, sees: b, seen: seen.has(b) }).toEqual({ client: c.label, sees: b, seen: true });
      });
    },
    TAKES_EFFECT_MS,
    50,
  );
  // Calls go on while the old resources are removed (every retirement past its ACK wait), and after.
  await eventually(
    () =>
      expect(
        Object.values(server.xds.retiring())
          .flat()
          .flatMap((r) => r.waitingFor),
      ).toEqual([]),
    TAKES_EFFECT_MS,
  );
  const after = callers.map((c) => c.results.length);
  await eventually(() => {
    for (const [i, c] of callers.entries()) expect(c.results.length).toBeGreaterThanOrEqual(after[i]! + SETTLED_CALLS);
  }, TAKES_EFFECT_MS);
  return from;
}

/** Asserts no client failed a call since `from` (per client), and records the counts. */
function expectNoFailedCall(name: string, from: readonly number[]): void {
  callers.forEach((c, i) => {
    const f = failures(c.results, from[i]);
    tally.push(`${name} / ${c.label}: ${c.results.length - from[i]!} calls, ${f.count} failed ${JSON.stringify(f.messages)}`);
  });
  const failed = callers.map((c, i) => ({ client: c.label, ...failures(c.results, from[i]) }));
  expect(failed).toEqual(callers.map((c) => ({ client: c.label, count: 0, messages: {} })));
}

beforeAll(async () => {
  e2e = await startGrpcEndToEnd({ backendIds: ['v1-a', 'v2-a'], register, target: 'echo', nodeId: 'mbb-grpc-js' });
  ({ app, server } = e2e);
  const core = await CoreCaller.start({ xdsServer: `127.0.0.1:${server.xdsPort}`, nodeId: 'mbb-c-core', target: 'echo' });
  callers = [new JsCaller(e2e.client), core];
  sidecar = new SidecarObserver(`127.0.0.1:${server.xdsPort}`, 'mbb-envoy');
  await change(
    async () => undefined,
    (b) => b === 'v1-a',
    ['v1-a'],
  );
  await eventually(() => expect([...sidecar.routedClusters()]).toContain('echo|version=v1'), TAKES_EFFECT_MS);
  sidecar.startChecking();
}, 90_000);

afterAll(async () => {
  await sidecar?.stop();
  await Promise.all(callers.map((c) => c.stop()));
  await e2e?.stop();
  if (tally.length > 0) process.stdout.write(`make-before-break calls:\n  ${tally.join('\n  ')}\n`);
});

describe('make before break, with grpc-js-xds and gRPC C-core calling throughout', () => {
  it('flipping a split between 100% v1 and 100% v2 six times fails no call, and every flip takes effect', async () => {
    const start = callers.map((c) => c.results.length);
    for (let flip = 1; flip <= 6; flip++) {
      const to = flip % 2 === 1 ? 'v2' : 'v1';
      await change(
        () => app.set(POLICY_PATH, split('version', { [to]: 100 })),
        (b) => b === `${to}-a`,
        [`${to}-a`],
      );
    }
    expectNoFailedCall('6 flips v1<->v2', start);
    // C-core keeps watching the subset it left (for 15 minutes): v2 stays served, retiring, for it
    // (in its own client-profile view, grpc-core-1.51: src/xds/client-profile.ts).
    expect(server.caches['grpc-core-1.51']!.get(TYPE_URL.cluster, 'echo|version=v2')).toBeDefined();
    const debug = (await (await fetch(`http://127.0.0.1:${server.adminPort}/debug/proxies`)).json()) as {
      retiring: { 'grpc-core-1.51'?: Array<{ resources: Record<string, string[]>; subscribedBy: string[] }> };
    };
    expect(debug.retiring['grpc-core-1.51']).toContainEqual(
      expect.objectContaining({ resources: { CDS: ['echo|version=v2'], EDS: ['echo|version=v2'] }, subscribedBy: ['mbb-c-core'] }),
    );
  }, 300_000);

  it('changing a split (weights, then the label) fails no call', async () => {
    const start = callers.map((c) => c.results.length);
    await change(
      () => app.set(POLICY_PATH, split('version', { v1: 50, v2: 50 })),
      (b) => b === 'v1-a' || b === 'v2-a',
      ['v1-a', 'v2-a'],
    );
    await change(
      () => app.set(POLICY_PATH, split('track', { canary: 100 })),
      (b) => b === 'v2-a',
      ['v2-a'],
    );
    expectNoFailedCall('split changes', start);
  }, 120_000);

  it('deleting the policy fails no call: calls go back to every instance', async () => {
    const start = callers.map((c) => c.results.length);
    await change(
      () => app.remove(POLICY_PATH),
      (b) => b === 'v1-a' || b === 'v2-a',
      ['v1-a', 'v2-a'],
    );
    expectNoFailedCall('policy deleted', start);
  }, 120_000);

  it('an Envoy-like sidecar (delta, wildcard) never held a route naming a cluster it did not hold, and was sent each removal', async () => {
    expect(sidecar.dangling).toEqual([]);
    await eventually(() => expect([...sidecar.clusters].filter((c) => c.startsWith('echo|'))).toEqual([]), 15_000);
  });

  it('was never NACKed, and every retirement was released by ACKs, none by the grace period', async () => {
    expect(await totalNacks(server)).toBe(0);
    const wait = await server.metrics.retirementWait.get();
    const metric = (suffix: string, outcome: string, view: string) =>
      wait.values.find((v) => v.metricName === `zkxds_xds_retirement_wait_seconds_${suffix}` && v.labels.outcome === outcome && v.labels.view === view)
        ?.value ?? 0;
    const count = (outcome: string) => metric('count', outcome, 'proxyless');
    for (const view of ['proxyless', 'grpc-core-1.51', 'sidecar']) {
      const n = metric('count', 'acked', view);
      tally.push(
        `${view} view: retirements released after ACKs: ${n}, mean wait ${((metric('sum', 'acked', view) / Math.max(1, n)) * 1000).toFixed(1)} ms; after the grace period: ${metric('count', 'grace', view)}`,
      );
    }
    expect(count('acked')).toBeGreaterThan(0);
    expect(count('grace')).toBe(0);
  });
});
