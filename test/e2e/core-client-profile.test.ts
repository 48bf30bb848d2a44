// gRPC C-core 1.51 (Debian's python3-grpcio) as a real proxyless client. It segfaults at the first
// call on a RING_HASH cluster and fails calls under route timeouts below ~3 s, so zk-xds serves it
// its own view without those fields (src/xds/client-profile.ts, src/translate/client-capabilities.ts),
// while grpc-js keeps ring hash and the short timeout; inspect and status say what was left out.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import type { EchoBackend } from '../support/echo-backend.js';
import type { ZkTestClient } from '../support/zk-test-client.js';
import { startGrpcEndToEnd, totalNacks, type GrpcEndToEnd } from '../support/grpc-end-to-end.js';
import { runCoreXdsClient, type CoreClientRun } from '../support/core-xds-client.js';
import { eventually } from '../support/eventually.js';
import { statusCommand } from '../../src/cli/status-command.js';
import { inspectCommand } from '../../src/cli/inspect-command.js';

const POLICY = { protocol: 'grpc', loadBalancing: { policy: 'RING_HASH', hashOn: { header: 'x-user' } }, requestTimeoutMs: 1000 };

let e2e: GrpcEndToEnd;

async function register(app: ZkTestClient, backends: readonly EchoBackend[]): Promise<void> {
  await app.mkdirp('/services/echo');
  for (const b of backends) await app.create(`/services/echo/${b.id}`, JSON.stringify({ address: b.host, port: b.port }), { ephemeral: true });
  await app.mkdirp('/zk-xds/policy');
  await app.create('/zk-xds/policy/echo', JSON.stringify(POLICY));
}

beforeAll(async () => {
  e2e = await startGrpcEndToEnd({ backendIds: ['a', 'b'], register, target: 'echo', nodeId: 'js-client' });
}, 60_000);

afterAll(async () => {
  await e2e?.stop();
});

/** Writes the service's policy and waits until zk-xds holds it (the publisher has then built every view). */
async function setPolicy(policy: object): Promise<void> {
  await e2e.app.set('/zk-xds/policy/echo', JSON.stringify(policy));
  await eventually(() => expect(e2e.server.catalog.get('echo')?.policy).toEqual(policy));
}

async function runCore(): Promise<{ view: string | undefined; run: CoreClientRun }> {
  let view: string | undefined;
  const watch = setInterval(() => {
    view ??= e2e.server.xds.connectedStreams().find((s) => s.nodeId === 'core-client')?.view?.name;
  }, 20);
  const run = await runCoreXdsClient({ xdsServer: `127.0.0.1:${e2e.server.xdsPort}`, nodeId: 'core-client', target: 'echo', seconds: 3 }).finally(() =>
    clearInterval(watch),
  );
  return { view, run };
}

describe('gRPC C-core 1.51 (python3-grpcio) gets its own view', () => {
  it.each([
    ['RING_HASH on a header (it segfaults at the first call)', { protocol: 'grpc', loadBalancing: { policy: 'RING_HASH', hashOn: { header: 'x-user' } } }],
    ['a 1 s request timeout (it fails every call at once)', { protocol: 'grpc', requestTimeoutMs: 1000 }],
    ['both', POLICY],
    [
      'the rest of what gRPC implements (retries, maxRequests, outlier detection through 3 intervals, a 5 s timeout): sent as to every gRPC client',
      {
        protocol: 'grpc',
        requestTimeoutMs: 5000,
        retries: { attempts: 2, retryOn: ['unavailable'] },
        circuitBreakers: { maxRequests: 100 },
        outlierDetection: { consecutive5xx: 5, intervalMs: 1000 },
      },
    ],
  ])(
    '%s: it keeps calling, every call answered',
    async (_title, policy) => {
      await setPolicy(policy);
      const { view, run } = await runCore();
      expect({ code: run.code, signal: run.signal, failed: run.result?.failed, errors: run.result?.errors }).toEqual({
        code: 0,
        signal: null,
        failed: 0,
        errors: {},
      });
      expect(run.result!.ok).toBeGreaterThan(0);
      expect(view).toBe('grpc-core-1.51');
    },
    60_000,
  );

  it('its view has neither ring hash nor the timeout; grpc-js keeps both, from the gRPC view, and answers', async () => {
    await setPolicy({ ...POLICY, requestTimeoutMs: 1500 });
    const core = e2e.server.caches['grpc-core-1.51']!;
    expect(core.get(TYPE_URL.cluster, 'echo')!.object).toMatchObject({ lb_policy: 'ROUND_ROBIN' });
    expect(JSON.stringify(core.get(TYPE_URL.route, 'echo')!.object)).not.toMatch(/max_stream_duration|hash_policy/);
    expect(e2e.server.caches.proxyless.get(TYPE_URL.cluster, 'echo')!.object).toMatchObject({ lb_policy: 'RING_HASH' });
    expect(JSON.stringify(e2e.server.caches.proxyless.get(TYPE_URL.route, 'echo')!.object)).toMatch(/max_stream_duration.*hash_policy/);
    await e2e.client.waitFor((seen) => seen.size > 0, { timeoutMs: 15_000 });
    expect(e2e.server.xds.connectedStreams().find((s) => s.nodeId === 'js-client')?.view?.name).toBe('proxyless');
    const results = await e2e.client.call(20);
    expect(results.every((r) => r.ok)).toBe(true);
  }, 60_000);

  it("a service C-core gets like everyone else shares the gRPC view's encoded bytes", async () => {
    const b = e2e.backends[0]!;
    await e2e.app.mkdirp('/services/plain');
    await e2e.app.create('/services/plain/p1', JSON.stringify({ address: b.host, port: b.port }), { ephemeral: true });
    const core = e2e.server.caches['grpc-core-1.51']!;
    await eventually(() => expect(core.get(TYPE_URL.cluster, 'plain')).toBeDefined());
    for (const type of [TYPE_URL.cluster, TYPE_URL.route, TYPE_URL.listener, TYPE_URL.endpoint]) {
      expect(core.get(type, 'plain')!.anyBytes).toBe(e2e.server.caches.proxyless.get(type, 'plain')!.anyBytes);
    }
  });

  it('zk-xds status and inspect say what is not applied for C-core 1.51, and why', async () => {
    await setPolicy(POLICY);
    const admin = `http://127.0.0.1:${e2e.server.adminPort}`;
    const running = runCoreXdsClient({ xdsServer: `127.0.0.1:${e2e.server.xdsPort}`, nodeId: 'core-client', target: 'echo', seconds: 4 });
    let status = '';
    await eventually(async () => {
      status = '';
      await statusCommand({ admin, output: 'table' }, (t) => (status += t));
      expect(status).toContain('not applied for gRPC C-core 1.51 (core-client):');
    }, 10_000);
    expect(status).toContain(
      '  echo: loadBalancing RING_HASH: gRPC C-core 1.51 crashes (segfault) at the first call on a RING_HASH cluster; sent ROUND_ROBIN\n',
    );
    expect(status).toContain('  echo: requestTimeoutMs: gRPC C-core 1.51 fails calls');
    // grpc-js gets the whole policy: nothing to say about it.
    expect(status).not.toContain('not applied for gRPC (');
    expect((await running).code).toBe(0);

    let inspect = '';
    await inspectCommand('echo', { admin, output: 'text' }, (t) => (inspect += t));
    expect(inspect).toMatch(/grpc-core-1\.51\s+cluster\s+echo\s+\S+\s+type EDS, lb ROUND_ROBIN/);
    expect(inspect).toMatch(/proxyless\s+cluster\s+echo\s+\S+\s+type EDS, lb RING_HASH/);
    expect(inspect).toContain('\nnot applied for gRPC C-core 1.51:\n  loadBalancing RING_HASH: gRPC C-core 1.51 crashes');
    expect(inspect).toContain('\n  requestTimeoutMs: gRPC C-core 1.51 fails calls');
    expect(inspect).not.toContain('not applied for Envoy');
  }, 60_000);

  it('was never NACKed', async () => {
    expect(await totalNacks(e2e.server)).toBe(0);
  });
});
