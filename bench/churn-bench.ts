// `make bench`, churn at mesh scale (issue 14): S services x I instances in a real ZooKeeper, zk-xds
// (the real CLI, its own process), N Envoy-style proxies from the load generator (its own process)
// synced, then W writes per second for D seconds, each a setData giving one instance a new port,
// spread over every service (write k goes to service k mod S, instance floor(k / S) mod I, port
// 20000 + k). One more proxy, the decoding probe (bench/loadgen/endpoint-probe.ts), notes when
// each new port first reaches it: write -> receipt per change, exactly, and its lag over the run in
// 5-s buckets (flat = the server keeps up; growing = it falls further behind). Prints one table and
// writes it to bench/results/.
//   node dist/bench/churn-bench.js [--services 1000] [--instances 10] [--proxies 1000]
//     [--rate 100] [--duration-s 30] [--protocol sotw|delta] [--replicas 1] [--workers 1]
//     [--per-connection 100] [--label name]
// --replicas R: R zk-xds processes, each reading ZooKeeper itself, each serving N/R of the proxies
// (the probe is on the first): what serving from R cores costs and gives, without shared reading.
// --workers W: one zk-xds with `--workers W` (ZooKeeper read once, connections handed round-robin
// to W serving processes); CPU and RSS are summed over the main and its workers. Proxies spread
// per connection: --per-connection (simulated proxies per HTTP/2 connection) 1 spreads each.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/xds/protos.js';
import { ZooKeeperServer } from '../test/support/zookeeper-server.js';
import { ZkTestClient } from '../test/support/zk-test-client.js';
import { EndpointProbe } from './loadgen/endpoint-probe.js';
import { epochNow, fill, instancePath, ip, quantiles, startZkXds, stopProcess, usage, withChildren, type ProcessUsage } from './bench-support.js';

const { values: a } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    instances: { type: 'string', default: '10' },
    proxies: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '100' },
    'duration-s': { type: 'string', default: '30' },
    protocol: { type: 'string', default: 'sotw' },
    replicas: { type: 'string', default: '1' },
    workers: { type: 'string', default: '1' },
    'per-connection': { type: 'string', default: '100' },
    'loadgen-workers': { type: 'string', default: '1' },
    label: { type: 'string' },
  },
});
const S = Number(a.services);
const I = Number(a.instances);
const N = Number(a.proxies);
const RATE = Number(a.rate);
const DURATION_S = Number(a['duration-s']);
const REPLICAS = Number(a.replicas);
const WORKERS = Number(a.workers);
const BUCKET_S = 5;
/** How long after the last write the probe may still receive changes before they count as missing. */
const TAIL_S = 30;
const RESULTS = path.join(PROJECT_ROOT, 'bench/results');

interface Write {
  readonly k: number;
  readonly s: number;
  readonly i: number;
  readonly port: number;
  /** Epoch ms when setData was issued. */
  readonly issuedAt: number;
  /** ZooKeeper's mtime of the write (its clock; on this one machine, the same clock). */
  mtime?: number;
}

/** Means of zk-xds's own latency histograms, to set beside the probe's exact figures. */
function ownFigures(metrics: string): string {
  const mean = (series: string) => {
    const sum = Number(new RegExp(`^${series.replace('{', '_sum{').replace(/^([^{]*)$/, '$1_sum')} (\\S+)$`, 'm').exec(metrics)?.[1]);
    const count = Number(new RegExp(`^${series.replace('{', '_count{').replace(/^([^{]*)$/, '$1_count')} (\\S+)$`, 'm').exec(metrics)?.[1]);
    return count > 0 ? `${((1000 * sum) / count).toFixed(0)} ms (${count})` : 'n/a';
  };
  return [
    `ZooKeeper notification delay ${mean('zkxds_zookeeper_notification_delay_seconds')}`,
    `change -> sent (sidecar) ${mean('zkxds_change_to_sent_seconds{audience="sidecar"}')}`,
    `change -> ACK (sidecar) ${mean('zkxds_change_to_ack_seconds{audience="sidecar"}')}`,
  ].join('; ');
}

/** Busy and total jiffies of the whole machine (/proc/stat), to say what else was running. */
function machineBusy(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((x, y) => x + y, 0);
  return { busy: total - f[3]! - (f[4] ?? 0), total };
}

/** The load generator's proxies in a child process; resolves `synced` once all N are synced. */
function startLoad(server: string, proxies: number, firstIndex: number): { child: ChildProcess; synced: Promise<number> } {
  const args = [
    '--server',
    server,
    '--proxies',
    String(proxies),
    '--node-id',
    `loadgen-{i}-${firstIndex}`,
    '--protocol',
    a.protocol!,
    '--style',
    'envoy',
    '--workers',
    a['loadgen-workers']!,
    '--per-connection',
    a['per-connection']!,
    '--duration-s',
    '100000',
  ];
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/bench/loadgen/main.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const started = performance.now();
  const synced = new Promise<number>((resolve, reject) => {
    let buffered = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const m = / synced (\d+) /.exec(line);
        if (m && Number(m[1]) >= proxies) resolve(performance.now() - started);
        if (!m && line.trim()) process.stderr.write(`${line}\n`);
      }
    });
    child.once('exit', (code) => reject(new Error(`load generator exited ${code} before its proxies synced`)));
  });
  return { child, synced };
}

async function main(): Promise<void> {
  process.env.ZK_TEST_JVM ??= 'server';
  mkdirSync(RESULTS, { recursive: true });
  const say = (line: string) => process.stderr.write(`[churn] ${line}\n`);
  const zk = await ZooKeeperServer.start({ tickTimeMs: 2000, maxSessionTimeoutMs: 60000 });
  const writer = await ZkTestClient.connect(zk.connectString, { sessionTimeoutMs: 40000 });
  const servers: ChildProcess[] = [];
  const loads: ChildProcess[] = [];
  const probe = { current: null as EndpointProbe | null };
  const lines: string[] = [];
  try {
    await fill(writer, S, I);
    const started = performance.now();
    const replicas = await Promise.all(
      Array.from({ length: REPLICAS }, () => startZkXds(zk.connectString, '/services', WORKERS > 1 ? ['--workers', String(WORKERS)] : [])),
    );
    servers.push(...replicas.map((r) => r.child));
    const running = replicas[0]!;
    const xds = `127.0.0.1:${running.xdsPort}`;
    say(`zk-xds ready in ${(performance.now() - started).toFixed(0)} ms`);
    const per = Math.ceil(N / REPLICAS);
    const loadRuns = replicas.map((r, k) => startLoad(`127.0.0.1:${r.xdsPort}`, Math.min(per, N - k * per), k * per));
    loads.push(...loadRuns.map((l) => l.child));
    const syncMs = Math.max(...(await Promise.all(loadRuns.map((l) => l.synced))));
    say(`${N} proxies synced in ${syncMs.toFixed(0)} ms`);
    probe.current = new EndpointProbe({ server: xds, protocol: a.protocol as 'sotw' | 'delta' });
    await probe.current.start();
    // Let the initial sync's garbage and ACKs settle before the clock starts.
    await new Promise((r) => setTimeout(r, 3000));

    const writes: Write[] = [];
    /** CPU seconds so far per zk-xds process (with --workers, each server's forked workers too). */
    const perProcess = (): Map<number, ProcessUsage> => {
      const out = new Map<number, ProcessUsage>();
      for (const pid of servers.flatMap((c) => withChildren(c.pid!))) {
        try {
          out.set(pid, usage(pid));
        } catch {
          // Exited since it was listed.
        }
      }
      return out;
    };
    const serverUsage = (): ProcessUsage => {
      const all = [...perProcess().values()];
      return { cpuS: all.reduce((x, u) => x + u.cpuS, 0), rssMb: all.reduce((x, u) => x + u.rssMb, 0), peakRssMb: all.reduce((x, u) => x + u.peakRssMb, 0) };
    };
    const perProcessAt = perProcess();
    const loadCpu = () => loads.reduce((x, c) => x + usage(c.pid!).cpuS, 0);
    const cpuAt: ProcessUsage[] = [serverUsage()];
    const loadCpuAt = loadCpu();
    const machineAt = machineBusy();
    const churnStart = epochNow();
    const sampler = setInterval(() => cpuAt.push(serverUsage()), BUCKET_S * 1000);
    const total = RATE * DURATION_S;
    const pendingWrites: Array<Promise<unknown>> = [];
    for (let k = 0; k < total; k++) {
      const due = churnStart + (k * 1000) / RATE;
      const wait = due - epochNow();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const s = k % S;
      const i = Math.floor(k / S) % I;
      const w: Write = { k, s, i, port: 20000 + k, issuedAt: epochNow() };
      writes.push(w);
      pendingWrites.push(
        writer.set(instancePath(s, i), JSON.stringify({ address: ip(s, i), port: w.port })).then((stat) => {
          w.mtime = stat.mtime;
        }),
      );
    }
    await Promise.all(pendingWrites);
    const writesDone = epochNow();
    // Wait for the probe to see every change (or give up after the tail).
    const seen = (w: Write) => probe.current!.seenAt(ip(w.s, w.i), w.port) !== undefined;
    while (epochNow() - writesDone < TAIL_S * 1000 && !writes.every(seen)) await new Promise((r) => setTimeout(r, 100));
    clearInterval(sampler);
    cpuAt.push(serverUsage());
    // Main processes first, then their workers: what each spent during the churn, and its RSS.
    const mains = new Set(servers.map((c) => c.pid!));
    const split = [...perProcess()]
      .sort(([x], [y]) => Number(mains.has(y)) - Number(mains.has(x)) || x - y)
      .map(([pid, u]) => `${mains.has(pid) ? 'main' : 'worker'} ${(u.cpuS - (perProcessAt.get(pid)?.cpuS ?? 0)).toFixed(1)} s / ${u.rssMb.toFixed(0)} MB`)
      .join(', ');
    const churnCpuS = cpuAt[cpuAt.length - 1]!.cpuS - cpuAt[0]!.cpuS;
    const elapsedS = (epochNow() - churnStart) / 1000;
    const loadCpuS = loadCpu() - loadCpuAt;
    const machine = machineBusy();
    const machinePct = (100 * (machine.busy - machineAt.busy)) / (machine.total - machineAt.total);
    const metrics = await fetch(`http://127.0.0.1:${running.adminPort}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
    writeFileSync(path.join(RESULTS, `churn-${a.label ?? `${a.protocol}-r${REPLICAS}${WORKERS > 1 ? `-w${WORKERS}` : ''}`}.metrics.txt`), metrics);

    const fromIssue: number[] = [];
    const fromMtime: number[] = [];
    let missing = 0;
    const buckets = new Map<number, number[]>();
    for (const w of writes) {
      const t = probe.current.seenAt(ip(w.s, w.i), w.port);
      if (t === undefined) {
        missing++;
        continue;
      }
      fromIssue.push(t - w.issuedAt);
      if (w.mtime !== undefined) fromMtime.push(t - w.mtime);
      const b = Math.floor((w.issuedAt - churnStart) / (BUCKET_S * 1000));
      if (!buckets.has(b)) buckets.set(b, []);
      buckets.get(b)!.push(t - w.issuedAt);
    }
    const fmt = (xs: number[]) => {
      const q = quantiles(xs);
      return q ? `p50 ${q.p50.toFixed(1)} ms, p99 ${q.p99.toFixed(1)} ms, max ${q.max.toFixed(1)} ms` : 'n/a';
    };
    const label = a.label ?? `${a.protocol}-r${REPLICAS}${WORKERS > 1 ? `-w${WORKERS}` : ''}`;
    lines.push(
      `zk-xds churn (${label}) — ${new Date().toISOString()}, node ${process.version}: ${S} services x ${I} instances, ${N} envoy-style ${a.protocol} proxies + 1 probe, ${RATE} port changes/s for ${DURATION_S} s over every service, ${REPLICAS} zk-xds process(es)${WORKERS > 1 ? ` with --workers ${WORKERS}` : ''}`,
      '',
      `| figure | value |`,
      `|---|---|`,
      `| proxies synced after connecting | ${syncMs.toFixed(0)} ms |`,
      `| write issued -> probe receipt | ${fmt(fromIssue)} over ${fromIssue.length} changes, ${missing} missing ${TAIL_S} s after the last write |`,
      `| ZooKeeper mtime -> probe receipt | ${fmt(fromMtime)} |`,
      `| zk-xds CPU during churn | ${churnCpuS.toFixed(1)} s over ${elapsedS.toFixed(1)} s (${((100 * churnCpuS) / elapsedS).toFixed(0)}% of one core) |`,
      `| load generator CPU during churn | ${loadCpuS.toFixed(1)} s (${((100 * loadCpuS) / elapsedS).toFixed(0)}% of one core); whole machine ${machinePct.toFixed(0)}% busy (of ${cpus().length} cores) |`,
      `| zk-xds's own figures (mean over the run) | ${ownFigures(metrics)} |`,
      ...(WORKERS > 1 || REPLICAS > 1 ? [`| zk-xds CPU and RSS per process | ${split} |`] : []),
      `| zk-xds RSS after churn | ${cpuAt[cpuAt.length - 1]!.rssMb.toFixed(0)} MB (peak ${cpuAt[cpuAt.length - 1]!.peakRssMb.toFixed(0)} MB) |`,
      '',
      `| writes issued in | receipts | p50 | p99 | max | zk-xds CPU |`,
      `|---|---|---|---|---|---|`,
    );
    for (const b of [...buckets.keys()].sort((x, y) => x - y)) {
      const q = quantiles(buckets.get(b)!)!;
      const cpu = cpuAt[b + 1] && cpuAt[b] ? `${((100 * (cpuAt[b + 1]!.cpuS - cpuAt[b]!.cpuS)) / BUCKET_S).toFixed(0)}%` : '';
      lines.push(
        `| ${b * BUCKET_S}-${(b + 1) * BUCKET_S} s | ${buckets.get(b)!.length} | ${q.p50.toFixed(0)} ms | ${q.p99.toFixed(0)} ms | ${q.max.toFixed(0)} ms | ${cpu} |`,
      );
    }
    const table = lines.join('\n');
    console.log(table);
    writeFileSync(path.join(RESULTS, `churn-${label}.md`), `${table}\n`);
  } finally {
    probe.current?.stop();
    for (const l of loads) await stopProcess(l);
    for (const c of servers) await stopProcess(c);
    await writer.close();
    await zk.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
