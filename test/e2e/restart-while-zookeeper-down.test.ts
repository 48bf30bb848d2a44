// zk-xds restarted while ZooKeeper is down must not tell its clients that everything is gone.
// An istiod-like MCP client and an Envoy-like SotW client (wildcard CDS and LDS, user agent envoy)
// hold the full set from a first replica; ZooKeeper goes down, that replica dies, and the clients
// open their streams again on a freshly started replica. Until ZooKeeper is back and read, they
// receive nothing at all (no empty list, no shrunken set); then the full set, with the versions
// they already hold. And gRPC's own xDS client, which holds its configuration, keeps calling
// through the whole outage and restart, held far longer than its 15 s does-not-exist timer.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import { ZooKeeperServer, freePorts } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { CliProcess } from '../support/cli-process.js';
import { AdsClient, type ReceivedResponse } from '../support/ads-client.js';
import { IstiodLikeClient } from '../support/istiod-client.js';
import { eventually } from '../support/eventually.js';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.js';
import { XdsClientProcess, summarize, type CallResult } from '../support/xds-client-process.js';
import { TcpForwarder } from '../support/tcp-forwarder.js';

/** svc-0..19, and echo (served by real backends). */
const SERVICES = 21;
const GRPC_HOLD_MS = 20_000;
const SE = 'networking.istio.io/v1/ServiceEntry';
const HOLD_OBSERVED_MS = 3000;

let zk: ZooKeeperServer;
let backends: EchoBackend[] = [];
const running: CliProcess[] = [];
const clients: Array<{ close(): void }> = [];

interface Replica {
  readonly cli: CliProcess;
  readonly xds: string;
  readonly admin: number;
}

async function startReplica(): Promise<Replica> {
  const [xds, admin] = await freePorts(2);
  const cli = CliProcess.start([
    'serve',
    '--zk',
    zk.connectString,
    '--zk-session-timeout-ms',
    '4000',
    '--xds-port',
    String(xds),
    '--admin-port',
    String(admin),
    '--bind-address',
    '127.0.0.1',
  ]);
  running.push(cli);
  await cli.waitForLine((l) => l.msg.startsWith('zk-xds listening'));
  return { cli, xds: `127.0.0.1:${xds}`, admin: admin! };
}

async function readyz(r: Replica): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${r.admin}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function envoyLike(address: string, held?: { cds: string; lds: string }): AdsClient {
  const c = new AdsClient(address);
  clients.push(c);
  // A reconnecting Envoy sends the versions it holds on its new stream.
  c.send({ typeUrl: TYPE_URL.cluster, versionInfo: held?.cds ?? '', node: { id: 'envoy-sidecar-1', userAgent: 'envoy' } });
  c.send({ typeUrl: TYPE_URL.listener, versionInfo: held?.lds ?? '' });
  return c;
}

function istiodLike(address: string): IstiodLikeClient {
  const c = new IstiodLikeClient(address);
  clients.push(c);
  c.subscribe();
  return c;
}

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  backends = await Promise.all(['b1', 'b2', 'b3'].map((id) => startEchoBackend(id)));
  const app = await ZkTestClient.connect(zk.connectString);
  for (let i = 0; i < SERVICES - 1; i++) {
    await app.mkdirp(`/services/svc-${i}`);
    await app.create(`/services/svc-${i}/i1`, JSON.stringify({ address: `10.9.${i}.1`, port: 8080 }));
  }
  await app.mkdirp('/services/echo');
  for (const b of backends.slice(0, 2)) await app.create(`/services/echo/${b.id}`, JSON.stringify({ address: b.host, port: b.port }));
  await app.close();
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of running) p.kill();
  await Promise.all(running.map((p) => p.exited));
  await Promise.all(backends.map((b) => b.stop()));
  await zk?.destroy();
});

describe('a replica restarted while ZooKeeper is down', () => {
  it('answers no client before ZooKeeper is read, then the full set with the versions they hold', async () => {
    const first = await startReplica();
    await eventually(async () => expect((await readyz(first)).status).toBe(200), 20_000);
    const envoy1 = envoyLike(first.xds);
    const istiod1 = istiodLike(first.xds);
    const cds1 = await envoy1.next(TYPE_URL.cluster, 10_000);
    const lds1 = await envoy1.next(TYPE_URL.listener, 10_000);
    const se1 = await istiod1.ads.next(SE, 10_000, 0);
    expect(cds1.resources).toHaveLength(SERVICES);
    expect(se1.resources).toHaveLength(SERVICES);

    await zk.stop();
    first.cli.kill('SIGKILL');
    await first.cli.exited;

    const second = await startReplica();
    const envoy2 = envoyLike(second.xds, { cds: cds1.versionInfo, lds: lds1.versionInfo });
    const istiod2 = istiodLike(second.xds);
    const heldSince = performance.now();
    const notReady = await readyz(second);
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({
      ready: false,
      notReady: [{ ensemble: 'default', reason: expect.stringContaining('first complete read') }],
      xds: { holding: true },
    });
    // Nothing at all while ZooKeeper is down: an empty list would make them drop everything.
    const [quietEnvoy, quietIstiod] = await Promise.all([envoy2.quietFor(HOLD_OBSERVED_MS), istiod2.ads.quietFor(HOLD_OBSERVED_MS)]);
    expect(quietEnvoy).toEqual([]);
    expect(quietIstiod).toEqual([]);
    expect(envoy2.ended || istiod2.ads.ended).toBe(false);

    const zkBackAt = performance.now();
    await zk.restart();
    const cds2 = await envoy2.next(TYPE_URL.cluster, 30_000);
    const answeredAt = performance.now();
    const lds2 = await envoy2.next(TYPE_URL.listener, 10_000);
    const se2 = await istiod2.ads.next(SE, 10_000, 0);
    // Every type istiod asked for is answered once the read is done (istiod's readiness needs it).
    for (const t of istiod2.types) await istiod2.ads.next(t, 10_000, 0);

    const names = (r: ReceivedResponse) => r.resources.map((x) => x.name).sort();
    expect(names(cds2)).toEqual(names(cds1));
    expect(cds2.versionInfo).toBe(cds1.versionInfo);
    expect(lds2.versionInfo).toBe(lds1.versionInfo);
    expect(names(se2)).toEqual(names(se1));
    expect(se2.versionInfo).toBe(se1.versionInfo);
    // No response before the full one: the first of each type is the full set.
    expect(envoy2.responses.find((r) => r.typeUrl === TYPE_URL.cluster)).toBe(cds2);
    expect(istiod2.responsesOf(SE)[0]).toBe(se2);
    await eventually(async () => expect((await readyz(second)).status).toBe(200));
    process.stdout.write(
      `restart while ZooKeeper down: clients held ${((answeredAt - heldSince) / 1000).toFixed(1)} s in all; answered ${((answeredAt - zkBackAt) / 1000).toFixed(1)} s after ZooKeeper was restarted\n`,
    );
  }, 120_000);

  it('a gRPC client holding its configuration calls without a failure through the outage, the restart and the hold', async () => {
    const first = await startReplica();
    await eventually(async () => expect((await readyz(first)).status).toBe(200), 20_000);
    const forwarder = await TcpForwarder.start(Number(first.xds.split(':')[1]));
    const client = await XdsClientProcess.start({ xdsServer: forwarder.address, nodeId: 'holding-grpc-client', target: 'echo' });
    try {
      await client.waitFor((seen) => seen.has('b1') && seen.has('b2'), { timeoutMs: 20_000, probeCalls: 20 });
      const results: CallResult[] = [];
      let calling = true;
      // A long deadline: a call held up by a starved CI machine is slow, not lost; a call the
      // client cannot route fails at once with UNAVAILABLE and still counts.
      const caller = (async () => {
        while (calling) results.push(...(await client.call(5, { deadlineMs: 10_000 })));
      })();
      try {
        await zk.stop();
        first.cli.kill('SIGKILL');
        await first.cli.exited;
        const second = await startReplica();
        forwarder.retarget(Number(second.xds.split(':')[1]));
        // Held longer than grpc-js-xds's does-not-exist timer (15 s): it applies only to resources
        // the client does not hold.
        const heldSince = Date.now();
        // Its stream is open on the new replica, its requests held (nothing sent).
        await eventually(async () => {
          const page = (await (await fetch(`http://127.0.0.1:${second.admin}/debug/proxies`)).json()) as {
            proxies: Array<{ node: string; types: Record<string, { state: string }> }>;
          };
          const p = page.proxies.find((x) => x.node === 'holding-grpc-client');
          expect(p?.types.LDS?.state).toBe('NOT_SENT');
        }, 15_000);
        await new Promise((r) => setTimeout(r, GRPC_HOLD_MS));
        expect((await readyz(second)).status).toBe(503);
        await zk.restart();
        await eventually(async () => expect((await readyz(second)).status).toBe(200), 30_000);
        const heldMs = Date.now() - heldSince;
        // Changes reach the client through the new replica.
        const app = await ZkTestClient.connect(zk.connectString);
        await app.create(`/services/echo/${backends[2]!.id}`, JSON.stringify({ address: backends[2]!.host, port: backends[2]!.port }));
        await app.close();
        await client.waitFor((seen) => seen.has('b3'), { timeoutMs: 20_000, probeCalls: 30 });
        calling = false;
        await caller;
        const failed = results.filter((r) => !r.ok);
        expect(results.length).toBeGreaterThan(0);
        if (failed.length > 0) throw new Error(`${failed.length} of ${results.length} calls failed: ${summarize(failed)}`);
        process.stdout.write(`grpc-js-xds client held ${(heldMs / 1000).toFixed(1)} s by a restarted replica: ${results.length} calls, 0 failed\n`);
      } finally {
        calling = false;
        await caller.catch(() => undefined);
      }
    } finally {
      await client.stop();
      await forwarder.close();
    }
  }, 180_000);
});
