// `make bench`: zk-xds (the real CLI, its own process) fed by a real ZooKeeper filled with S x I
// generated registrations, loaded by the xDS load generator (bench/loadgen, its own process), in
// four scenarios: cold start, churn, idle, reconnect storm. Prints one table and writes it to
// bench/results/. Not a timed test: CI runs only the load generator's smoke test.
//   node dist/bench/scenarios.js [--services 1000] [--instances 10] [--proxies 2000] [--protocol sotw|delta]
//     [--style envoy|grpc] [--churn-rate 100] [--churn-s 10]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/xds/protos.js';
import { ZooKeeperServer } from '../test/support/zookeeper-server.js';
import { dist, epochNow, fill, ip, startZkXds, stopProcess, svc, usage } from './bench-support.js';
import { ZkTestClient } from '../test/support/zk-test-client.js';
import type { LoadReport } from './loadgen/run.js';

const { values: a } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    instances: { type: 'string', default: '10' },
    proxies: { type: 'string', default: '2000' },
    protocol: { type: 'string', default: 'sotw' },
    style: { type: 'string', default: 'envoy' },
    'churn-rate': { type: 'string', default: '100' },
    'churn-s': { type: 'string', default: '10' },
    workers: { type: 'string', default: '1' },
  },
});
const S = Number(a.services);
const I = Number(a.instances);
const N = Number(a.proxies);
const RESULTS = path.join(PROJECT_ROOT, 'bench/results');

function runLoadgen(server: string, extra: string[]): { child: ChildProcess; done: Promise<LoadReport> } {
  const out = path.join(RESULTS, `loadgen-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  const args = ['--server', server, '--proxies', String(N), '--protocol', a.protocol!, '--style', a.style!, '--workers', a.workers!, '--out', out, '--quiet'];
  if (a.style === 'grpc') args.push('--targets', `svc-:${S}`);
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/bench/loadgen/main.js'), ...args, ...extra], { stdio: ['ignore', 'ignore', 'inherit'] });
  const done = new Promise<LoadReport>((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(readFileSync(out, 'utf8')) as LoadReport) : reject(new Error(`load generator exited ${code}`)),
    ),
  );
  return { child, done };
}

interface Receipt {
  p: number;
  t: number;
  names: string[];
}

/** Latency from each write to each proxy's first receipt of that service's endpoints after it. */
function churnLatencies(changes: Array<{ service: string; t: number }>, receiptsFile: string): { latencies: number[]; missing: number } {
  const byService = new Map<string, Array<{ p: number; t: number }>>();
  for (const line of readFileSync(receiptsFile, 'utf8').split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line) as Receipt;
    for (const n of r.names) {
      if (!byService.has(n)) byService.set(n, []);
      byService.get(n)!.push({ p: r.p, t: r.t });
    }
  }
  const latencies: number[] = [];
  let missing = 0;
  for (const c of changes) {
    const expected =
      a.style === 'grpc' ? Array.from({ length: N }, (_, p) => p).filter((p) => svc(p % S) === c.service) : Array.from({ length: N }, (_, p) => p);
    const firstAfter = new Map<number, number>();
    for (const r of byService.get(c.service) ?? []) if (r.t >= c.t && !(firstAfter.get(r.p)! <= r.t)) firstAfter.set(r.p, r.t);
    for (const p of expected) {
      const t = firstAfter.get(p);
      if (t === undefined) missing++;
      else latencies.push(t - c.t);
    }
  }
  return { latencies, missing };
}

async function main(): Promise<void> {
  process.env.ZK_TEST_JVM ??= 'server';
  mkdirSync(RESULTS, { recursive: true });
  const rows: string[][] = [];
  const row = (scenario: string, figures: string, u: ReturnType<typeof usage>) => {
    rows.push([scenario, figures, `${u.cpuS.toFixed(1)} s`, `${u.peakRssMb.toFixed(0)} MB`]);
    process.stderr.write(`${scenario}: ${figures} (zk-xds cpu ${u.cpuS.toFixed(1)} s, peak rss ${u.peakRssMb.toFixed(0)} MB)\n`);
  };
  const zk = await ZooKeeperServer.start({ tickTimeMs: 2000, maxSessionTimeoutMs: 60000 });
  const writer = await ZkTestClient.connect(zk.connectString, { sessionTimeoutMs: 40000 });
  let server: ChildProcess | undefined;
  try {
    await fill(writer, S, I);
    // An empty zk-xds first: its RSS is the baseline that per-endpoint memory is measured against.
    const empty = await startZkXds(zk.connectString, '/no-services');
    const baselineMb = usage(empty.child.pid!).rssMb;
    await stopProcess(empty.child);
    const started = performance.now();
    const running = await startZkXds(zk.connectString, '/services');
    server = running.child;
    const { xdsPort } = running;
    const pid = server.pid!;
    const xds = `127.0.0.1:${xdsPort}`;
    row(
      'cold start: first complete snapshot',
      `${S} services x ${I} instances read and translated in ${(performance.now() - started).toFixed(0)} ms`,
      usage(pid),
    );
    const before = usage(pid);

    const cold = await runLoadgen(xds, []).done;
    row(
      `cold start: ${N} ${a.style}-style ${a.protocol} proxies`,
      `all synced ${cold.sync.allSyncedMs?.toFixed(0) ?? 'NOT'} ms after connecting (per proxy ${cold.sync.p50?.toFixed(0)}/${cold.sync.p99?.toFixed(0)} ms p50/p99), ${cold.errors.count} errors`,
      usage(pid),
    );

    // Idle, then churn, on one set of connected proxies.
    const receipts = path.join(RESULTS, `eds-receipts-${process.pid}.ndjson`);
    const churnS = Number(a['churn-s']);
    const settleS = Math.ceil((cold.sync.allSyncedMs ?? 10000) / 1000) * 2 + 3;
    const live = runLoadgen(xds, ['--duration-s', String(settleS + churnS + 3), '--record-eds', receipts]);
    await new Promise((r) => setTimeout(r, settleS * 1000));
    const idle = usage(pid);
    row(
      `idle: ${N} connected proxies`,
      `${(((idle.rssMb - before.rssMb) * 1024) / N).toFixed(0)} KB RSS per proxy; ${(((before.rssMb - baselineMb) * 1024) / (S * I)).toFixed(1)} KB RSS per endpoint (over an empty zk-xds's ${baselineMb.toFixed(0)} MB)`,
      idle,
    );
    const rate = Number(a['churn-rate']);
    const changes: Array<{ service: string; t: number }> = [];
    const churnStart = epochNow();
    for (let k = 0; k < rate * churnS; k++) {
      const due = churnStart + (k * 1000) / rate;
      const wait = due - epochNow();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const s = Math.floor(Math.random() * S);
      const i = Math.floor(Math.random() * I);
      const t = epochNow();
      void writer.set(`/services/${svc(s)}/${ip(s, i)}:8080`, JSON.stringify({ address: ip(s, i), port: 8080, weight: 2 + (k % 50) }));
      changes.push({ service: svc(s), t });
    }
    await live.done;
    const { latencies, missing } = churnLatencies(changes, receipts);
    row(
      `churn: ${rate} instance changes/s for ${churnS} s`,
      `znode write -> proxy receipt ${dist(latencies)} over ${latencies.length} receipts, ${missing} missing`,
      usage(pid),
    );

    const storm = await runLoadgen(xds, ['--disconnect-at-s', String(settleS), '--reconnect']).done;
    row(
      `reconnect storm: ${N} proxies at once`,
      `all re-synced ${storm.resync?.allSyncedMs?.toFixed(0) ?? 'NOT'} ms after the drop (per proxy p99 ${storm.resync?.p99?.toFixed(0)} ms)`,
      usage(pid),
    );
  } finally {
    if (server) await stopProcess(server);
    await writer.close();
    await zk.destroy();
  }
  const header = ['scenario', 'figures', 'zk-xds CPU (cumulative)', 'zk-xds peak RSS'];
  const table = [
    `zk-xds scenarios — ${new Date().toISOString()}, node ${process.version}, ${S} services x ${I} instances, ${N} ${a.style}-style ${a.protocol} proxies`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  console.log(table);
  writeFileSync(path.join(RESULTS, `scenarios-${a.protocol}-${a.style}.md`), `${table}\n`);
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
