// mTLS and authorization from ZooKeeper policy, with real grpc-js-xds on both ends: a proxyless
// gRPC server (XdsServer) takes its Listener (DownstreamTlsContext, RBAC filters) from zk-xds, and
// proxyless clients (XdsChannelCredentials) take their Cluster's UpstreamTlsContext from it.
// Certificates come from `file_watcher` providers over files this test makes with openssl: `web`
// and `batch` from the mesh CA, an impostor of `web` from a foreign CA.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { silentLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import type { ServicePolicy } from '../../src/catalog/policy.js';
import { serveConfig } from '../support/serve-config.js';
import { ZooKeeperServer } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { XdsClientProcess, summarize } from '../support/xds-client-process.js';
import { XdsServerProcess } from '../support/xds-server-process.js';
import { JsCaller, failures } from '../support/continuous-callers.js';
import { certificateProviders, makeSpiffeCerts, spiffeId, type PemFiles, type SpiffeCerts } from '../support/spiffe-certs.js';
import { ECHO_PROTO_PATH } from '../support/echo-backend.js';
import { totalNacks } from '../support/grpc-end-to-end.js';
import { eventually } from '../support/eventually.js';
import { CliProcess } from '../support/cli-process.js';

const POLICY_PATH = '/zk-xds/policy/orders';
const PERMISSION_DENIED = grpc.status.PERMISSION_DENIED;

let certs: SpiffeCerts;
let zk: ZooKeeperServer;
let app: ZkTestClient;
let server: RunningServer;
let backend: XdsServerProcess;
const clients: XdsClientProcess[] = [];

function setPolicy(policy: ServicePolicy): Promise<unknown> {
  return app.set(POLICY_PATH, JSON.stringify({ protocol: 'grpc', ...policy }));
}

const strict: ServicePolicy['mtls'] = { mode: 'STRICT', serverIdentities: [{ exact: spiffeId('orders') }] };

/** A grpc-js-xds client of xds:///orders presenting `files` (none: plaintext, insecure credentials). */
async function caller(name: string, files?: PemFiles): Promise<XdsClientProcess> {
  const client = await XdsClientProcess.start({
    xdsServer: `127.0.0.1:${server.xdsPort}`,
    nodeId: `client-${name}`,
    target: 'orders',
    credentials: files ? 'xds' : 'insecure',
    bootstrap: files ? { certificate_providers: certificateProviders(files) } : undefined,
  });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  certs = makeSpiffeCerts();
  zk = await ZooKeeperServer.start();
  app = await ZkTestClient.connect(zk.connectString);
  await app.mkdirp('/zk-xds/policy');
  await app.create(POLICY_PATH, JSON.stringify({ protocol: 'grpc', mtls: { mode: 'DISABLE' } }));
  server = await startServer(serveConfig(zk.connectString), silentLogger());
  backend = await XdsServerProcess.start({
    id: 'orders-1',
    xdsServer: `127.0.0.1:${server.xdsPort}`,
    bootstrap: { certificate_providers: certificateProviders(certs.workload('orders')) },
    env: { GRPC_XDS_EXPERIMENTAL_RBAC: 'true' },
  });
  // The server serves once zk-xds knows an instance at its address: register it.
  await app.mkdirp('/services/orders');
  await app.create('/services/orders/orders-1', JSON.stringify({ address: backend.host, port: backend.port }), { ephemeral: true });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    backend.serving,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`the XdsServer is not serving:\n${backend.log()}`)), 100_000))),
  ]).finally(() => clearTimeout(timer));
  // A safety net for a loaded machine (a run next to other suites once took over 60 s), not a bound.
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.stop();
  await backend?.stop();
  await server?.stop();
  await app?.close();
  await zk?.destroy();
  certs?.remove();
});

describe('zero trust between proxyless gRPC services', () => {
  it('flips DISABLE -> PERMISSIVE -> STRICT and back while an allowed caller calls, without a failed call', async () => {
    const web = await caller('web', certs.workload('web'));
    await web.waitFor((seen) => seen.has('orders-1'), { timeoutMs: 20_000 });
    // A gRPC server takes plaintext or mTLS, never both on one port (gRFC A36): when a flip reaches
    // the caller and the server at different moments, the caller has no usable connection for that
    // moment. Wait-for-ready calls wait it out instead of failing (README, "Zero trust").
    const calls = new JsCaller(web, 5, 10_000, true);
    const waitForCalls = async (n: number) => {
      const from = calls.results.length;
      await eventually(() => expect(calls.results.length).toBeGreaterThanOrEqual(from + n), 60_000);
    };
    try {
      await waitForCalls(20);
      await setPolicy({ mtls: { mode: 'PERMISSIVE' } });
      await waitForCalls(50);
      expect((await backend.peers())[`URI:${spiffeId('web')}`]).toBeUndefined();
      await setPolicy({ mtls: strict });
      // The server sees web's certificate once both ends moved to mTLS.
      await eventually(async () => expect((await backend.peers())[`URI:${spiffeId('web')}`]).toBeGreaterThan(0), 60_000);
      await waitForCalls(50);
      const strictCalls = calls.results.length;
      // And back: STRICT -> PERMISSIVE -> DISABLE, until the server sees plaintext calls again.
      const plaintextBefore = (await backend.peers()).plaintext ?? 0;
      await setPolicy({ mtls: { mode: 'PERMISSIVE' } });
      await waitForCalls(50);
      await setPolicy({ mtls: { mode: 'DISABLE' } });
      await eventually(async () => expect((await backend.peers()).plaintext ?? 0).toBeGreaterThan(plaintextBefore + 10), 60_000);
      await waitForCalls(20);
      console.log(
        `zero-trust flips: ${strictCalls} calls up to STRICT, ${calls.results.length - strictCalls} back to DISABLE; failed: ${failures(calls.results).count}`,
      );
    } finally {
      await calls.stop();
    }
    expect(failures(calls.results)).toEqual({ count: 0, messages: {} });
  }, 180_000);

  it('STRICT with an ALLOW rule: the allowed identity is served, another one gets PERMISSION_DENIED from RBAC', async () => {
    await setPolicy({ mtls: strict, authorization: { rules: [{ action: 'ALLOW', from: { principals: [{ exact: spiffeId('web') }] } }] } });
    const batch = await caller('batch', certs.workload('batch'));
    await eventually(async () => {
      const [r] = await batch.call(1, { deadlineMs: 3000 });
      expect(r).toMatchObject({ ok: false, code: PERMISSION_DENIED });
    }, 60_000);
    const web = clients[0]!;
    const results = await web.call(20);
    expect(summarize(results)).toBe('orders-1×20');
    const peers = await backend.peers();
    expect(peers[`URI:${spiffeId('batch')}`]).toBeUndefined(); // RBAC refused it before the handler
    expect(peers.plaintext ?? 0).toBeGreaterThan(0); // from the DISABLE phase
  }, 120_000);

  it('STRICT: a caller without a certificate, or with one from a foreign CA, fails the handshake', async () => {
    const target = `${backend.host}:${backend.port}`;
    const meshCa = readFileSync(certs.workload('web').caFile);
    const direct = (creds: grpc.ChannelCredentials) => echoCall(target, creds);
    const pem = (f: PemFiles) => [readFileSync(f.keyFile), readFileSync(f.certFile)] as const;
    const noServerNameCheck = { checkServerIdentity: () => undefined };
    // Control: the same direct call with web's own certificate gets through.
    expect(await direct(grpc.credentials.createSsl(meshCa, ...pem(certs.workload('web')), noServerNameCheck))).toEqual({ ok: true, backend: 'orders-1' });
    expect(await direct(grpc.credentials.createInsecure())).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE });
    expect(await direct(grpc.credentials.createSsl(meshCa, null, null, noServerNameCheck))).toMatchObject({ ok: false, code: grpc.status.UNAVAILABLE });
    expect(await direct(grpc.credentials.createSsl(meshCa, ...pem(certs.impostor('web')), noServerNameCheck))).toMatchObject({
      ok: false,
      code: grpc.status.UNAVAILABLE,
    });
    // And through xDS: the impostor of web, with web's SPIFFE ID from a foreign CA, is never served.
    const impostor = await caller('impostor', certs.impostor('web'));
    const results = await impostor.call(5, { deadlineMs: 2000 });
    expect(results.every((r) => !r.ok && r.code === grpc.status.UNAVAILABLE)).toBe(true);
  }, 120_000);

  it('a rule change from allow to deny takes effect', async () => {
    const web = clients[0]!;
    expect(summarize(await web.call(5))).toBe('orders-1×5');
    await setPolicy({ mtls: strict, authorization: { rules: [{ action: 'DENY', from: { principals: [{ exact: spiffeId('web') }] } }] } });
    await eventually(async () => {
      const [r] = await web.call(1, { deadlineMs: 3000 });
      expect(r).toMatchObject({ ok: false, code: PERMISSION_DENIED });
    }, 60_000);
    // batch, no longer matched by a DENY rule and with no ALLOW rule left, is served now.
    const batch = clients[1]!;
    await eventually(async () => expect(summarize(await batch.call(3))).toBe('orders-1×3'), 60_000);
  }, 120_000);

  it('zk-xds inspect shows the effective mode, the rules and the server listener', async () => {
    const res = await CliProcess.run(['inspect', 'orders', '--admin', `http://127.0.0.1:${server.adminPort}`]);
    expect(res).toMatchObject({ code: 0, stderr: '' });
    expect(res.stdout).toContain(`mtls: STRICT (callers send mTLS, accept servers ${spiffeId('orders')})`);
    expect(res.stdout).toContain(`server ${backend.host}:${backend.port}: STRICT`);
    expect(res.stdout).toContain('gRPC nodes need: certificate_providers.default');
    expect(res.stdout).toContain(`authorization (in order):\n  DENY from ${spiffeId('web')} to anything\n  otherwise ALLOW`);
    expect(res.stdout).toMatch(
      new RegExp(`proxyless\\s+listener\\s+grpc/server\\?xds\\.resource\\.listening_address=127\\.0\\.0\\.1:${backend.port}\\s+\\S+\\s+gRPC server, mTLS`),
    );
  });

  it('was never NACKed by a caller or the server', async () => {
    expect(await totalNacks(server)).toBe(0);
  });
});

let echoClient: grpc.ServiceClientConstructor | undefined;

/** One Who call straight to `target` (no xDS), with `creds`. */
function echoCall(target: string, creds: grpc.ChannelCredentials): Promise<{ ok: true; backend: string } | { ok: false; code: number; details: string }> {
  if (!echoClient) {
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(ECHO_PROTO_PATH, { keepCase: true, defaults: true })) as unknown as {
      zkxds: { demo: { v1: { Echo: grpc.ServiceClientConstructor } } };
    };
    echoClient = pkg.zkxds.demo.v1.Echo;
  }
  const client = new echoClient(target, creds);
  return new Promise((resolve) => {
    (client as unknown as { Who: (req: object, opts: object, cb: (err: grpc.ServiceError | null, reply: { backend: string }) => void) => void }).Who(
      {},
      { deadline: Date.now() + 3000 },
      (err, reply) => {
        client.close();
        resolve(err ? { ok: false, code: err.code, details: err.details } : { ok: true, backend: reply.backend });
      },
    );
  });
}
