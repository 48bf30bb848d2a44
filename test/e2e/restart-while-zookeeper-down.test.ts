// zk-xds restarted while ZooKeeper is down must not tell its clients that everything is gone.
// An istiod-like MCP client and an Envoy-like SotW client (wildcard CDS and LDS, user agent envoy)
// hold the full set from a first replica; ZooKeeper goes down, that replica dies, and the clients
// open their streams again on a freshly started replica. Until ZooKeeper is back and read, they
// receive nothing at all (no empty list, no shrunken set); then the full set, with the versions
// they already hold.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import { ZooKeeperServer, freePorts } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { CliProcess } from '../support/cli-process.js';
import { AdsClient, type ReceivedResponse } from '../support/ads-client.js';
import { IstiodLikeClient } from '../support/istiod-client.js';
import { eventually } from '../support/eventually.js';

const SERVICES = 20;
const SE = 'networking.istio.io/v1/ServiceEntry';
const HOLD_OBSERVED_MS = 3000;

let zk: ZooKeeperServer;
const running: CliProcess[] = [];
const clients: Array<{ close(): void }> = [];

interface Replica {
  readonly cli: CliProcess;
  readonly xds: string;
  readonly admin: number;
}

async function startReplica(): Promise<Replica> {
  const [xds, admin] = await freePorts(2);
  const cli = CliProcess.start(['serve', '--zk', zk.connectString, '--zk-session-timeout-ms', '4000', '--xds-port', String(xds), '--admin-port', String(admin), '--bind-address', '127.0.0.1']);
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
  const app = await ZkTestClient.connect(zk.connectString);
  for (let i = 0; i < SERVICES; i++) {
    await app.mkdirp(`/services/svc-${i}`);
    await app.create(`/services/svc-${i}/i1`, JSON.stringify({ address: `10.9.${i}.1`, port: 8080 }));
  }
  await app.close();
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of running) p.kill();
  await Promise.all(running.map((p) => p.exited));
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
    expect(notReady.body).toMatchObject({ ready: false, notReady: [{ ensemble: 'default', reason: expect.stringContaining('first complete read') }], xds: { holding: true } });
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
});
