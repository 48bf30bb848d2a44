// `zk-xds serve --workers N` as real processes on a real ZooKeeper: the main reads ZooKeeper once and
// hands accepted xDS connections round-robin to itself and its serving workers. Proxies on every
// process get the same resources and every change; /metrics and /debug/proxies cover all processes;
// readiness waits for the workers; a worker killed under a calling gRPC client costs no call and
// comes back.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TYPE_URL } from '../../src/xds/resource-types.js';
import type { ProxyStatus } from '../../src/admin/proxy-status.js';
import { ZooKeeperServer, freePorts } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.js';
import { XdsClientProcess, type CallResult } from '../support/xds-client-process.js';
import { AdsClient } from '../support/ads-client.js';
import { CliProcess } from '../support/cli-process.js';
import { TcpForwarder } from '../support/tcp-forwarder.js';
import { eventually } from '../support/eventually.js';
import { makeCa, makeLeaf } from '../support/test-certs.js';

interface Serving {
  readonly cli: CliProcess;
  readonly xds: number;
  readonly admin: number;
}

type Row = ProxyStatus & { process: string; scope?: { services: string[] }; streams: Array<ProxyStatus['streams'][number] & { process: string }> };
interface ProxiesPage {
  proxies: Row[];
  processes: Array<{ process: string; pid?: number; answered: boolean; error?: string }>;
}
interface ReadyPage {
  ready: boolean;
  zookeeper: { initialSyncDone: boolean };
  xds: { holding: boolean };
  workers: Array<{ process: string; pid: number | null; state: string; restarts: number }>;
}

let zk: ZooKeeperServer;
let app: ZkTestClient;
let backends: EchoBackend[];
let main: Serving;
const running: CliProcess[] = [];
const clients: AdsClient[] = [];
const own = { 'grpc.use_local_subchannel_pool': 1 };

const znode = (b: EchoBackend) => `/services/echo/${b.host}:${b.port}`;
const register = (b: EchoBackend) => app.create(znode(b), JSON.stringify({ id: b.id, address: b.host, port: b.port }), { ephemeral: true });

async function serve(workers: number, zkAddress: string, more: string[] = [], env: Record<string, string> = {}): Promise<Serving> {
  const [xds, admin] = await freePorts(2);
  const cli = CliProcess.start(
    [
      'serve',
      '--zk',
      zkAddress,
      '--xds-port',
      String(xds),
      '--admin-port',
      String(admin),
      '--bind-address',
      '127.0.0.1',
      '--workers',
      String(workers),
      ...more,
    ],
    env,
  );
  running.push(cli);
  await cli.waitForLine((l) => l.msg.startsWith('zk-xds listening'));
  return { cli, xds: xds!, admin: admin! };
}

async function json<T>(s: Serving, page: string): Promise<T> {
  return (await (await fetch(`http://127.0.0.1:${s.admin}${page}`)).json()) as T;
}

async function metric(s: Serving, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${s.admin}/metrics`)).text();
  return [...text.matchAll(new RegExp(pattern.source, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
}

async function ready(s: Serving): Promise<void> {
  await eventually(async () => expect((await fetch(`http://127.0.0.1:${s.admin}/readyz`)).status).toBe(200), 20_000);
}

const processOf = async (s: Serving, node: string) => (await json<ProxiesPage>(s, '/debug/proxies')).proxies.find((p) => p.node === node)?.process;

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
  app = await ZkTestClient.connect(zk.connectString);
  backends = await Promise.all(['b1', 'b2', 'b3', 'b4'].map((id) => startEchoBackend(id)));
  await app.mkdirp('/services/echo');
  for (const b of backends.slice(0, 2)) await register(b);
  main = await serve(3, zk.connectString);
  await ready(main);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of running) p.kill();
  await Promise.all(running.map((p) => p.exited));
  await app?.close();
  await Promise.all((backends ?? []).map((b) => b.stop()));
  await zk?.destroy();
});

describe('serve --workers 3', () => {
  it('serves streams from every process with the same versions, and a ZooKeeper change reaches proxies on each', async () => {
    const raw = Array.from({ length: 6 }, () => new AdsClient(`127.0.0.1:${main.xds}`, 'ads', undefined, own));
    clients.push(...raw);
    const first = await Promise.all(
      raw.map(async (c, k) => {
        c.send({ typeUrl: TYPE_URL.endpoint, names: ['echo'], node: { id: `raw-${k}` } });
        const r = await c.next(TYPE_URL.endpoint, 15_000);
        c.ack(r, ['echo']);
        return r;
      }),
    );
    // Same catalog, same content-hashed versions, whichever process answered.
    expect(new Set(first.map((r) => r.versionInfo)).size).toBe(1);
    const page = await json<ProxiesPage>(main, '/debug/proxies');
    const rawRows = page.proxies.filter((p) => p.node.startsWith('raw-'));
    expect(rawRows).toHaveLength(6);
    expect(new Set(rawRows.map((p) => p.process)).size).toBeGreaterThan(1);
    for (const p of rawRows) for (const s of p.streams) expect(s.process).toBe(p.process);
    // What a proxy on a worker was sent, through the main's admin port.
    const onWorker = rawRows.find((p) => p.process !== 'main')!;
    const dump = await json<{ process: string; node: string; streams: unknown[] }>(main, `/debug/config_dump?node=${onWorker.node}&type=EDS`);
    expect(dump).toMatchObject({ process: onWorker.process, node: onWorker.node });
    expect(dump.streams).toHaveLength(1);
    expect(page.processes.map((p) => [p.process, p.answered])).toEqual([
      ['main', true],
      ['worker-1', true],
      ['worker-2', true],
    ]);

    // One write in ZooKeeper, read once by the main, reaches the proxies of every process.
    await register(backends[2]!);
    const updates = await Promise.all(raw.map((c) => c.next(TYPE_URL.endpoint, 15_000)));
    for (const u of updates) expect(JSON.stringify(u.resources[0]!.object)).toContain(String(backends[2]!.port));
    expect(new Set(updates.map((r) => r.versionInfo)).size).toBe(1);
    expect(updates[0]!.versionInfo).not.toBe(first[0]!.versionInfo);
  });

  it('sums streams over the processes in /metrics and counts the catalog once', async () => {
    await eventually(async () => {
      const page = await json<ProxiesPage>(main, '/debug/proxies');
      const streams = page.proxies.reduce((n, p) => n + p.streams.length, 0);
      const byProcess = new Set(page.proxies.map((p) => p.process));
      expect(byProcess.size).toBeGreaterThan(1);
      expect(await metric(main, /^zkxds_xds_connected_streams\{api="ads"\} (\d+)$/)).toBe(streams);
    });
    expect(await metric(main, /^zkxds_services (\d+)$/)).toBe(1);
    expect(await metric(main, /^zkxds_xds_resources\{type="CDS",view="proxyless"\} (\d+)$/)).toBe(1);
    expect(await metric(main, /^zkxds_serving_workers\{state="ready"\} (\d+)$/)).toBe(2);
  });

  it('zk-xds status lists the proxies of every process with the process serving each', async () => {
    const { code, stdout } = await CliProcess.run(['status', '--admin', `http://127.0.0.1:${main.admin}`]);
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^PROCESS\s+NODE\s+CLUSTER/);
    const served = new Set(lines.filter((l) => / raw-\d /.test(l)).map((l) => l.split(/\s+/)[0]));
    expect(served.size).toBeGreaterThan(1);
  });

  it('scopes sidecars on workers with the scope documents the main reads, and follows their changes', async () => {
    await app.mkdirp('/services/ledger');
    await app.create('/services/ledger/10.7.0.1:9000', JSON.stringify({ address: '10.7.0.1', port: 9000 }));
    await app.mkdirp('/zk-xds/scope');
    await app.create('/zk-xds/scope/shop', JSON.stringify({ services: ['echo'] }));
    const sidecars = Array.from({ length: 4 }, () => new AdsClient(`127.0.0.1:${main.xds}`, 'ads', undefined, own));
    clients.push(...sidecars);
    sidecars.forEach((c, k) => {
      c.send({ typeUrl: TYPE_URL.cluster, node: { id: `shop-${k}`, cluster: 'shop', userAgent: 'envoy' } });
    });
    // Envoy-like: ACK whatever comes; the latest response is what the sidecar holds.
    const acked = new WeakSet<object>();
    const latestClusters = (c: AdsClient) => {
      const cds = c.responses.filter((r) => r.typeUrl === TYPE_URL.cluster);
      for (const r of cds) {
        if (acked.has(r)) continue;
        acked.add(r);
        c.ack(r);
      }
      return cds
        .at(-1)
        ?.resources.map((r) => r.name)
        .sort();
    };
    await eventually(() => {
      for (const c of sidecars) expect(latestClusters(c)).toEqual(['echo']);
    }, 15_000);
    const page = await json<ProxiesPage>(main, '/debug/proxies');
    const shop = page.proxies.filter((p) => p.node.startsWith('shop-'));
    expect(shop.some((p) => p.process !== 'main')).toBe(true);
    expect(shop.map((p) => p.scope)).toEqual(shop.map(() => expect.objectContaining({ services: ['echo'] })));

    await app.set('/zk-xds/scope/shop', JSON.stringify({ services: ['ledger'] }));
    await eventually(() => {
      for (const c of sidecars) expect(latestClusters(c)).toEqual(['ledger']);
    }, 15_000);
  });

  it('loses no call of a gRPC client whose worker is killed; the worker comes back and serves again', async () => {
    // A real grpc-js-xds client whose xDS stream a worker serves (connections go round-robin).
    let client: XdsClientProcess | undefined;
    let node = '';
    let worker: string | undefined;
    for (let k = 0; k < 6 && !worker; k++) {
      node = `grpc-${k}`;
      client = await XdsClientProcess.start({ xdsServer: `127.0.0.1:${main.xds}`, nodeId: node, target: 'echo' });
      await client.waitFor((seen) => seen.has('b1') && seen.has('b2') && seen.has('b3'), { timeoutMs: 15_000, probeCalls: 30 });
      await eventually(async () => expect(await processOf(main, node)).toBeDefined());
      const p = await processOf(main, node);
      if (p !== 'main') worker = p;
      else await client.stop();
    }
    expect(worker).toMatch(/^worker-/);
    const pid = (await json<ProxiesPage>(main, '/debug/proxies')).processes.find((p) => p.process === worker)!.pid!;
    const restartsBefore = await metric(main, new RegExp(`^zkxds_serving_worker_restarts_total\\{worker="${worker}"\\} (\\d+)$`));

    const results: CallResult[] = [];
    let calling = true;
    const caller = (async () => {
      while (calling) results.push(...(await client!.call(5, { deadlineMs: 2000 })));
    })();
    try {
      await eventually(() => expect(results.length).toBeGreaterThan(20));
      process.kill(pid, 'SIGKILL');
      // Restarted (counted), and the client's stream served again, by whichever process it reached.
      await eventually(
        async () => expect(await metric(main, new RegExp(`^zkxds_serving_worker_restarts_total\\{worker="${worker}"\\} (\\d+)$`))).toBe(restartsBefore + 1),
        20_000,
      );
      await eventually(async () => {
        const page = await json<ProxiesPage>(main, '/debug/proxies');
        expect(page.processes.find((p) => p.process === worker)).toMatchObject({ answered: true });
        expect(page.processes.find((p) => p.process === worker)!.pid).not.toBe(pid);
        const row = page.proxies.find((p) => p.node === node);
        expect(row).toBeDefined();
        for (const t of ['LDS', 'RDS', 'CDS', 'EDS']) expect(row!.types[t]).toMatchObject({ state: 'SYNCED' });
      }, 20_000);
      await ready(main);
      // And changes reach it on its new stream.
      await register(backends[3]!);
      await client!.waitFor((seen) => seen.has('b4'), { timeoutMs: 15_000, probeCalls: 30 });
    } finally {
      calling = false;
      await caller;
      await client!.stop();
    }
    expect(results.length).toBeGreaterThan(20);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(main.cli.lines.some((l) => l.msg === 'serving worker exited; starting it again' && l.worker === worker && l.signal === 'SIGKILL')).toBe(true);
  });
});

describe('serve --workers 2', () => {
  it('is ready only once every worker opened its warm gate', async () => {
    const [dead] = await freePorts(1);
    const forwarder = await TcpForwarder.start(dead!);
    try {
      const s = await serve(2, forwarder.address, ['--zk-session-timeout-ms', '4000']);
      // The worker is up and takes connections; nothing is warm yet (ZooKeeper unreachable).
      let pid = 0;
      await eventually(async () => {
        const r = await json<ReadyPage>(s, '/readyz');
        expect(r.workers[0]).toMatchObject({ process: 'worker-1', state: 'ready' });
        pid = r.workers[0]!.pid!;
      });
      // A worker that cannot take the warm signal yet (stopped) keeps the replica not ready after
      // the main's own first read is done.
      process.kill(pid, 'SIGSTOP');
      try {
        forwarder.retarget(zk.port);
        await eventually(async () => {
          const r = await json<ReadyPage>(s, '/readyz');
          expect(r.zookeeper.initialSyncDone).toBe(true);
          expect(r.xds.holding).toBe(false);
        }, 20_000);
        const res = await fetch(`http://127.0.0.1:${s.admin}/readyz`);
        expect(res.status).toBe(503);
        expect(((await res.json()) as ReadyPage).workers[0]!.state).toBe('ready');
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await ready(s);
      expect((await json<ReadyPage>(s, '/readyz')).workers[0]!.state).toBe('warm');
      s.cli.kill('SIGTERM');
      expect((await s.cli.exited).code).toBe(0);
      // No orphan: the worker is gone with the main.
      await eventually(() => expect(alive(pid)).toBe(false));
    } finally {
      await forwarder.close();
    }
  });

  it('hands no connection to a stopped worker, and kills and restarts one silent for --worker-hung-timeout-ms', async () => {
    const s = await serve(2, zk.connectString, ['--worker-hung-timeout-ms', '8000']);
    await ready(s);
    const pid = (await json<ReadyPage>(s, '/readyz')).workers[0]!.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      // Past the 3 s of silence after which a worker gets no new connections: every new proxy is
      // answered (by the main; the stopped worker would answer none of them).
      await new Promise((r) => setTimeout(r, 3500));
      const late = Array.from({ length: 4 }, () => new AdsClient(`127.0.0.1:${s.xds}`, 'ads', undefined, own));
      clients.push(...late);
      await Promise.all(
        late.map(async (c, k) => {
          c.send({ typeUrl: TYPE_URL.cluster, node: { id: `late-${k}` } });
          expect((await c.next(TYPE_URL.cluster, 4000)).resources.map((r) => r.name)).toContain('echo');
        }),
      );
      const page = await json<ProxiesPage>(s, '/debug/proxies');
      expect(page.proxies.filter((p) => p.node.startsWith('late-')).map((p) => p.process)).toEqual(['main', 'main', 'main', 'main']);
      // Silent past the timeout: killed (counted) and started again.
      await eventually(async () => expect(await metric(s, /^zkxds_serving_worker_hangs_total\{worker="worker-1"\} (\d+)$/)).toBe(1), 20_000);
      await eventually(() => expect(alive(pid)).toBe(false));
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGCONT');
    }
    await eventually(async () => expect((await json<ReadyPage>(s, '/readyz')).workers[0]).toMatchObject({ state: 'warm', restarts: 1 }), 20_000);
    expect((await json<ReadyPage>(s, '/readyz')).workers[0]!.pid).not.toBe(pid);
    expect(
      s.cli.lines.some((l) => l.msg === 'serving worker has not answered for --worker-hung-timeout-ms: killing it to start it again' && l.pid === pid),
    ).toBe(true);
    s.cli.kill('SIGTERM');
    expect((await s.cli.exited).code).toBe(0);
  });

  it('serves mutual TLS through the hand-off: the handshake and the identity check happen in the worker', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'serving-workers-tls-'));
    try {
      makeCa(dir, 'ca');
      makeLeaf(dir, 'server', 'ca');
      makeLeaf(dir, 'echo', 'ca', { san: 'URI:spiffe://cluster.local/ns/shop/sa/echo' });
      const f = (name: string) => path.join(dir, name);
      const s = await serve(2, zk.connectString, [], {
        ZKXDS_XDS_TLS_CERT_FILE: f('server.pem'),
        ZKXDS_XDS_TLS_KEY_FILE: f('server.key'),
        ZKXDS_XDS_TLS_CLIENT_CA_FILE: f('ca.pem'),
      });
      await ready(s);
      const creds = () => grpc.credentials.createSsl(readFileSync(f('ca.pem')), readFileSync(f('echo.key')), readFileSync(f('echo.pem')));
      const tls = Array.from({ length: 4 }, () => new AdsClient(`127.0.0.1:${s.xds}`, 'ads', creds(), own));
      clients.push(...tls);
      await Promise.all(
        tls.map(async (c, k) => {
          c.send({ typeUrl: TYPE_URL.cluster, node: { id: `tls-${k}`, cluster: 'echo' } });
          expect((await c.next(TYPE_URL.cluster, 15_000)).resources.map((r) => r.name)).toContain('echo');
        }),
      );
      // A node claiming a cluster its certificate does not name is refused, in the worker too.
      const liars = Array.from({ length: 2 }, () => new AdsClient(`127.0.0.1:${s.xds}`, 'ads', creds(), own));
      clients.push(...liars);
      for (const c of liars) c.send({ typeUrl: TYPE_URL.cluster, node: { id: 'liar', cluster: 'payments' } });
      await eventually(() => for2(liars, (c) => expect(c.status?.code).toBe(grpc.status.PERMISSION_DENIED)), 15_000);
      const page = await json<ProxiesPage>(s, '/debug/proxies');
      expect(new Set(page.proxies.filter((p) => p.node.startsWith('tls-')).map((p) => p.process))).toEqual(new Set(['main', 'worker-1']));

      // The main dies without a word: its worker notices the closed channel and exits too.
      const worker = (await json<ReadyPage>(s, '/readyz')).workers[0]!.pid!;
      expect(alive(worker)).toBe(true);
      s.cli.kill('SIGKILL');
      await s.cli.exited;
      await eventually(() => expect(alive(worker)).toBe(false), 10_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function for2<T>(items: readonly T[], check: (t: T) => void): void {
  for (const t of items) check(t);
}

/** Running (an exited process left unreaped, a zombie, is not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
