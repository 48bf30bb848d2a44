// The pure parts of `serve --workers N`: which process takes the next connection, how a change's
// observation time crosses between processes, the checks on IPC messages, the pairing of questions
// and answers, the merge of the processes' metrics, and what of the configuration reaches a worker.
import { describe, expect, it } from '@jest/globals';
import { Counter, Gauge, Registry } from 'prom-client';
import { pickRoundRobin, processName } from '../../../src/cli/serving-workers.js';
import { fromEpochMs, parseMainMessage, parseWorkerMessage, toEpochMs } from '../../../src/cli/worker-messages.js';
import { WorkerRequests } from '../../../src/cli/worker-requests.js';
import { mergeMetrics, type MetricsJson } from '../../../src/cli/worker-metrics.js';
import { servingConfigOf } from '../../../src/cli/serving-part.js';
import type { ServeConfig } from '../../../src/cli/serve.js';

describe('pickRoundRobin', () => {
  it('goes round the main and the workers in turn', () => {
    const serving = [true, true, true];
    const picks: number[] = [];
    let cursor = 0;
    for (let k = 0; k < 6; k++) {
      const i = pickRoundRobin(cursor, serving);
      picks.push(i);
      cursor = i + 1;
    }
    expect(picks).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('skips workers that are dead or not ready, and falls back to the main', () => {
    expect(pickRoundRobin(1, [true, false, true])).toBe(2);
    expect(pickRoundRobin(2, [true, true, false])).toBe(0);
    expect(pickRoundRobin(1, [true, false, false])).toBe(0);
    expect(pickRoundRobin(5, [true, false, false])).toBe(0);
  });

  it('names the processes', () => {
    expect([0, 1, 2].map(processName)).toEqual(['main', 'worker-1', 'worker-2']);
  });
});

describe('observation times across processes', () => {
  it('go through epoch milliseconds: the same instant in clocks with different origins', () => {
    const mainOrigin = 1_700_000_000_000;
    const workerOrigin = mainOrigin + 5_000; // forked 5 s later
    const seenInMain = 12_345.5;
    const inWorker = fromEpochMs(toEpochMs(seenInMain, mainOrigin), workerOrigin);
    expect(inWorker).toBe(7_345.5);
    // 100 ms later in the worker's clock is 100 ms after the observation, not 5.1 s.
    expect(inWorker + 100 - fromEpochMs(toEpochMs(seenInMain, mainOrigin), workerOrigin)).toBe(100);
  });

  it('default to this process origin', () => {
    const t = performance.now();
    // Epoch milliseconds are large: a double keeps them to well under a microsecond.
    expect(fromEpochMs(toEpochMs(t))).toBeCloseTo(t, 3);
  });
});

describe('IPC messages', () => {
  it('accepts well-formed messages of each side', () => {
    expect(parseMainMessage({ kind: 'services', services: [], observedAtEpochMs: 1 })).toEqual({ kind: 'services', services: [], observedAtEpochMs: 1 });
    expect(parseMainMessage({ kind: 'scopes', state: { explicit: [], learned: [] } })).toMatchObject({ kind: 'scopes' });
    expect(parseMainMessage({ kind: 'request', id: 3, question: { what: 'proxies' } })).toMatchObject({ kind: 'request', id: 3 });
    expect(parseMainMessage({ kind: 'request', id: 4, question: { what: 'config-dump', node: 'n1', type: 'EDS' } })).toMatchObject({ id: 4 });
    expect(parseMainMessage({ kind: 'request', id: 5, question: { what: 'ping' } })).toMatchObject({ kind: 'request', id: 5 });
    expect(parseMainMessage({ kind: 'warm' })).toEqual({ kind: 'warm' });
    expect(parseWorkerMessage({ kind: 'ready', pid: 42 })).toEqual({ kind: 'ready', pid: 42 });
    expect(parseWorkerMessage({ kind: 'answer', id: 1, body: [] })).toMatchObject({ kind: 'answer', id: 1 });
  });

  it('rejects malformed ones with a reason', () => {
    expect(parseMainMessage(null)).toEqual({ invalid: 'not an object with a kind' });
    expect(parseMainMessage({ kind: 'services', services: 'x', observedAtEpochMs: 1 })).toHaveProperty('invalid');
    expect(parseMainMessage({ kind: 'services', services: [], observedAtEpochMs: Number.NaN })).toHaveProperty('invalid');
    expect(parseMainMessage({ kind: 'request', id: 1, question: { what: 'secrets' } })).toHaveProperty('invalid');
    expect(parseMainMessage({ kind: 'request', id: 1, question: { what: 'config-dump' } })).toHaveProperty('invalid');
    expect(parseMainMessage({ kind: 'request', id: 1, question: 'proxies' })).toHaveProperty('invalid');
    expect(parseMainMessage({ kind: 'config', worker: -1, logLevel: 'info', config: {} })).toHaveProperty('invalid');
    expect(parseMainMessage({ kind: 'scopes', state: { explicit: [] } })).toHaveProperty('invalid');
    expect(parseMainMessage({ kind: 'reboot' })).toEqual({ invalid: 'unknown kind "reboot"' });
    expect(parseWorkerMessage({ kind: 'ready' })).toHaveProperty('invalid');
    expect(parseWorkerMessage({ kind: 'answer', id: 'x' })).toHaveProperty('invalid');
    expect(parseWorkerMessage([1, 2])).toHaveProperty('invalid');
  });
});

describe('WorkerRequests', () => {
  it('pairs an answer with its question by id', async () => {
    const requests = new WorkerRequests();
    const sent: Array<{ id: number }> = [];
    const send = (m: unknown) => sent.push(m as { id: number }) > 0;
    const a = requests.ask(send, { what: 'metrics' });
    const b = requests.ask(send, { what: 'proxies' });
    requests.answered(sent[1]!.id, 'B');
    requests.answered(sent[0]!.id, 'A');
    expect(await a).toEqual({ answered: true, body: 'A' });
    expect(await b).toEqual({ answered: true, body: 'B' });
    expect(requests.open).toBe(0);
  });

  it('reports a worker that does not answer in time, or is gone, instead of waiting', async () => {
    const requests = new WorkerRequests();
    expect(await requests.ask(() => true, { what: 'metrics' }, 20)).toEqual({ answered: false, error: 'no answer within 20 ms' });
    expect(await requests.ask(() => false, { what: 'metrics' })).toEqual({ answered: false, error: 'worker not reachable' });
    const pending = requests.ask(() => true, { what: 'proxies' });
    requests.dropAll('worker exited');
    expect(await pending).toEqual({ answered: false, error: 'worker exited' });
    // A late answer to a question that timed out is dropped.
    requests.answered(1, 'late');
    expect(requests.open).toBe(0);
  });
});

describe('mergeMetrics', () => {
  async function processMetrics(streams: number, services: number, staleMax: number): Promise<MetricsJson> {
    const r = new Registry();
    new Gauge({ name: 'zkxds_xds_connected_streams', help: 'h', labelNames: ['api'], registers: [r] }).set({ api: 'ads' }, streams);
    new Counter({ name: 'zkxds_xds_acks_total', help: 'h', registers: [r] }).inc(streams * 10);
    new Gauge({ name: 'zkxds_services', help: 'h', registers: [r] }).set(services);
    new Gauge({ name: 'zkxds_xds_resources', help: 'h', labelNames: ['type'], registers: [r] }).set({ type: 'CDS' }, services);
    new Gauge({ name: 'zkxds_zookeeper_connected', help: 'h', registers: [r] }).set(services > 0 ? 1 : 0);
    new Gauge({ name: 'zkxds_xds_stale_proxy_max_seconds', help: 'h', registers: [r] }).set(staleMax);
    return (await r.getMetricsAsJSON()) as MetricsJson;
  }

  it("sums what each process does, keeps the main's catalog and ZooKeeper figures, and takes the worst staleness", async () => {
    const text = await mergeMetrics(await processMetrics(3, 7, 1), [await processMetrics(4, 7, 9), await processMetrics(5, 0, 2)]).metrics();
    expect(text).toMatch(/^zkxds_xds_connected_streams\{api="ads"\} 12$/m);
    expect(text).toMatch(/^zkxds_xds_acks_total 120$/m);
    expect(text).toMatch(/^zkxds_services 7$/m);
    expect(text).toMatch(/^zkxds_xds_resources\{type="CDS"\} 7$/m);
    expect(text).toMatch(/^zkxds_zookeeper_connected 1$/m);
    expect(text).toMatch(/^zkxds_xds_stale_proxy_max_seconds 9$/m);
  });
});

describe('servingConfigOf', () => {
  it('keeps the serving settings and drops ZooKeeper addresses, credentials files and admin settings', () => {
    const config = {
      zk: 'user:secret@10.0.0.1:2181',
      zkRoot: '/services',
      zkPolicyRoot: '/zk-xds/policy',
      zkSessionTimeoutMs: 10000,
      zkAuthFile: '/etc/zk/auth',
      sourcesFile: '/etc/zk-xds/sources.yaml',
      adminTokenFile: '/etc/admin/token',
      bindAddress: '0.0.0.0',
      xdsPort: 18000,
      adminPort: 9901,
      debounceMs: 2,
      maxDelayMs: 100,
      domainSuffix: 'zk.internal',
      sidecarListenAddress: '127.0.0.1',
      minPushIntervalMs: 50,
      maxStreams: 1000,
      xdsTlsCertFile: '/tls/cert.pem',
      xdsTlsKeyFile: '/tls/key.pem',
      scopeDefault: 'none',
      zkScopeRoot: '/zk-xds/scope',
      k8sServiceEntries: true,
      kubeconfig: '/kube/config',
      workers: 4,
    } satisfies ServeConfig;
    expect(servingConfigOf(config)).toEqual({
      domainSuffix: 'zk.internal',
      sidecarListenAddress: '127.0.0.1',
      minPushIntervalMs: 50,
      maxStreams: 1000,
      xdsTlsCertFile: '/tls/cert.pem',
      xdsTlsKeyFile: '/tls/key.pem',
      scopeDefault: 'none',
    });
  });
});
