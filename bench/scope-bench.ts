// `make bench`, sidecar scopes: the same load unscoped and scoped. zk-xds (the real CLI, its own
// process) over a real ZooKeeper with S services x I instances; N Envoy-style proxies from the load
// generator (its own process). Unscoped, every proxy gets every service. Scoped, proxy i has node
// cluster `app-i` and a scope document `/zk-xds/scope/app-i` naming K services. For each: time until
// all are synced, RSS per connected proxy, and churn at R writes/s: write -> receipt latency at the
// proxies that should get the change, receipts at proxies that should not, and zk-xds CPU.
//   node dist/bench/scope-bench.js [--services 1000] [--instances 10] [--proxies 2000] [--scope 10]
//     [--churn-rate 100] [--churn-s 10] [--tail-s 30] [--protocol sotw|delta] [--only scoped|unscoped]
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../src/xds/protos.js';
import { ZooKeeperServer } from '../test/support/zookeeper-server.js';
import { ZkTestClient } from '../test/support/zk-test-client.js';
import type { LoadReport } from './loadgen/run.js';
import { startZkXds, stopProcess } from './bench-support.js';

export interface ScopeBenchOptions {
  readonly services: number;
  readonly instances: number;
  readonly proxies: number;
  /** Services in each proxy's scope. */
  readonly scope: number;
  readonly churnRate: number;
  readonly churnS: number;
  /** How long the proxies keep listening after the last write (default 30 s): a server behind catches up. */
  readonly tailS?: number;
  readonly protocol: 'sotw' | 'delta';
  readonly quiet?: boolean;
  /** Run only one mode (default both). */
  readonly only?: 'unscoped' | 'scoped';
}

export interface ModeResult {
  readonly mode: 'unscoped' | 'scoped';
  readonly allSyncedMs: number | null;
  readonly syncErrors: number;
  /** Resources each proxy received in its initial sync, on average. */
  readonly resourcesPerProxy: number;
  /** zk-xds CPU seconds of the initial sync of all proxies. */
  readonly syncCpuS: number;
  readonly rssPerProxyKb: number;
  readonly serverRssMb: number;
  readonly churnReceipts: number;
  /** Expected receipts that never came. */
  readonly missing: number;
  /** EDS receipts of a changed service at a proxy whose scope does not hold it. */
  readonly unexpected: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** zk-xds CPU seconds from the first write until tailS after the last, less the idle rate. */
  readonly churnCpuS: number;
  /** zk-xds CPU seconds per second with the proxies connected and nothing changing. */
  readonly idleCpuPerS: number;
  readonly churnWrites: number;
}

const RESULTS = path.join(PROJECT_ROOT, 'bench/results');
const svc = (s: number) => `svc-${String(s).padStart(5, '0')}`;
const ip = (s: number, i: number) => `10.${(s >> 8) & 255}.${s & 255}.${i + 1}`;
const epochNow = () => performance.timeOrigin + performance.now();

/** Proxy p's scope: K consecutive services from p*K (each service is in N*K/S scopes). */
function scopeOf(p: number, o: ScopeBenchOptions): number[] {
  return Array.from({ length: o.scope }, (_, k) => (p * o.scope + k) % o.services);
}

function usage(pid: number): { cpuS: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { cpuS: (Number(fields[11]) + Number(fields[12])) / 100, rssMb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024 };
}

async function chunked<T>(items: T[], size: number, f: (t: T) => Promise<unknown>): Promise<void> {
  for (let k = 0; k < items.length; k += size) await Promise.all(items.slice(k, k + size).map(f));
}

async function fill(writer: ZkTestClient, o: ScopeBenchOptions): Promise<void> {
  await writer.mkdirp('/services');
  const services = Array.from({ length: o.services }, (_, s) => s);
  await chunked(services, 500, (s) => writer.create(`/services/${svc(s)}`, ''));
  const all = services.flatMap((s) => Array.from({ length: o.instances }, (_, i) => [s, i] as const));
  await chunked(all, 2000, ([s, i]) => writer.create(`/services/${svc(s)}/${ip(s, i)}:8080`, JSON.stringify({ address: ip(s, i), port: 8080 })));
  await writer.mkdirp('/zk-xds/scope');
  const proxies = Array.from({ length: o.proxies }, (_, p) => p);
  await chunked(proxies, 1000, (p) => writer.create(`/zk-xds/scope/app-${p}`, JSON.stringify({ services: scopeOf(p, o).map(svc) })));
}

function runLoadgen(xds: string, o: ScopeBenchOptions, scoped: boolean, extra: string[]): Promise<LoadReport> {
  const out = path.join(RESULTS, `scope-loadgen-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  const args = [
    '--server',
    xds,
    '--proxies',
    String(o.proxies),
    '--protocol',
    o.protocol,
    '--style',
    'envoy',
    '--out',
    out,
    '--quiet',
    '--node-cluster',
    scoped ? 'app-{i}' : 'loadgen',
  ];
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/bench/loadgen/main.js'), ...args, ...extra], { stdio: ['ignore', 'ignore', 'inherit'] });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(readFileSync(out, 'utf8')) as LoadReport) : reject(new Error(`load generator exited ${code}`)),
    ),
  );
}

function quantile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

async function runMode(zkConnect: string, writer: ZkTestClient, o: ScopeBenchOptions, scoped: boolean): Promise<ModeResult> {
  const log = (m: string) => o.quiet || process.stderr.write(`${scoped ? 'scoped' : 'unscoped'}: ${m}\n`);
  const { child, xdsPort } = await startZkXds(zkConnect, '/services');
  const pid = child.pid!;
  const xds = `127.0.0.1:${xdsPort}`;
  try {
    const before = usage(pid);
    const cold = await runLoadgen(xds, o, scoped, []);
    const synced = usage(pid);
    log(`all synced in ${cold.sync.allSyncedMs?.toFixed(0)} ms`);
    const receipts = path.join(RESULTS, `scope-eds-${process.pid}-${scoped ? 's' : 'u'}.ndjson`);
    const settleS = Math.ceil((cold.sync.allSyncedMs ?? 10000) / 1000) * 2 + 3;
    const tailS = o.tailS ?? 30;
    const live = runLoadgen(xds, o, scoped, ['--duration-s', String(settleS + o.churnS + tailS), '--record-eds', receipts]);
    await new Promise((r) => setTimeout(r, (settleS - 5) * 1000));
    const idleFrom = usage(pid);
    await new Promise((r) => setTimeout(r, 5000));
    const idle = usage(pid);
    // What the connected proxies cost with nothing changing (keepalives), taken out of the churn figure.
    const idleCpuPerS = (idle.cpuS - idleFrom.cpuS) / 5;
    const changes: Array<{ s: number; t: number }> = [];
    const start = epochNow();
    for (let k = 0; k < o.churnRate * o.churnS; k++) {
      const wait = start + (k * 1000) / o.churnRate - epochNow();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const s = Math.floor(Math.random() * o.services);
      const i = Math.floor(Math.random() * o.instances);
      changes.push({ s, t: epochNow() });
      void writer.set(`/services/${svc(s)}/${ip(s, i)}:8080`, JSON.stringify({ address: ip(s, i), port: 8080, weight: 2 + (k % 50) }));
    }
    await live;
    // The whole cost of delivering the churn: until the proxies stop listening, tailS after the last write.
    const churnEnd = usage(pid);
    // Receipts of each changed service, per proxy, after the write.
    const byService = new Map<string, Array<{ p: number; t: number }>>();
    for (const line of readFileSync(receipts, 'utf8').split('\n')) {
      if (!line) continue;
      const r = JSON.parse(line) as { p: number; t: number; names: string[] };
      if (r.t < start) continue;
      for (const n of r.names) {
        if (!byService.has(n)) byService.set(n, []);
        byService.get(n)!.push({ p: r.p, t: r.t });
      }
    }
    const holders = new Map<number, number[]>();
    for (let p = 0; p < o.proxies; p++)
      for (const s of scoped ? scopeOf(p, o) : Array.from({ length: o.services }, (_, k) => k)) {
        if (!holders.has(s)) holders.set(s, []);
        holders.get(s)!.push(p);
      }
    const latencies: number[] = [];
    let missing = 0;
    let unexpected = 0;
    for (const c of changes) {
      const expected = new Set(holders.get(c.s) ?? []);
      const firstAfter = new Map<number, number>();
      for (const r of byService.get(svc(c.s)) ?? []) {
        if (r.t < c.t) continue;
        if (!expected.has(r.p)) unexpected++;
        else if (!(firstAfter.get(r.p)! <= r.t)) firstAfter.set(r.p, r.t);
      }
      for (const p of expected) {
        const t = firstAfter.get(p);
        if (t === undefined) missing++;
        else latencies.push(t - c.t);
      }
    }
    const result: ModeResult = {
      mode: scoped ? 'scoped' : 'unscoped',
      allSyncedMs: cold.sync.allSyncedMs ?? null,
      syncErrors: cold.errors.count,
      resourcesPerProxy: cold.resources.total / o.proxies,
      syncCpuS: synced.cpuS - before.cpuS,
      rssPerProxyKb: ((idle.rssMb - before.rssMb) * 1024) / o.proxies,
      serverRssMb: idle.rssMb,
      churnReceipts: latencies.length,
      missing,
      unexpected,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      churnCpuS: churnEnd.cpuS - idle.cpuS - idleCpuPerS * (o.churnS + tailS),
      idleCpuPerS,
      churnWrites: changes.length,
    };
    log(JSON.stringify(result));
    return result;
  } finally {
    await stopProcess(child);
  }
}

/** Both modes over one ZooKeeper; the scoped proxies' documents are written before either runs. */
export async function runScopeBench(o: ScopeBenchOptions): Promise<ModeResult[]> {
  mkdirSync(RESULTS, { recursive: true });
  process.env.ZK_TEST_JVM ??= 'server';
  const zk = await ZooKeeperServer.start({ tickTimeMs: 2000, maxSessionTimeoutMs: 60000 });
  const writer = await ZkTestClient.connect(zk.connectString, { sessionTimeoutMs: 40000 });
  try {
    await fill(writer, o);
    const out: ModeResult[] = [];
    if (o.only !== 'scoped') out.push(await runMode(zk.connectString, writer, o, false));
    if (o.only !== 'unscoped') out.push(await runMode(zk.connectString, writer, o, true));
    return out;
  } finally {
    await writer.close();
    await zk.destroy();
  }
}

export function formatTable(results: readonly ModeResult[], o: ScopeBenchOptions): string {
  const ms = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(0)} ms`);
  const header = [
    'mode',
    'all synced',
    'resources per proxy',
    'zk-xds CPU for the sync',
    'RSS per proxy',
    'zk-xds RSS',
    `churn ${o.churnRate}/s: write -> receipt p50 / p99`,
    'receipts (missing / out of scope)',
    `zk-xds CPU for the churn (${o.churnS} s + ${o.tailS ?? 30} s, over idle)`,
  ];
  return [
    `sidecar scopes — ${new Date().toISOString()}, node ${process.version}, ${o.services} services x ${o.instances} instances, ${o.proxies} envoy-style ${o.protocol} proxies, scoped: ${o.scope} services each`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...results.map(
      (r) =>
        `| ${[r.mode, `${ms(r.allSyncedMs)}${r.syncErrors ? ` (${r.syncErrors} errors)` : ''}`, r.resourcesPerProxy.toFixed(0), `${r.syncCpuS.toFixed(1)} s`, `${r.rssPerProxyKb.toFixed(1)} KB`, `${r.serverRssMb.toFixed(0)} MB`, `${ms(r.p50Ms)} / ${ms(r.p99Ms)}`, `${r.churnReceipts} (${r.missing} / ${r.unexpected})`, `${r.churnCpuS.toFixed(1)} s`].join(' | ')} |`,
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      services: { type: 'string', default: '1000' },
      instances: { type: 'string', default: '10' },
      proxies: { type: 'string', default: '2000' },
      scope: { type: 'string', default: '10' },
      'churn-rate': { type: 'string', default: '100' },
      'churn-s': { type: 'string', default: '10' },
      'tail-s': { type: 'string', default: '30' },
      protocol: { type: 'string', default: 'sotw' },
      only: { type: 'string' },
    },
  });
  const o: ScopeBenchOptions = {
    services: Number(a.services),
    instances: Number(a.instances),
    proxies: Number(a.proxies),
    scope: Number(a.scope),
    churnRate: Number(a['churn-rate']),
    churnS: Number(a['churn-s']),
    tailS: Number(a['tail-s']),
    protocol: a.protocol === 'delta' ? 'delta' : 'sotw',
    ...(a.only === 'scoped' || a.only === 'unscoped' ? { only: a.only } : {}),
  };
  const table = formatTable(await runScopeBench(o), o);
  console.log(table);
  writeFileSync(path.join(RESULTS, `scope-${o.protocol}.md`), `${table}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: Error) => {
    console.error(err);
    process.exit(1);
  });
}
