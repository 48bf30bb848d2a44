// Memory soak (issue 11, not in CI): `zk-xds serve` in its own process under registry churn, with
// simulated proxies connected and a ZooKeeper session expiry at a fixed interval; prints RSS and
// heap over time and their slope (MB/min). Flat memory means a slope near 0 once warmed up.
//
//   make soak                                   # an hour: 50 writes/s, 1,000 proxies, expiry every 5 min
//   node dist/bench/soak.js --duration-min 10 --expire-every-min 2 [--writes-per-s 50] [--proxies 1000]
//     [--services 200] [--instances 10] [--sample-every-s 15] [--warmup-min 1] [--zk host:port]
//
// Without --zk it starts its own ZooKeeper (test/support/zookeeper-server.ts). zk-xds reaches
// ZooKeeper through a TCP forwarder: an expiry is the forwarder refusing connections for longer
// than the session timeout (4 s), so ZooKeeper expires the session and zk-xds opens a new one and
// reads everything again, while its xDS streams stay up. Writes are data changes on random
// instances, every tenth one an instance leaving and coming back.
//
// Output: one JSON line per sample on stdout ({tMin, rssMB, heapUsedMB, expiries, writes, ...}), then
// a summary line with the slopes (least squares over the samples after the warm-up).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLoad } from './loadgen/run.js';
import { ZooKeeperServer } from '../test/support/zookeeper-server.js';
import { TcpForwarder } from '../test/support/tcp-forwarder.js';
import { ZkTestClient } from '../test/support/zk-test-client.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const SESSION_TIMEOUT_MS = 4000;

const { values: a } = parseArgs({
  options: {
    'duration-min': { type: 'string', default: '60' },
    'writes-per-s': { type: 'string', default: '50' },
    proxies: { type: 'string', default: '1000' },
    'expire-every-min': { type: 'string', default: '5' },
    services: { type: 'string', default: '200' },
    instances: { type: 'string', default: '10' },
    'sample-every-s': { type: 'string', default: '15' },
    'warmup-min': { type: 'string', default: '1' },
    zk: { type: 'string' },
  },
  strict: true,
});
const num = (flag: string, v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} ${v}: expected a non-negative number`);
  return n;
};
const durationMs = num('duration-min', a['duration-min']!) * 60_000;
const writesPerS = num('writes-per-s', a['writes-per-s']!);
const proxies = num('proxies', a.proxies!);
const expireEveryMs = num('expire-every-min', a['expire-every-min']!) * 60_000;
const services = num('services', a.services!);
const instances = num('instances', a.instances!);
const sampleEveryMs = num('sample-every-s', a['sample-every-s']!) * 1000;
const warmupMs = num('warmup-min', a['warmup-min']!) * 60_000;

interface Sample {
  readonly tMin: number;
  readonly rssMB: number;
  readonly heapUsedMB: number;
  readonly expiries: number;
  /** Session expirations zk-xds itself counted (zkxds_zookeeper_session_expirations_total). */
  readonly sessionsExpired: number;
  readonly writes: number;
  readonly watchEvents: number;
  readonly syncedProxies: number;
}

const instancePath = (s: number, i: number) => `/services/svc-${String(s).padStart(4, '0')}/i-${i}`;
const payload = (s: number, i: number, n: number) =>
  JSON.stringify({ address: `10.${s % 250}.${Math.floor(i / 250)}.${(i % 250) + 1}`, port: 8080, metadata: { write: String(n) } });

/** Starts `zk-xds serve`; resolves with its ports once it logged them. Only that line is kept. */
function startServe(zk: string): Promise<{ child: ChildProcess; xdsPort: number; adminPort: number }> {
  const args = [
    'serve',
    '--zk',
    zk,
    '--zk-root',
    '/services',
    '--bind-address',
    '127.0.0.1',
    '--xds-port',
    '0',
    '--admin-port',
    '0',
    '--zk-session-timeout-ms',
    String(SESSION_TIMEOUT_MS),
    '--log-level',
    'info',
  ];
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    let found = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      if (found) return; // the rest of the log is dropped: the soak measures zk-xds, not itself
      buf += chunk.toString();
      for (const line of buf.split('\n')) {
        if (!line.includes('zk-xds listening')) continue;
        const l = JSON.parse(line) as { xdsPort: number; adminPort: number };
        found = true;
        buf = '';
        resolve({ child, xdsPort: l.xdsPort, adminPort: l.adminPort });
        return;
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
    child.once('exit', (code) => reject(new Error(`zk-xds exited (${code}) before listening`)));
  });
}

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function metric(adminPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function slope(points: readonly [number, number][]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

async function main(): Promise<void> {
  const own = a.zk ? null : await ZooKeeperServer.start();
  const zkAddress = a.zk ?? own!.connectString;
  const zkPort = Number(zkAddress.slice(zkAddress.lastIndexOf(':') + 1));
  const forwarder = await TcpForwarder.start(zkPort);
  const writer = await ZkTestClient.connect(zkAddress);
  process.stderr.write(`soak: writing ${services} services x ${instances} instances\n`);
  for (let s = 0; s < services; s++) {
    await writer.mkdirp(instancePath(s, 0).replace(/\/i-0$/, ''));
    await Promise.all(Array.from({ length: instances }, (_, i) => writer.create(instancePath(s, i), payload(s, i, 0)).catch(() => undefined)));
  }
  const serve = await startServe(forwarder.address);
  const pid = serve.child.pid!;
  process.stderr.write(`soak: zk-xds pid ${pid}, xDS :${serve.xdsPort}, admin :${serve.adminPort}; ${proxies} proxies connecting\n`);
  const load =
    proxies > 0 ? startLoad({ server: `127.0.0.1:${serve.xdsPort}`, proxies, protocol: 'sotw', style: 'envoy', durationS: durationMs / 1000 + 60 }) : null;

  const started = Date.now();
  let writes = 0;
  let expiries = 0;
  let stopping = false;
  const writeLoop = (async () => {
    if (writesPerS <= 0) return;
    const every = 1000 / writesPerS;
    let next = Date.now();
    while (!stopping) {
      const k = writes++;
      const s = Math.floor(Math.random() * services);
      const i = Math.floor(Math.random() * instances);
      try {
        if (k % 10 === 9) {
          await writer.remove(instancePath(s, i));
          await writer.create(instancePath(s, i), payload(s, i, k));
        } else {
          await writer.set(instancePath(s, i), payload(s, i, k));
        }
      } catch (err) {
        process.stderr.write(`soak: write failed: ${(err as Error).message}\n`);
      }
      next += every;
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait);
    }
  })();
  const expiryLoop = (async () => {
    if (expireEveryMs <= 0) return;
    const dead = await deadPort();
    for (let k = 1; !stopping; k++) {
      const at = started + k * expireEveryMs;
      while (!stopping && Date.now() < at) await sleep(Math.min(1000, at - Date.now()));
      if (stopping) return;
      // Cut zk-xds off from ZooKeeper for longer than its session timeout: ZooKeeper expires it.
      forwarder.retarget(dead);
      await sleep(SESSION_TIMEOUT_MS * 2 + 2000);
      forwarder.retarget(zkPort);
      expiries++;
      process.stderr.write(`soak: session expiry ${expiries} done\n`);
    }
  })();

  const samples: Sample[] = [];
  while (Date.now() - started < durationMs) {
    await sleep(Math.min(sampleEveryMs, durationMs - (Date.now() - started)));
    const sample: Sample = {
      tMin: Number(((Date.now() - started) / 60_000).toFixed(2)),
      rssMB: Number(rssMB(pid).toFixed(1)),
      heapUsedMB: Number(((await metric(serve.adminPort, 'zkxds_nodejs_heap_size_used_bytes')) / 2 ** 20).toFixed(1)),
      expiries,
      sessionsExpired: await metric(serve.adminPort, 'zkxds_zookeeper_session_expirations_total'),
      writes,
      watchEvents: await metric(serve.adminPort, 'zkxds_zookeeper_watch_events_total'),
      syncedProxies: load?.syncedCount() ?? 0,
    };
    samples.push(sample);
    process.stdout.write(`${JSON.stringify(sample)}\n`);
  }
  stopping = true;
  await Promise.all([writeLoop, expiryLoop]);
  const after = samples.filter((s) => s.tMin * 60_000 >= warmupMs);
  const summary = {
    summary: true,
    durationMin: Number(((Date.now() - started) / 60_000).toFixed(1)),
    writesPerS,
    proxies,
    expireEveryMin: expireEveryMs / 60_000,
    expiries,
    writes,
    samplesAfterWarmup: after.length,
    rssSlopeMBPerMin: Number(slope(after.map((s) => [s.tMin, s.rssMB])).toFixed(3)),
    heapSlopeMBPerMin: Number(slope(after.map((s) => [s.tMin, s.heapUsedMB])).toFixed(3)),
    rssMB: { first: after[0]?.rssMB, last: after.at(-1)?.rssMB, max: Math.max(...after.map((s) => s.rssMB)) },
    heapUsedMB: { first: after[0]?.heapUsedMB, last: after.at(-1)?.heapUsedMB, max: Math.max(...after.map((s) => s.heapUsedMB)) },
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  load?.stop();
  serve.child.kill('SIGTERM');
  await writer.close();
  await forwarder.close();
  await own?.destroy();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
