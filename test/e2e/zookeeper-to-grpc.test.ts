// The whole spine with real components: registrations in a real ZooKeeper, zk-xds serving them,
// gRPC's own xDS client (@grpc/grpc-js-xds, in a child process) dialing xds:///echo, and real gRPC
// backends answering. gRPC's strict validation is the conformance oracle: it must never NACK.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import type { ZkTestClient } from '../support/zk-test-client.js';
import type { EchoBackend } from '../support/echo-backend.js';
import type { XdsClientProcess } from '../support/xds-client-process.js';
import { startGrpcEndToEnd, totalNacks, type GrpcEndToEnd } from '../support/grpc-end-to-end.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { AdsClient } from '../support/ads-client.js';
import { eventually } from '../support/eventually.js';

let e2e: GrpcEndToEnd;
let app: ZkTestClient;
let server: RunningServer;
let backends: EchoBackend[];
let client: XdsClientProcess;

const registration = (b: EchoBackend) => JSON.stringify({ id: b.id, address: b.host, port: b.port, metadata: { version: 'v1' } });
const znode = (b: EchoBackend) => `/services/echo/${b.host}:${b.port}`;

const nacks = () => totalNacks(server);

beforeAll(async () => {
  e2e = await startGrpcEndToEnd({
    backendIds: ['b1', 'b2', 'b3'],
    target: 'echo',
    nodeId: 'e2e-client',
    register: async (writer, started) => {
      await writer.mkdirp('/services/echo');
      for (const b of started.slice(0, 2)) await writer.create(znode(b), registration(b), { ephemeral: true });
    },
  });
  ({ app, server, backends, client } = e2e);
}, 60000);

afterAll(async () => {
  await e2e?.stop();
});

describe('ZooKeeper -> zk-xds -> grpc-js-xds -> gRPC backends', () => {
  it('reaches exactly the registered instances', async () => {
    await client.waitFor((seen) => seen.has('b1') && seen.has('b2'), { timeoutMs: 15000, probeCalls: 20 });
    const results = await client.call(30);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(new Set(results.map((r) => (r.ok ? r.backend : '')))).toEqual(new Set(['b1', 'b2']));
    expect(backends[2]!.callCount()).toBe(0);
  });

  it('starts calling an instance registered later', async () => {
    await app.create(znode(backends[2]!), registration(backends[2]!), { ephemeral: true });
    await client.waitFor((seen) => seen.has('b3'), { timeoutMs: 5000, probeCalls: 20 });
  });

  it('stops calling a deregistered instance', async () => {
    const b1 = backends[0]!;
    await app.remove(znode(b1));
    await client.waitFor((seen) => !seen.has('b1'), { timeoutMs: 15_000, probeCalls: 10, intervalMs: 10 });
    const callsBefore = b1.callCount();
    const results = await client.call(30);
    expect(results.every((r) => r.ok && r.backend !== 'b1')).toBe(true);
    expect(b1.callCount()).toBe(callsBefore);
  });

  it('treats an instance marked disabled like a deregistered one', async () => {
    const b2 = backends[1]!;
    await app.set(znode(b2), JSON.stringify({ address: b2.host, port: b2.port, enabled: false }));
    await client.waitFor((seen) => !seen.has('b2') && seen.has('b3'), { timeoutMs: 2000, probeCalls: 10, intervalMs: 10 });
    await app.set(znode(b2), registration(b2));
    await client.waitFor((seen) => seen.has('b2'), { timeoutMs: 2000, probeCalls: 20, intervalMs: 10 });
  });

  it('keeps the service reachable again after its last instance left and came back', async () => {
    for (const b of backends) await app.remove(znode(b));
    await eventually(() => expect(server.catalog.get('echo')?.instances).toEqual([]));
    // The catalog empties before the push reaches the client, so the call may still succeed once.
    await eventually(async () => {
      const down = await client.call(1, { deadlineMs: 300 });
      expect(down[0]!.ok).toBe(false);
    });
    await app.create(znode(backends[0]!), registration(backends[0]!), { ephemeral: true });
    await client.waitFor((seen) => seen.has('b1'), { timeoutMs: 5000, probeCalls: 5 });
  });

  it('was never NACKed by the gRPC client, and every type it uses is ACKed', async () => {
    expect(await nacks()).toBe(0);
    const stream = server.xds.connectedStreams().find((s) => s.nodeId === 'e2e-client');
    expect(stream).toBeDefined();
    for (const t of [TYPE_URL.listener, TYPE_URL.route, TYPE_URL.cluster, TYPE_URL.endpoint]) {
      await eventually(() => expect(stream!.subscriptions.get(t)?.syncState()).toBe('SYNCED'));
    }
  });

  it('does not re-send a NACKed response in a loop', async () => {
    const raw = new AdsClient(`127.0.0.1:${server.xdsPort}`);
    try {
      raw.send({ typeUrl: TYPE_URL.endpoint, names: ['echo'], node: { id: 'nacker' } });
      const r = await raw.next(TYPE_URL.endpoint);
      raw.nack(r, '', 'xDS response validation errors: [resource index 0: rejected by test]', ['echo']);
      expect(await raw.quietFor(1000)).toEqual([]);
      expect(await nacks()).toBe(1);
      // The next real change is sent.
      await app.create(znode(backends[1]!), registration(backends[1]!), { ephemeral: true });
      const next = await raw.next(TYPE_URL.endpoint);
      expect(next.versionInfo).not.toBe(r.versionInfo);
    } finally {
      raw.close();
    }
  });
});
