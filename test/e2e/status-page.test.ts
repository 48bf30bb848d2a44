// The status page as a person sees it: a real ZooKeeper with good and bad registrations and a bad
// policy, zk-xds serving them, gRPC's own xDS client, an Envoy-like client that ACKs and a raw
// client that NACKs, and Debian's headless Chromium (driven by playwright-core, no browser
// download) loading http://<admin>/debug/status. The test reads the rendered DOM, saves
// screenshots under .run/test-output/, and records every request the page makes.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium, type Browser, type Page } from 'playwright-core';
import { silentLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import type { ConvergenceSummary } from '../../src/admin/convergence-samples.js';
import { serveConfig } from '../support/serve-config.js';
import { ZooKeeperServer } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.js';
import { XdsClientProcess } from '../support/xds-client-process.js';
import { AdsClient } from '../support/ads-client.js';
import { eventually } from '../support/eventually.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT = path.resolve('.run/test-output');
const NACK_MESSAGE = 'xDS response validation errors: [resource index 0: rejected by the status page test]';

let zk: ZooKeeperServer;
let app: ZkTestClient;
let server: RunningServer;
let backends: EchoBackend[];
let grpcClient: XdsClientProcess;
let sidecar: AdsClient;
let nacker: AdsClient;
let browser: Browser;
let admin: string;

async function getJson<T>(p: string): Promise<T> {
  return (await fetch(`${admin}${p}`)).json() as Promise<T>;
}

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  // A long session: on a loaded machine the default 4 s can lapse between two writes of this test.
  app = await ZkTestClient.connect(zk.connectString, { sessionTimeoutMs: 30000 });
  backends = await Promise.all(['b1', 'b2', 'b3'].map((id) => startEchoBackend(id)));
  await app.mkdirp('/services/echo');
  for (const b of backends.slice(0, 2)) await app.create(`/services/echo/${b.host}:${b.port}`, JSON.stringify({ id: b.id, address: b.host, port: b.port }));
  await app.create('/services/echo/broken', '{"address": "10.1.2.3", "port": 80');
  await app.mkdirp('/zk-xds/policy');
  await app.create('/zk-xds/policy/echo', JSON.stringify({ loadBalancing: { policy: 'FASTEST' } }));

  server = await startServer(serveConfig(zk.connectString), silentLogger());
  admin = `http://127.0.0.1:${server.adminPort}`;
  await eventually(() => expect(server.registry.status().initialSyncDone).toBe(true));
  grpcClient = await XdsClientProcess.start({ xdsServer: `127.0.0.1:${server.xdsPort}`, nodeId: 'grpc-client', target: 'echo', node: { cluster: 'shop' } });
  await grpcClient.waitFor((seen) => seen.has('b1') && seen.has('b2'), { timeoutMs: 15000, probeCalls: 20 });
  sidecar = new AdsClient(`127.0.0.1:${server.xdsPort}`);
  sidecar.send({ typeUrl: TYPE_URL.cluster, node: { id: 'envoy-sidecar', cluster: 'mesh', userAgent: 'envoy' } });
  sidecar.ack(await sidecar.next(TYPE_URL.cluster));
  // A change after every client is connected: the gRPC client's ACK of it is a convergence sample.
  const b3 = backends[2]!;
  await app.create(`/services/echo/${b3.host}:${b3.port}`, JSON.stringify({ id: b3.id, address: b3.host, port: b3.port }));
  await grpcClient.waitFor((seen) => seen.has('b3'), { timeoutMs: 15000, probeCalls: 30 });
  await eventually(async () => expect((await getJson<ConvergenceSummary>('/debug/convergence')).count).toBeGreaterThan(0));
  // Connected last, so that no later push leaves it STALE instead of NACKED.
  nacker = new AdsClient(`127.0.0.1:${server.xdsPort}`);
  nacker.send({ typeUrl: TYPE_URL.endpoint, names: ['echo'], node: { id: 'nacker', cluster: 'shop' } });
  nacker.nack(await nacker.next(TYPE_URL.endpoint), '', NACK_MESSAGE, ['echo']);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  mkdirSync(OUTPUT, { recursive: true });
}, 90000);

afterAll(async () => {
  await browser?.close();
  nacker?.close();
  sidecar?.close();
  await grpcClient?.stop();
  await server?.stop();
  await app?.close();
  await Promise.all((backends ?? []).map((b) => b.stop()));
  await zk?.destroy();
});

/** Opens the page, recording every request it makes and every console error (CSP violations land there). */
async function openStatusPage(viewport: { width: number; height: number }): Promise<{ page: Page; requests: string[]; consoleErrors: string[] }> {
  const page = await browser.newPage({ viewport });
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.goto(`${admin}/debug/status`);
  // The NACK row is the last thing to appear that every assertion below needs.
  await page.locator('#proxies-body table', { hasText: 'nacker' }).waitFor({ timeout: 20000 });
  await page.locator('#skipped-body table').waitFor({ timeout: 20000 });
  await page.locator('#convergence-body svg').waitFor({ timeout: 20000 });
  return { page, requests, consoleErrors };
}

describe('the status page in headless Chromium', () => {
  it('lists the NACKing proxy as NACKED with its message, the skipped registration and the rejected policy, and reaches nothing but the admin port', async () => {
    const { page, requests, consoleErrors } = await openStatusPage({ width: 1280, height: 900 });
    try {
      // Proxies grouped by state: the nacker under NACKED with the message it sent, the others SYNCED.
      const nackedTable = page.getByRole('table', { name: 'NACKED proxies' });
      const nackerRow = nackedTable.locator('tr', { hasText: 'nacker' });
      await expect(nackerRow.textContent()).resolves.toContain(NACK_MESSAGE);
      await expect(nackerRow.getByRole('link', { name: 'nacker' }).getAttribute('href')).resolves.toBe('/debug/config_dump?node=nacker');
      const synced = await page.getByRole('table', { name: 'SYNCED proxies' }).textContent();
      expect(synced).toContain('grpc-client');
      expect(synced).toContain('envoy-sidecar');
      expect(synced).not.toContain('nacker');
      await expect(page.locator('#proxies-nacked').textContent()).resolves.toMatch(/NACKED\s*1 proxy/);

      // The skipped registration with its znode and reason; the rejected policy with its error.
      const skipped = await page.getByRole('table', { name: 'Registrations skipped' }).textContent();
      expect(skipped).toContain('/services/echo/broken');
      expect(skipped).toContain('echo');
      const policies = await page.getByRole('table', { name: /Policies rejected/ }).textContent();
      expect(policies).toContain('/zk-xds/policy/echo');
      expect(policies).toContain('FASTEST');

      // Services with instance counts, linked to their JSON pages.
      const echoRow = page.getByRole('table', { name: /^Services/ }).locator('tr', { hasText: 'echo' });
      await expect(echoRow.textContent()).resolves.toMatch(/3 \/ 3.*1 skipped.*rejected/);
      await expect(echoRow.getByRole('link', { name: 'echo' }).getAttribute('href')).resolves.toBe('/debug/catalog?service=echo');

      // ZooKeeper session, convergence chart, writer state.
      await expect(page.getByRole('table', { name: /ZooKeeper ensembles/ }).textContent()).resolves.toMatch(/default.*connected/);
      await expect(page.locator('#convergence-body svg').getAttribute('aria-label')).resolves.toMatch(/p50 [\d.]+ (ms|s), p99 [\d.]+ (ms|s) over \d+ ACKs/);
      await expect(page.locator('#writer-body').textContent()).resolves.toContain('The ServiceEntry writer is off');

      await page.screenshot({ path: path.join(OUTPUT, 'status-page.png'), fullPage: true });

      // Keyboard: the first Tab reaches the skip link, and it leads to the content.
      await page.keyboard.press('Tab');
      await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Skip to content');

      // It ran under its own Content-Security-Policy without a violation, and asked only the admin port.
      expect(consoleErrors).toEqual([]);
      expect(requests.length).toBeGreaterThan(1);
      expect(requests.filter((u) => new URL(u).origin !== admin)).toEqual([]);
      expect(new Set(requests.map((u) => new URL(u).pathname))).toEqual(
        new Set([
          '/debug/status',
          '/readyz',
          '/debug/services',
          '/debug/registrations',
          '/debug/policies',
          '/debug/istio',
          '/debug/proxies',
          '/debug/convergence',
          '/debug/writer',
        ]),
      );
    } finally {
      await page.close();
    }
  }, 60000);

  it('exports the proxies by state and the rejected policies the alerts watch', async () => {
    const text = await (await fetch(`${admin}/metrics`)).text();
    expect(text).toMatch(/^zkxds_xds_proxies_by_state\{state="NACKED"\} 1$/m);
    expect(text).toMatch(/^zkxds_xds_proxies_by_state\{state="SYNCED"\} 2$/m);
    expect(text).toMatch(/^zkxds_invalid_policies 1$/m);
    expect(text).toMatch(/^zkxds_xds_stale_proxy_max_seconds 0$/m);
  });

  it('fits a narrow screen: nothing but the tables scrolls sideways', async () => {
    const { page } = await openStatusPage({ width: 375, height: 800 });
    try {
      const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, viewport: window.innerWidth }));
      expect(widths.page).toBeLessThanOrEqual(widths.viewport);
      await page.screenshot({ path: path.join(OUTPUT, 'status-page-narrow.png'), fullPage: true });
    } finally {
      await page.close();
    }
  }, 60000);

  it('refreshes itself: a proxy that leaves disappears without a reload', async () => {
    const { page } = await openStatusPage({ width: 1280, height: 900 });
    try {
      sidecar.close();
      await page.locator('#proxies-body', { hasNotText: 'envoy-sidecar' }).waitFor({ timeout: 30000 });
      await expect(page.locator('#proxies-body').textContent()).resolves.toContain('grpc-client');
    } finally {
      await page.close();
    }
  }, 60000);
});
