// Smoke run of the xDS load generator (bench/loadgen) against an in-process zk-xds: Envoy-style
// proxies over SotW and delta and proxyless-gRPC-style proxies all sync, hold the right resources,
// and record the arrival of a changed service's endpoints. Keeps `make bench`'s tool honest.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startHarness, type Harness } from '../support/xds-harness.js';
import { service } from '../support/catalog-fixtures.js';
import { eventually } from '../support/eventually.js';
import { epochNow, runLoad, startLoad, type LoadRun, type LoadOptions, type ResponseRecord } from '../../bench/loadgen/run.js';
import { buildReport } from '../../bench/loadgen/report.js';
import { EndpointProbe } from '../../bench/loadgen/endpoint-probe.js';

const SERVICES = 20;
const INSTANCES = 3;
const PER_RUN = 50;
const name = (i: number) => `svc-${String(i).padStart(5, '0')}`;

interface Receipt {
  readonly proxy: number;
  readonly t: number;
  readonly names: readonly string[];
}

describe('load generator smoke run', () => {
  let h: Harness;
  const receipts: Receipt[] = [];
  const runs: Record<'sotw' | 'delta' | 'grpc', LoadRun> = {} as Record<'sotw' | 'delta' | 'grpc', LoadRun>;
  const onResponse = (r: ResponseRecord) => {
    if (r.type === 'EDS') receipts.push({ proxy: r.proxy, t: r.t, names: r.names ?? [] });
  };

  beforeAll(async () => {
    h = await startHarness(Array.from({ length: SERVICES }, (_, i) => service(name(i), INSTANCES)));
    const base = { server: h.address, proxies: PER_RUN, onResponse } satisfies Partial<LoadOptions>;
    // Distinct index ranges: node ids stay unique and receipts say which run they came from.
    runs.sotw = startLoad({ ...base, protocol: 'sotw', style: 'envoy', firstIndex: 0 });
    runs.delta = startLoad({ ...base, protocol: 'delta', style: 'envoy', firstIndex: 1000 });
    runs.grpc = startLoad({ ...base, protocol: 'sotw', style: 'grpc', firstIndex: 2000, targets: { prefix: 'svc-', count: SERVICES, digits: 5 } });
  });

  afterAll(async () => {
    for (const run of Object.values(runs)) run.stop();
    await h.server.shutdown(500);
  });

  it('syncs every proxy within a few seconds, holding the whole sidecar view or its one target', async () => {
    const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('not synced in 8 s')), 8000).unref());
    await Promise.race([Promise.all(Object.values(runs).map((r) => r.settled())), deadline]);
    for (const run of [runs.sotw, runs.delta]) {
      for (const p of run.proxies) {
        expect(p.synced).toBe(true);
        expect(p.holdings()).toEqual({ clusters: SERVICES, assignments: SERVICES, endpoints: SERVICES * INSTANCES, listeners: 1, routes: 1 });
      }
    }
    for (const p of runs.grpc.proxies) {
      expect(p.synced).toBe(true);
      expect(p.holdings()).toEqual({ clusters: 1, assignments: 1, endpoints: INSTANCES, listeners: 1, routes: 1 });
    }
  });

  it("records, at every proxy that uses it, the arrival of a changed service's endpoints", async () => {
    const changed = name(7);
    const changedAt = epochNow();
    h.publish(service(changed, INSTANCES + 1));
    const envoyProxies = [...runs.sotw.proxies, ...runs.delta.proxies].map((p) => p.config.index);
    const grpcProxies = runs.grpc.proxies.filter((p) => p.config.target === changed).map((p) => p.config.index);
    expect(grpcProxies).toHaveLength(3);
    const arrivedAt = () => {
      const seen = new Map<number, number>();
      for (const r of receipts) if (r.t >= changedAt && r.names.includes(changed) && !seen.has(r.proxy)) seen.set(r.proxy, r.t);
      return seen;
    };
    await eventually(() => {
      const seen = arrivedAt();
      expect([...envoyProxies, ...grpcProxies].filter((p) => !seen.has(p))).toEqual([]);
    }, 20_000);
    for (const p of [...runs.sotw.proxies, ...runs.delta.proxies]) expect(p.holdings().endpoints).toBe(SERVICES * INSTANCES + 1);
    for (const p of runs.grpc.proxies) expect(p.holdings().endpoints).toBe(p.config.target === changed ? INSTANCES + 1 : INSTANCES);
  });

  it('keeps EDS in step with CDS: a new service is subscribed to and its endpoints held', async () => {
    const added = name(SERVICES);
    h.publish(service(added, 2));
    await eventually(() => {
      for (const p of [...runs.sotw.proxies, ...runs.delta.proxies]) {
        const held = p.holdings();
        expect([held.clusters, held.assignments, held.endpoints]).toEqual([SERVICES + 1, SERVICES + 1, SERVICES * INSTANCES + 1 + 2]);
      }
    }, 5000);
    expect(receipts.some((r) => r.names.includes(added))).toBe(true);
  });

  it('runs a reconnect storm to completion through runLoad: every proxy re-syncs', async () => {
    const report = await runLoad({
      server: h.address,
      proxies: 20,
      protocol: 'delta',
      style: 'envoy',
      firstIndex: 3000,
      disconnectAtS: 1,
      reconnect: true,
      timeoutS: 10,
    });
    expect(report.sync.count).toBe(20);
    expect(report.resync).toMatchObject({ count: 20 });
    expect(report.resync!.allSyncedMs).not.toBeNull();
    expect(report.errors.count).toBe(0);
    expect(report.responses.byType.CDS).toBe(40);
  });

  it('the decoding probe (churn bench) times when a changed port first reaches it, over SotW and delta', async () => {
    for (const protocol of ['sotw', 'delta'] as const) {
      const probe = new EndpointProbe({ server: h.address, protocol, nodeId: `probe-${protocol}` });
      try {
        await probe.start();
        expect(probe.seenAt('10.0.0.1', 8080)).toBeDefined();
        const port = protocol === 'sotw' ? 20001 : 20002;
        const written = epochNow();
        h.publish(service(name(7), [{ port }, {}, {}]));
        await eventually(() => expect(probe.seenAt('10.0.0.1', port)).toBeGreaterThanOrEqual(written));
      } finally {
        probe.stop();
      }
    }
  });

  it('reports the runs without errors', () => {
    for (const [protocol, run] of Object.entries(runs)) {
      const report = buildReport({ server: h.address, protocol, style: protocol === 'grpc' ? 'grpc' : 'envoy', proxies: PER_RUN, workers: 1 }, [run.stop()]);
      expect(report.connected).toBe(PER_RUN);
      expect(report.sync.count).toBe(PER_RUN);
      expect(report.sync.allSyncedMs).not.toBeNull();
      expect(report.errors).toEqual({ count: 0, samples: [] });
      // One EDS response each to sync, plus one per proxy that uses the changed service.
      expect(report.responses.byType.EDS).toBeGreaterThanOrEqual(PER_RUN + (protocol === 'grpc' ? 3 : PER_RUN));
    }
  });
});
