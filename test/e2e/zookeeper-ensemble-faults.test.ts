// ZooKeeper faults on a real 3-node ensemble, with zk-xds as its own process and gRPC's own xDS
// client (grpc-js-xds, another process) calling through it all along:
// - the leader killed (kill -9): the session moves to another member; zero failed calls, no
//   endpoint lost, no empty push, still ready;
// - quorum lost for 30 s (two members killed): the last state is served, zk-xds stays ready, and
//   /readyz and /metrics show the catalog's staleness rising; back to 0 once the quorum is;
// - session expiry (zk-xds frozen past its session timeout while the tree changes): a full
//   re-read, only the changed resources pushed, every change made meanwhile arrives.
// A raw ADS observer records every push so "no empty push" and "only differences" can be checked.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import { ZooKeeperEnsemble, freePorts } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.js';
import { XdsClientProcess, summarize, type CallResult } from '../support/xds-client-process.js';
import { AdsClient, type ReceivedResponse } from '../support/ads-client.js';
import { CliProcess, type LogLine } from '../support/cli-process.js';
import { eventually } from '../support/eventually.js';

const SESSION_TIMEOUT_MS = 4000;
const QUORUM_LOSS_MS = 30_000;
const OTHERS = ['other-0', 'other-1', 'other-2', 'other-3', 'other-4'];

let ensemble: ZooKeeperEnsemble;
let backends: EchoBackend[];
let zkxds: CliProcess;
let admin: number;
let client: XdsClientProcess;
let observer: AdsClient;

const znode = (b: EchoBackend) => `/services/echo/${b.id}`;
const registration = (b: EchoBackend) => JSON.stringify({ address: b.host, port: b.port });

interface Readyz {
  status: number;
  ready: boolean;
  catalogStaleSeconds: number;
  zookeeper: { state: string; sessionsOpened: number };
}

async function readyz(): Promise<Readyz> {
  const res = await fetch(`http://127.0.0.1:${admin}/readyz`);
  return { status: res.status, ...((await res.json()) as Omit<Readyz, 'status'>) };
}

async function staleMetric(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
  const m = /^zkxds_catalog_stale_seconds (\S+)$/m.exec(text);
  if (!m) throw new Error('no zkxds_catalog_stale_seconds in /metrics');
  return Number(m[1]);
}

/** Calls continuously (5 at a time) until stop() is called; returns every result. */
const callers: Array<{ stop(): Promise<CallResult[]> }> = [];
function callContinuously(): { stop(): Promise<CallResult[]> } {
  const results: CallResult[] = [];
  let running = true;
  const loop = (async () => {
    while (running) results.push(...(await client.call(5, { deadlineMs: 2000 })));
  })();
  return remember({
    async stop() {
      running = false;
      await loop;
      return results;
    },
  });
}
const remember = <T extends { stop(): Promise<CallResult[]> }>(c: T): T => {
  callers.push(c);
  return c;
};

/** Endpoints of the observer's ClusterLoadAssignment pushes for `name`, oldest first. */
function endpointCounts(responses: readonly ReceivedResponse[], name: string): number[] {
  const out: number[] = [];
  for (const r of responses) {
    if (r.typeUrl !== TYPE_URL.endpoint) continue;
    for (const res of r.resources) {
      if (res.name !== name) continue;
      const groups = (res.object.endpoints ?? []) as Array<{ lb_endpoints?: unknown[] }>;
      out.push(groups.reduce((n, g) => n + (g.lb_endpoints?.length ?? 0), 0));
    }
  }
  return out;
}

/** Cluster pushes that were empty or smaller than the first one. */
function shrunkenClusterPushes(responses: readonly ReceivedResponse[]): ReceivedResponse[] {
  const cds = responses.filter((r) => r.typeUrl === TYPE_URL.cluster);
  return cds.filter((r) => r.resources.length < cds[0]!.resources.length);
}

const logTime = (l: LogLine) => Date.parse(String(l.time));

/**
 * One write on a fresh session, retried while the ensemble settles: what a registrar does. A
 * long-lived test session is not used, as it may itself be moved or expired by the faults.
 */
async function write(op: (zk: ZkTestClient) => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    let zk: ZkTestClient | undefined;
    try {
      zk = await ZkTestClient.connect(ensemble.connectString);
      await op(zk);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await zk?.close().catch(() => undefined);
    }
  }
}
const register = (b: EchoBackend) => write((zk) => zk.create(znode(b), registration(b)));
const deregister = (b: EchoBackend) => write((zk) => zk.remove(znode(b)));

function expectNoFailedCalls(results: CallResult[]): void {
  expect(results.length).toBeGreaterThan(0);
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) throw new Error(`${failed.length} of ${results.length} calls failed: ${summarize(failed)}`);
}

beforeAll(async () => {
  ensemble = await ZooKeeperEnsemble.start(3);
  backends = await Promise.all(['b1', 'b2', 'b3', 'b4'].map((id) => startEchoBackend(id)));
  await write(async (zk) => {
    await zk.mkdirp('/services/echo');
    for (const b of backends.slice(0, 2)) await zk.create(znode(b), registration(b));
    for (const [i, name] of OTHERS.entries()) {
      await zk.mkdirp(`/services/${name}`);
      await zk.create(`/services/${name}/i1`, JSON.stringify({ address: `10.77.0.${i + 1}`, port: 9000 }));
    }
  });
  const [xds, adminPort] = await freePorts(2);
  admin = adminPort!;
  zkxds = CliProcess.start([
    'serve',
    '--zk',
    ensemble.connectString,
    '--zk-session-timeout-ms',
    String(SESSION_TIMEOUT_MS),
    '--xds-port',
    String(xds),
    '--admin-port',
    String(admin),
    '--bind-address',
    '127.0.0.1',
  ]);
  await eventually(async () => expect((await readyz()).status).toBe(200), 30_000);
  observer = new AdsClient(`127.0.0.1:${xds}`);
  observer.send({ typeUrl: TYPE_URL.cluster, node: { id: 'observer' } });
  observer.send({ typeUrl: TYPE_URL.endpoint, names: ['echo', ...OTHERS] });
  await observer.next(TYPE_URL.cluster, 10_000);
  await observer.next(TYPE_URL.endpoint, 10_000);
  client = await XdsClientProcess.start({ xdsServer: `127.0.0.1:${xds}`, nodeId: 'faults-client', target: 'echo' });
  await client.waitFor((seen) => seen.has('b1') && seen.has('b2'), { timeoutMs: 20_000, probeCalls: 20 });
}, 120_000);

afterEach(async () => {
  // A failed test leaves its caller running: stop it before the next test or the client's exit.
  await Promise.all(callers.splice(0).map((c) => c.stop().catch(() => undefined)));
});

afterAll(async () => {
  observer?.close();
  await client?.stop();
  if (zkxds) {
    zkxds.kill('SIGCONT');
    zkxds.kill('SIGKILL');
    await zkxds.exited;
  }
  await Promise.all((backends ?? []).map((b) => b.stop()));
  await ensemble?.destroy();
});

describe('zk-xds on a 3-node ZooKeeper ensemble', () => {
  it('loses no call, no endpoint and stays ready when the leader is killed', async () => {
    const pushesBefore = observer.responses.length;
    const caller = callContinuously();
    const polls: Readyz[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        polls.push(await readyz());
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const leader = await ensemble.leader();
    const killedAt = Date.now();
    await ensemble.kill(leader);
    await ensemble.leader(20_000);
    // zk-xds's session survives on another member.
    const back = await zkxds.waitForLine((l) => l.msg === 'ZooKeeper connection back' && logTime(l) > killedAt, 30_000).catch(() => null);
    await eventually(async () => expect((await readyz()).zookeeper.state).toBe('connected'), 30_000);
    // Changes still flow through the new leader.
    await register(backends[2]!);
    await client.waitFor((seen) => seen.has('b3'), { timeoutMs: 20_000, probeCalls: 30 });
    polling = false;
    await poller;
    const results = await caller.stop();
    await ensemble.restart(leader);

    expectNoFailedCalls(results);
    expect(polls.every((p) => p.status === 200)).toBe(true);
    expect((await readyz()).zookeeper.sessionsOpened).toBe(1);
    const pushes = observer.responses.slice(pushesBefore);
    expect(endpointCounts(pushes, 'echo')).toEqual([3]);
    expect(shrunkenClusterPushes(observer.responses)).toEqual([]);
    process.stdout.write(
      `leader kill: ${results.length} calls, 0 failed; zk-xds reconnected ${back ? `${logTime(back) - killedAt} ms` : '(no disconnect seen)'} after kill -9; max stale seconds ${Math.max(...polls.map((p) => p.catalogStaleSeconds))}\n`,
    );
  }, 120_000);

  it('serves the last state, stays ready and reports rising staleness through 30 s without quorum', async () => {
    const pushesBefore = observer.responses.length;
    const caller = callContinuously();
    const leader = await ensemble.leader();
    const others = [0, 1, 2].filter((i) => i !== leader);
    // Two of three members gone: the survivor stops serving clients.
    await Promise.all(others.map((i) => ensemble.kill(i)));
    await eventually(async () => expect((await readyz()).catalogStaleSeconds).toBeGreaterThan(0), 20_000);
    const samples: Array<{ readyz: Readyz; metric: number }> = [];
    const lostAt = Date.now();
    while (Date.now() - lostAt < QUORUM_LOSS_MS) {
      samples.push({ readyz: await readyz(), metric: await staleMetric() });
      await new Promise((r) => setTimeout(r, 1000));
    }
    const atEnd = samples[samples.length - 1]!;
    const restoredAt = Date.now();
    await Promise.all(others.map((i) => ensemble.restart(i)));
    await eventually(async () => expect((await readyz()).catalogStaleSeconds).toBe(0), 30_000);
    const recoveredMs = Date.now() - restoredAt;
    // Changes flow again.
    await deregister(backends[2]!);
    await eventually(() => expect(endpointCounts(observer.responses.slice(pushesBefore), 'echo')).toEqual([2]), 20_000);
    const results = await caller.stop();

    expectNoFailedCalls(results);
    for (const s of samples) expect(s.readyz).toMatchObject({ status: 200, ready: true });
    // Rising: each sample at least the one before, the last well above the first.
    const stale = samples.map((s) => s.readyz.catalogStaleSeconds);
    for (let i = 1; i < stale.length; i++) expect(stale[i]!).toBeGreaterThanOrEqual(stale[i - 1]!);
    expect(stale[stale.length - 1]!).toBeGreaterThan(stale[0]! + QUORUM_LOSS_MS / 2000);
    expect(atEnd.metric).toBeGreaterThanOrEqual(atEnd.readyz.catalogStaleSeconds - 2);
    expect(await staleMetric()).toBe(0);
    // Nothing was pushed while ZooKeeper was out, and nothing shrank.
    expect(shrunkenClusterPushes(observer.responses)).toEqual([]);
    process.stdout.write(
      `quorum loss: ${results.length} calls, 0 failed; stale ${atEnd.readyz.catalogStaleSeconds} s (metric ${atEnd.metric}) at the end of ${QUORUM_LOSS_MS / 1000} s; stale back to 0 ${recoveredMs} ms after the members were restarted (incl. their start)\n`,
    );
  }, 180_000);

  it('after a session expiry reads the tree again, pushes only what changed, and every change made meanwhile arrives', async () => {
    const sessionsBefore = (await readyz()).zookeeper.sessionsOpened;
    const caller = callContinuously();
    // zk-xds frozen (a long GC pause, a stalled VM) past its session timeout: ZooKeeper expires the
    // session; the tree changes while nothing of zk-xds can see it.
    zkxds.kill('SIGSTOP');
    const frozenAt = Date.now();
    await new Promise((r) => setTimeout(r, SESSION_TIMEOUT_MS * 2));
    await deregister(backends[0]!);
    await register(backends[3]!);
    const pushesBefore = observer.responses.length;
    zkxds.kill('SIGCONT');
    const resumedAt = Date.now();
    const reread = await zkxds.waitForLine((l) => l.msg === 'full read of ZooKeeper done' && logTime(l) >= resumedAt, 60_000);
    await client.waitFor((seen) => seen.has('b4') && !seen.has('b1'), { timeoutMs: 30_000, probeCalls: 30 });
    const results = await caller.stop();

    expectNoFailedCalls(results);
    expect(zkxds.lines.some((l) => l.msg.startsWith('ZooKeeper session expired') && logTime(l) >= resumedAt)).toBe(true);
    expect((await readyz()).zookeeper.sessionsOpened).toBe(sessionsBefore + 1);
    // Only the changed service was pushed: its endpoints, no cluster, no other service.
    const pushes = observer.responses.slice(pushesBefore);
    expect(pushes.map((r) => [r.typeUrl, r.resources.map((x) => x.name)])).toEqual([[TYPE_URL.endpoint, ['echo']]]);
    expect(endpointCounts(pushes, 'echo')).toEqual([2]);
    await eventually(async () => expect(await readyz()).toMatchObject({ status: 200, catalogStaleSeconds: 0 }));
    process.stdout.write(
      `session expiry: frozen ${resumedAt - frozenAt} ms; full re-read done ${logTime(reread) - resumedAt} ms after resuming (${reread.seconds} s read); ${results.length} calls, 0 failed\n`,
    );
  }, 120_000);
});
