// The ServiceEntry writer against the fake API server (real HTTP, real @kubernetes/client-node):
// create, update, no-op, deletion of owned objects only, retries after 409/5xx, 422 reported,
// rate limit, resync from a list, drift repair and recovery from 410 Gone.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Service } from '../../../src/catalog/model.js';
import { loadKubeConfig, ServiceEntryClient } from '../../../src/istio/kube-client.js';
import { FIELD_MANAGER, KubernetesWriter, MANAGED_BY_LABEL, type DesiredObject, type ObjectBuilder } from '../../../src/istio/kubernetes-writer.js';
import { RateLimiter } from '../../../src/istio/rate-limiter.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../../src/observability/metrics.js';
import { serviceEntryFor } from '../../../src/translate/service-entry.js';
import { service } from '../../support/catalog-fixtures.js';
import { eventually } from '../../support/eventually.js';
import { FakeKubeApiServer } from '../../support/fake-kube-apiserver.js';

const NS = 'mesh';
const translate: ObjectBuilder = (s) => serviceEntryFor(s, { namespace: NS, exportTo: ['*'], domainSuffix: 'zk.internal' });

let server: FakeKubeApiServer;
const writers: KubernetesWriter[] = [];

beforeEach(async () => {
  server = await FakeKubeApiServer.start({ tls: true, token: 'writer-test-token' });
});
afterEach(async () => {
  await Promise.all(writers.splice(0).map((w) => w.deactivate()));
  await server.stop();
});

async function startWriter(opts: { build?: ObjectBuilder; writesPerSecond?: number; ready?: () => boolean; services?: Service[] } = {}) {
  const metrics = createMetrics({ defaultMetrics: false });
  const client = new ServiceEntryClient(loadKubeConfig(await server.writeKubeconfig(NS)), NS, FIELD_MANAGER);
  const writer = new KubernetesWriter(
    { writesPerSecond: opts.writesPerSecond ?? 100, retryBaseMs: 50, retryMaxMs: 400 },
    { client, build: opts.build ?? translate, catalogReady: opts.ready ?? (() => true), log: silentLogger(), metrics },
  );
  writers.push(writer);
  writer.updateServices(opts.services ?? []);
  writer.activate();
  return { writer, metrics };
}

async function stored(name: string): Promise<Record<string, any> | undefined> {
  try {
    return server.store.get(NS, name) as Record<string, any>;
  } catch {
    return undefined;
  }
}

/** Creates an object as someone else would (not labelled as zk-xds's). */
function foreign(name: string, labels: Record<string, string> = {}): void {
  server.store.create(
    NS,
    { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name, labels }, spec: { hosts: [`${name}.other`], resolution: 'DNS' } },
    'kubectl',
  );
}

async function counter(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await metrics.registry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return m?.value ?? 0;
}

const quiet = () => new Promise((r) => setTimeout(r, 300));

describe('KubernetesWriter', () => {
  it('creates, updates, leaves identical content alone, deletes only its own objects', async () => {
    foreign('bystander');
    foreign('payments'); // a foreign object with the name a service wants
    const { writer, metrics } = await startWriter({ services: [service('orders', 2), service('payments', 1)] });
    await eventually(async () => expect((await stored('orders'))?.spec.endpoints).toHaveLength(2));
    const orders = (await stored('orders'))!;
    expect(orders.metadata.labels[MANAGED_BY_LABEL]).toBe('zk-xds');
    expect(orders.metadata.labels['zk-xds.io/service']).toBe('orders');
    expect(orders.metadata.managedFields.map((m: { manager: string }) => m.manager)).toEqual(['zk-xds']);

    writer.updateServices([service('orders', 3)]);
    await eventually(async () => expect((await stored('orders'))?.spec.endpoints).toHaveLength(3));
    writer.updateServices([service('orders', 3)]);
    await quiet();
    expect(server.writesFor('orders').map((w) => w.verb)).toEqual(['apply', 'apply']);

    // The service loses its last instance: no ServiceEntry is wanted any more.
    writer.updateServices([service('orders', 0)]);
    await eventually(async () => expect(await stored('orders')).toBeUndefined());

    await quiet();
    expect(server.writesFor('bystander').map((w) => w.verb)).toEqual(['create']);
    expect(server.writesFor('payments').map((w) => w.verb)).toEqual(['create']);
    expect((await stored('payments'))!.spec.hosts).toEqual(['payments.other']);
    expect(await counter(metrics, 'zkxds_k8s_errors_total', { kind: 'foreign' })).toBe(1);
    expect(await counter(metrics, 'zkxds_k8s_writes_total', { verb: 'apply', outcome: 'ok' })).toBe(2);
    expect(await counter(metrics, 'zkxds_k8s_writes_total', { verb: 'delete', outcome: 'ok' })).toBe(1);
  });

  it('resyncs from a list on start: up-to-date objects are not written again, stale owned ones are deleted', async () => {
    const first = await startWriter({ services: [service('orders', 2), service('gone', 1)] });
    await eventually(async () => expect(await stored('gone')).toBeDefined());
    await eventually(async () => expect(await stored('orders')).toBeDefined());
    await first.writer.deactivate();
    const requestsBefore = server.requests.filter((r) => r.method !== 'GET').length;

    // A new writer (as after a restart or a leader change) whose catalog no longer has `gone`.
    const second = await startWriter({ services: [service('orders', 2), service('gone', 0)] });
    await eventually(async () => expect(await stored('gone')).toBeUndefined());
    await quiet();
    const mutations = server.requests.filter((r) => r.method !== 'GET').slice(requestsBefore);
    expect(mutations.map((r) => `${r.method} ${r.name}`)).toEqual(['DELETE gone']);
    expect(server.writesFor('orders')).toHaveLength(1);
    expect(await counter(second.metrics, 'zkxds_k8s_service_entries_owned', {})).toBe(1);
  });

  it('deletes nothing before the registry has read ZooKeeper fully', async () => {
    const first = await startWriter({ services: [service('orders', 1)] });
    await eventually(async () => expect(await stored('orders')).toBeDefined());
    await first.writer.deactivate();
    let ready = false;
    await startWriter({ services: [], ready: () => ready });
    await quiet();
    expect(await stored('orders')).toBeDefined();
    ready = true;
    await eventually(async () => expect(await stored('orders')).toBeUndefined());
  });

  it('retries failed writes with backoff (500, 429, 409) and reports 422 without retrying', async () => {
    const invalidFor =
      (name: string): ObjectBuilder =>
      (s) => {
        const o = translate(s);
        if (o && s.name === name) return { ...o, spec: { ...(o.spec as object), resolution: 'SOMETIMES' } } as DesiredObject;
        return o;
      };
    server.failNext(3, 500);
    const { writer, metrics } = await startWriter({ build: invalidFor('broken'), services: [service('orders', 1), service('broken', 1)] });
    await eventually(async () => expect(await stored('orders')).toBeDefined(), 5000);
    expect(await counter(metrics, 'zkxds_k8s_writes_total', { verb: 'apply', outcome: 'error' })).toBeGreaterThanOrEqual(2);
    await eventually(async () => expect(await counter(metrics, 'zkxds_k8s_errors_total', { kind: 'invalid' })).toBe(1));
    const brokenPatches = () => server.requests.filter((r) => r.method === 'PATCH' && r.name === 'broken').length;
    const afterRejection = brokenPatches();
    await quiet();
    expect(brokenPatches()).toBe(afterRejection);
    expect(await counter(metrics, 'zkxds_k8s_errors_total', { kind: 'invalid' })).toBe(1);
    expect(await stored('broken')).toBeUndefined();

    server.failNext(1, 429);
    writer.updateServices([service('orders', 2)]);
    await eventually(async () => expect((await stored('orders'))?.spec.endpoints).toHaveLength(2));

    server.failNext(1, 409, ['DELETE']);
    writer.updateServices([service('orders', 0)]);
    await eventually(async () => expect(await stored('orders')).toBeUndefined());
    expect(await counter(metrics, 'zkxds_k8s_writes_total', { verb: 'delete', outcome: 'conflict' })).toBe(1);
  });

  it('repairs objects someone else changed, and keeps following after its watch history is compacted (410)', async () => {
    const { writer } = await startWriter({ services: [service('orders', 1)] });
    await eventually(async () => expect(await stored('orders')).toBeDefined());
    const current = (await stored('orders'))!;
    server.store.update(NS, 'orders', { ...current, spec: { ...current.spec, hosts: ['hijacked.example'] } }, 'kubectl-edit');
    await eventually(async () => expect((await stored('orders'))!.spec.hosts).toEqual(['orders.zk.internal']));

    server.store.compact();
    server.closeWatches();
    writer.updateServices([service('orders', 2)]);
    await eventually(async () => expect((await stored('orders'))?.spec.endpoints).toHaveLength(2));
    server.store.delete(NS, 'orders', {}, 'kubectl');
    await eventually(async () => expect(await stored('orders')).toBeDefined(), 5000);
  });

  it('lists and watches again, backing off, after the API server failed its list and watch', async () => {
    const { writer, metrics } = await startWriter({ services: [service('orders', 1)] });
    await eventually(async () => expect(await stored('orders')).toBeDefined());
    server.failNext(3, 503, ['GET']);
    server.closeWatches();
    await eventually(async () => expect(await counter(metrics, 'zkxds_k8s_errors_total', { kind: 'watch' })).toBeGreaterThanOrEqual(2), 5000);
    writer.updateServices([service('orders', 2)]);
    await eventually(async () => expect((await stored('orders'))?.spec.endpoints).toHaveLength(2), 5000);
    server.store.delete(NS, 'orders', {}, 'kubectl');
    await eventually(async () => expect(await stored('orders')).toBeDefined(), 5000);
  });

  it('keeps to the write rate', async () => {
    const services = Array.from({ length: 9 }, (_, i) => service(`svc-${i}`, 1));
    await startWriter({ services, writesPerSecond: 4 });
    await eventually(async () => expect(server.writes).toHaveLength(9), 10000);
    // A bucket of 4 tokens refilled at 4/s: the 9th write cannot come before 5/4 s after the first,
    // and no second holds more than 4 + 4.
    const times = server.requests.filter((r) => r.method === 'PATCH').map((r) => r.at);
    expect(times).toHaveLength(9);
    expect(times[8]! - times[0]!).toBeGreaterThanOrEqual(1200);
    for (const t of times) expect(times.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(8);
  }, 15000);

  it('stops writing at once when deactivated', async () => {
    const { writer } = await startWriter({ services: [service('orders', 1)] });
    await eventually(async () => expect(await stored('orders')).toBeDefined());
    await writer.deactivate();
    writer.updateServices([service('orders', 2)]);
    await quiet();
    expect(server.writesFor('orders')).toHaveLength(1);
  });
});

/**
 * Waits until the writer has worked through every watch event delivered so far and has nothing
 * queued or waiting to retry: it deletes an object the writer wants (as an operator might) and
 * waits for the writer to put it back. Events arrive in order on one watch and the writer's queue
 * is first in, first out, so by then the earlier ones were reconciled.
 */
async function settled(writer: KubernetesWriter, ownedName: string): Promise<void> {
  const before = server.writesFor(ownedName).length;
  server.store.delete(NS, ownedName, {}, 'kubectl');
  await eventually(async () => {
    expect(await stored(ownedName)).toBeDefined();
    expect(server.writesFor(ownedName).length).toBeGreaterThan(before + 1);
    expect(writer.status()).toMatchObject({ pending: 0, retrying: 0 });
  }, 5000);
}

describe('KubernetesWriter and objects it does not own', () => {
  it('never deletes a foreign ServiceEntry created or edited while it leads', async () => {
    foreign('bystander');
    const { writer, metrics } = await startWriter({ services: [service('orders', 1)] });
    await eventually(async () => expect(await stored('orders')).toBeDefined());

    foreign('newcomer');
    const bystander = (await stored('bystander'))!;
    server.store.update(NS, 'bystander', { ...bystander, spec: { ...bystander.spec, hosts: ['edited.other'] } }, 'kubectl-edit');
    await settled(writer, 'orders');

    expect(server.writesFor('newcomer').map((w) => w.verb)).toEqual(['create']);
    expect(server.writesFor('bystander').map((w) => w.verb)).toEqual(['create', 'update']);
    expect((await stored('bystander'))!.spec.hosts).toEqual(['edited.other']);
    expect(await counter(metrics, 'zkxds_k8s_writes_total', { verb: 'delete', outcome: 'ok' })).toBe(0);
  });

  it('leaves an object alone once an operator removed its managed-by label, also when its service goes', async () => {
    const { writer } = await startWriter({ services: [service('orders', 1), service('keeper', 1)] });
    await eventually(async () => expect(await stored('orders')).toBeDefined());
    await eventually(async () => expect(await stored('keeper')).toBeDefined());
    const orders = (await stored('orders'))!;
    const { [MANAGED_BY_LABEL]: _removed, ...otherLabels } = orders.metadata.labels as Record<string, string>;
    server.store.update(NS, 'orders', { ...orders, metadata: { ...orders.metadata, labels: otherLabels } }, 'kubectl-label');
    await settled(writer, 'keeper');

    writer.updateServices([service('orders', 0)]);
    await settled(writer, 'keeper');

    expect(await stored('orders')).toBeDefined();
    expect(server.writesFor('orders').map((w) => w.verb)).toEqual(['apply', 'update']);
  });
});

describe('RateLimiter', () => {
  it('allows a burst, then one operation per 1/rate seconds', () => {
    let now = 0;
    const limiter = new RateLimiter(4, 4, () => now);
    expect([limiter.tryTake(), limiter.tryTake(), limiter.tryTake(), limiter.tryTake()]).toEqual([0, 0, 0, 0]);
    expect(limiter.tryTake()).toBe(250);
    now = 250;
    expect(limiter.tryTake()).toBe(0);
    expect(limiter.tryTake()).toBe(250);
    now = 10_000;
    expect(Array.from({ length: 5 }, () => limiter.tryTake())).toEqual([0, 0, 0, 0, 250]);
  });
});

describe('loadKubeConfig', () => {
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  afterEach(() => {
    for (const [k, v] of [
      ['KUBERNETES_SERVICE_HOST', saved.host],
      ['KUBERNETES_SERVICE_PORT', saved.port],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('uses the pod service account (token, CA, HTTPS) when no kubeconfig is given', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'sa-'));
    try {
      const dir = path.join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'token'), 'writer-test-token');
      const kubeconfig = await import('yaml').then(async (y) =>
        y.parse(await (await import('node:fs/promises')).readFile(await server.writeKubeconfig(NS), 'utf8')),
      );
      await writeFile(path.join(dir, 'ca.crt'), Buffer.from(kubeconfig.clusters[0].cluster['certificate-authority-data'], 'base64'));
      await writeFile(path.join(dir, 'namespace'), NS);
      process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
      process.env.KUBERNETES_SERVICE_PORT = new URL(server.url).port;
      const kc = loadKubeConfig(undefined, root);
      expect(kc.getCurrentCluster()?.server).toBe(server.url);
      const client = new ServiceEntryClient(kc, NS, FIELD_MANAGER);
      await client.apply(translate(service('orders', 1))!);
      expect(server.writesFor('orders')).toEqual([expect.objectContaining({ verb: 'apply', manager: 'zk-xds' })]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
