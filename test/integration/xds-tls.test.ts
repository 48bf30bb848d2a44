// The xDS port over TLS with real certificates (openssl) and real gRPC clients: mutual TLS lets in
// only clients with a certificate from the configured CA; each stream's identity must match the
// node cluster it claims (or be mapped by the identities file), on SotW and delta streams alike;
// rotating the certificate files (a Kubernetes Secret volume's symlink swap) changes what new
// connections see while an open stream keeps receiving updates; a bad new file keeps the old one.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import tls from 'node:tls';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { XdsTlsSource } from '../../src/xds/tls-credentials.js';
import { identityPolicyFrom } from '../../src/xds/peer-identity.js';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import { startHarness, type Harness } from '../support/xds-harness.js';
import { service } from '../support/catalog-fixtures.js';
import { AdsClient } from '../support/ads-client.js';
import { DeltaClient } from '../support/delta-client.js';
import { eventually } from '../support/eventually.js';
import { makeCa, makeLeaf, serialOf } from '../support/test-certs.js';

const TD = 'spiffe://test.local/ns/shop/sa';
let dir: string;
const f = (name: string) => path.join(dir, name);
const logLines: Array<Record<string, unknown>> = [];
const log = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });
let metrics: Metrics;
let source: XdsTlsSource;
let h: Harness;
const clients: Array<{ close(): void }> = [];

/** A Kubernetes Secret volume: files are symlinks through `..data`, swapped atomically on update. */
let version = 0;
function publishSecret(files: { cert: string; key: string; ca: string } | { raw: Record<string, string | Buffer> }): void {
  const live = f('live');
  const v = path.join(live, `..v${++version}`);
  mkdirSync(v, { recursive: true });
  if ('raw' in files) for (const [name, content] of Object.entries(files.raw)) writeFileSync(path.join(v, name), content);
  else {
    copyFileSync(f(files.cert), path.join(v, 'tls.crt'));
    copyFileSync(f(files.key), path.join(v, 'tls.key'));
    copyFileSync(f(files.ca), path.join(v, 'ca.crt'));
  }
  symlinkSync(path.basename(v), path.join(live, '..data_tmp'));
  renameSync(path.join(live, '..data_tmp'), path.join(live, '..data'));
}

function mtls(name: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(readFileSync(f('test-ca.pem')), readFileSync(f(`${name}.key`)), readFileSync(f(`${name}.pem`)));
}

function ads(creds: grpc.ChannelCredentials, node: { id: string; cluster: string }): AdsClient {
  const c = new AdsClient(h.address, 'ads', creds);
  clients.push(c);
  c.send({ typeUrl: TYPE_URL.cluster, node });
  return c;
}

/** Serial number of the certificate the xDS port presents to a new connection. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      {
        host: '127.0.0.1',
        port,
        ca: readFileSync(f('test-ca.pem')),
        key: readFileSync(f('orders.key')),
        cert: readFileSync(f('orders.pem')),
        ALPNProtocols: ['h2'],
        servername: 'localhost',
      },
      () => {
        resolve(socket.getPeerCertificate().serialNumber);
        socket.destroy();
      },
    );
    socket.on('error', reject);
  });
}

async function counterValue(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, want]) => x.labels[k] === want));
  return v?.value ?? 0;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'xds-tls-'));
  makeCa(dir, 'test-ca');
  makeCa(dir, 'other-ca');
  makeLeaf(dir, 'server', 'test-ca');
  makeLeaf(dir, 'server2', 'test-ca');
  makeLeaf(dir, 'orders', 'test-ca', { san: `URI:${TD}/orders` });
  makeLeaf(dir, 'gateway', 'test-ca', { san: `URI:${TD}/gateway` });
  makeLeaf(dir, 'billing', 'test-ca', { cn: 'someone', san: 'DNS:billing' });
  makeLeaf(dir, 'inventory', 'test-ca', { san: '' });
  makeLeaf(dir, 'intruder', 'other-ca', { san: `URI:${TD}/orders` });
  mkdirSync(f('live'));
  publishSecret({ cert: 'server.pem', key: 'server.key', ca: 'test-ca.pem' });
  for (const name of ['tls.crt', 'tls.key', 'ca.crt']) symlinkSync(path.join('..data', name), path.join(f('live'), name));
  metrics = createMetrics({ defaultMetrics: false });
  const live = (name: string) => path.join(f('live'), name);
  source = await XdsTlsSource.load(
    { certFile: live('tls.crt'), keyFile: live('tls.key'), clientCaFile: live('ca.crt'), reloadIntervalMs: 100 },
    log,
    metrics.registry,
  );
  const identities = identityPolicyFrom({ identities: { [`${TD}/gateway`]: ['orders'] } }, 'test');
  h = await startHarness([service('a', 1)], { credentials: source.credentials(), identities, log, metrics });
}, 60000);

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  source?.close();
  await h?.server.shutdown(200);
  rmSync(dir, { recursive: true, force: true });
});

describe('xDS over mutual TLS', () => {
  it('serves a client whose certificate comes from the configured CA', async () => {
    const c = ads(mtls('orders'), { id: 'orders-1', cluster: 'orders' });
    const r = await c.next(TYPE_URL.cluster, 10000);
    expect(r.resources.map((x) => x.name)).toEqual(['a']);
  });

  it('refuses a client without a certificate, with one from another CA, and in plaintext', async () => {
    const refused = [
      ads(grpc.credentials.createSsl(readFileSync(f('test-ca.pem'))), { id: 'no-cert', cluster: 'orders' }),
      ads(grpc.credentials.createSsl(readFileSync(f('test-ca.pem')), readFileSync(f('intruder.key')), readFileSync(f('intruder.pem'))), {
        id: 'intruder',
        cluster: 'orders',
      }),
      ads(grpc.credentials.createInsecure(), { id: 'plain', cluster: 'orders' }),
    ];
    await eventually(
      () => expect(refused.map((c) => c.status?.code)).toEqual([grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE]),
      20000,
    );
    expect(refused.map((c) => c.responses.length)).toEqual([0, 0, 0]);
  });

  it('ends a stream with PERMISSION_DENIED when its identity claims another node cluster (SotW and delta)', async () => {
    const before = await counterValue('zkxds_xds_identity_denied_total');
    const sotw = ads(mtls('orders'), { id: 'orders-2', cluster: 'payments' });
    const delta = new DeltaClient(h.address, 'ads', mtls('orders'));
    clients.push(delta);
    delta.send({ typeUrl: TYPE_URL.cluster, subscribe: ['*'], node: { id: 'orders-3', cluster: 'payments' } });
    await eventually(() => expect([sotw.status?.code, delta.status?.code]).toEqual([grpc.status.PERMISSION_DENIED, grpc.status.PERMISSION_DENIED]), 10000);
    expect(sotw.status?.details).toContain(`identity ${TD}/orders may not claim node cluster "payments"`);
    expect(sotw.responses).toEqual([]);
    expect(delta.responses).toEqual([]);
    expect(await counterValue('zkxds_xds_identity_denied_total')).toBe(before + 2);
    const line = logLines.find((l) => l.node === 'orders-2' && String(l.msg).startsWith('xDS stream denied'));
    expect(line).toMatchObject({ identity: `${TD}/orders`, claimedCluster: 'payments' });
  });

  it('lets the identities file map an identity to more clusters, and DNS SAN or CN identities claim their own name', async () => {
    const mapped = ads(mtls('gateway'), { id: 'gw-1', cluster: 'orders' });
    const own = ads(mtls('gateway'), { id: 'gw-2', cluster: 'gateway' });
    const unmapped = ads(mtls('gateway'), { id: 'gw-3', cluster: 'payments' });
    const dns = ads(mtls('billing'), { id: 'billing-1', cluster: 'billing' });
    const cn = ads(mtls('inventory'), { id: 'inventory-1', cluster: 'inventory' });
    const dnsNotCn = ads(mtls('billing'), { id: 'billing-2', cluster: 'someone' });
    for (const c of [mapped, own, dns, cn]) expect((await c.next(TYPE_URL.cluster, 10000)).resources.map((x) => x.name)).toEqual(['a']);
    await eventually(
      () => expect([unmapped.status?.code, dnsNotCn.status?.code]).toEqual([grpc.status.PERMISSION_DENIED, grpc.status.PERMISSION_DENIED]),
      10000,
    );
  });

  it('rotates the certificate for new connections while an open stream keeps receiving updates; a bad new file keeps the old one', async () => {
    const open = ads(mtls('orders'), { id: 'orders-open', cluster: 'orders' });
    const first = await open.next(TYPE_URL.cluster, 10000);
    open.ack(first);
    expect(await servedSerial(h.server.port)).toBe(serialOf(f('server.pem')));

    publishSecret({ cert: 'server2.pem', key: 'server2.key', ca: 'test-ca.pem' });
    await eventually(async () => expect(await servedSerial(h.server.port)).toBe(serialOf(f('server2.pem'))), 20000);
    h.publish(service('b', 1));
    const update = await open.next(TYPE_URL.cluster, 10000);
    expect(update.resources.map((x) => x.name).sort()).toEqual(['a', 'b']);
    expect(open.status).toBeNull();
    const fresh = ads(mtls('orders'), { id: 'orders-fresh', cluster: 'orders' });
    expect((await fresh.next(TYPE_URL.cluster, 10000)).resources.length).toBe(2);

    // Unparseable certificate, then a key that does not match the certificate: both kept out.
    const rejectedBefore = await counterValue('zkxds_xds_tls_reloads_total', { result: 'rejected' });
    publishSecret({ raw: { 'tls.crt': 'not a certificate\n', 'tls.key': readFileSync(f('server.key')), 'ca.crt': readFileSync(f('test-ca.pem')) } });
    await eventually(async () => expect(await counterValue('zkxds_xds_tls_reloads_total', { result: 'rejected' })).toBe(rejectedBefore + 1), 20000);
    expect(logLines.find((l) => String(l.msg).startsWith('xDS TLS file rejected') && l.file === path.join(f('live'), 'tls.crt'))).toBeDefined();
    publishSecret({ raw: { 'tls.crt': readFileSync(f('server.pem')), 'tls.key': readFileSync(f('server2.key')), 'ca.crt': readFileSync(f('test-ca.pem')) } });
    await eventually(async () => expect(await counterValue('zkxds_xds_tls_reloads_total', { result: 'rejected' })).toBe(rejectedBefore + 2), 20000);
    expect(logLines.find((l) => String(l.msg).startsWith('xDS TLS file rejected') && l.file === path.join(f('live'), 'tls.key'))).toBeDefined();
    expect(await servedSerial(h.server.port)).toBe(serialOf(f('server2.pem')));
    const stillServed = ads(mtls('orders'), { id: 'orders-after-bad', cluster: 'orders' });
    expect((await stillServed.next(TYPE_URL.cluster, 10000)).resources.length).toBe(2);
  }, 60000);

  it('takes a changed client CA bundle for new connections: a client of the added CA is then served', async () => {
    const intruderCreds = () => grpc.credentials.createSsl(readFileSync(f('test-ca.pem')), readFileSync(f('intruder.key')), readFileSync(f('intruder.pem')));
    const before = ads(intruderCreds(), { id: 'other-ca-1', cluster: 'orders' });
    await eventually(() => expect(before.status?.code).toBe(grpc.status.UNAVAILABLE), 10000);
    const bundle = Buffer.concat([readFileSync(f('test-ca.pem')), readFileSync(f('other-ca.pem'))]);
    publishSecret({ raw: { 'tls.crt': readFileSync(f('server2.pem')), 'tls.key': readFileSync(f('server2.key')), 'ca.crt': bundle } });
    await eventually(async () => {
      const after = ads(intruderCreds(), { id: 'other-ca-2', cluster: 'orders' });
      expect((await after.next(TYPE_URL.cluster, 5000)).resources.length).toBeGreaterThan(0);
    }, 20000);
    expect(logLines.some((l) => l.caChanged === true)).toBe(true);
  }, 60000);
});
