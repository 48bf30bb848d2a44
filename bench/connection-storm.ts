// `make bench`: a connection storm. A real zk-xds (the CLI, its own process) on a real ZooKeeper
// with a few services; N Envoy-style proxies (the load generator, each proxy on its own socket,
// in worker processes) all connect at once, as when a replica dies and its proxies move. Prints:
// time until all connected / synced, resets and other errors, the kernel's listen-queue overflows
// during the run (TcpExtListenOverflows), and zk-xds's peak RSS. Not a timed test.
//   node dist/bench/connection-storm.js [--proxies 10000] [--services 20] [--instances 3] [--workers 2] [--protocol sotw|delta] [--tls]
// --tls: mutual TLS with the identity check (openssl-made CA, server and proxy certificates);
// --tls-key ec: ECDSA P-256 keys instead of RSA 2048.
// Extra zk-xds flags: BENCH_SERVER_ARGS="--initial-syncs-per-second 0".
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/xds/protos.js';
import { ZooKeeperServer, freePorts } from '../test/support/zookeeper-server.js';
import { ZkTestClient } from '../test/support/zk-test-client.js';
import { rssBytes, tcpExtCounter } from '../test/support/kernel-counters.js';
import type { LoadReport } from './loadgen/run.js';
import { makeCa, makeLeaf } from '../test/support/test-certs.js';

/** A CA, the server's certificate and one the simulated proxies share (its name is their node cluster, `loadgen`). */
function makeStormCertificates(): { serverArgs: string[]; clientEnv: Record<string, string> } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'storm-tls-'));
  const key = a['tls-key'] === 'ec' ? 'ec' : 'rsa';
  makeCa(dir, 'ca', key);
  makeLeaf(dir, 'server', 'ca', { key });
  makeLeaf(dir, 'proxy', 'ca', { san: 'URI:spiffe://cluster.local/ns/bench/sa/loadgen', key });
  const f = (n: string) => path.join(dir, n);
  return {
    serverArgs: ['--xds-tls-cert-file', f('server.pem'), '--xds-tls-key-file', f('server.key'), '--xds-tls-client-ca-file', f('ca.pem')],
    clientEnv: { LOADGEN_TLS_CA: f('ca.pem'), LOADGEN_TLS_CERT: f('proxy.pem'), LOADGEN_TLS_KEY: f('proxy.key') },
  };
}

const { values: a } = parseArgs({
  options: {
    proxies: { type: 'string', default: '10000' },
    services: { type: 'string', default: '20' },
    instances: { type: 'string', default: '3' },
    workers: { type: 'string', default: '2' },
    protocol: { type: 'string', default: 'sotw' },
    tls: { type: 'boolean', default: false },
    'tls-key': { type: 'string', default: 'rsa' },
  },
});
const N = Number(a.proxies);
const RESULTS = path.join(PROJECT_ROOT, 'bench/results');

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function main(): Promise<void> {
  process.env.ZK_TEST_JVM ??= 'server';
  mkdirSync(RESULTS, { recursive: true });
  const zk = await ZooKeeperServer.start();
  const writer = await ZkTestClient.connect(zk.connectString);
  let cli: ChildProcess | undefined;
  try {
    process.stderr.write('filling ZooKeeper\n');
    await writer.mkdirp('/services');
    for (let s = 0; s < Number(a.services); s++) {
      const svc = `/services/svc-${String(s).padStart(5, '0')}`;
      await writer.create(svc, '');
      for (let i = 0; i < Number(a.instances); i++) await writer.create(`${svc}/10.0.${s}.${i + 1}:8080`, '');
    }
    const [xds, admin] = await freePorts(2);
    const extra = (process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean);
    const tls = a.tls ? makeStormCertificates() : null;
    if (tls) extra.push(...tls.serverArgs);
    cli = spawn(
      process.execPath,
      [
        path.join(PROJECT_ROOT, 'dist/src/cli/main.js'),
        'serve',
        '--zk',
        zk.connectString,
        '--zk-root',
        '/services',
        '--xds-port',
        String(xds),
        '--admin-port',
        String(admin),
        '--bind-address',
        '127.0.0.1',
        '--log-level',
        'warn',
        ...extra,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    for (;;) {
      if (cli.exitCode !== null) throw new Error(`zk-xds exited (${cli.exitCode})`);
      const res = await fetch(`http://127.0.0.1:${admin}/readyz`).catch(() => null);
      if (res?.status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    process.stderr.write('zk-xds ready; storm\n');
    const pid = cli.pid!;
    const idleMb = rssBytes(pid) / (1 << 20);
    const overflowsBefore = tcpExtCounter('ListenOverflows');
    const cpuBefore = cpuSeconds(pid);
    const out = path.join(RESULTS, `storm-${process.pid}.json`);
    const args = [
      '--server',
      `127.0.0.1:${xds}`,
      '--proxies',
      String(N),
      '--per-connection',
      '1',
      '--workers',
      a.workers!,
      '--protocol',
      a.protocol!,
      '--timeout-s',
      '300',
      '--quiet',
      '--out',
      out,
    ];
    const loadgen = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/bench/loadgen/main.js'), ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, ...tls?.clientEnv },
    });
    const code = await new Promise<number | null>((resolve) => loadgen.once('exit', resolve));
    if (code !== 0) throw new Error(`load generator exited ${code}`);
    const r = JSON.parse(readFileSync(out, 'utf8')) as LoadReport;
    const overflows = tcpExtCounter('ListenOverflows') - overflowsBefore;
    const serverCpu = cpuSeconds(pid) - cpuBefore;
    const somaxconn = readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim();
    const resets = r.errors.samples.filter((s) => s.includes('ECONNRESET')).length;
    const lines = [
      `zk-xds connection storm — ${new Date().toISOString()}, node ${process.version}, ${N} ${a.protocol} Envoy-style proxies, one socket each, ${a.workers} generator processes, ${a.services} services x ${a.instances} instances${a.tls ? `, mutual TLS (${a['tls-key'] === 'ec' ? 'ECDSA P-256' : 'RSA 2048'} keys)` : ''}${extra.length ? `, zk-xds ${extra.join(' ')}` : ''}`,
      '',
      '| figure | value |',
      '|---|---|',
      `| connected | ${r.connected} / ${N} |`,
      `| synced | ${r.sync.count} / ${N} |`,
      `| all synced after | ${r.sync.allSyncedMs === null ? 'not all' : `${Math.round(r.sync.allSyncedMs)} ms`} |`,
      `| sync p50 / p99 | ${Math.round(r.sync.p50 ?? 0)} / ${Math.round(r.sync.p99 ?? 0)} ms |`,
      `| first response p50 / p99 | ${Math.round(r.firstResponse.p50 ?? 0)} / ${Math.round(r.firstResponse.p99 ?? 0)} ms |`,
      `| stream errors (reconnected) | ${r.errors.count}${resets ? ` (ECONNRESET among the samples: ${resets})` : ''} |`,
      `| listen-queue overflows (TcpExtListenOverflows) | ${overflows} (net.core.somaxconn ${somaxconn} caps the backlog) |`,
      `| zk-xds CPU during the storm | ${serverCpu.toFixed(1)} s |`,
      `| generator CPU | ${((r.cpu.userMs + r.cpu.systemMs) / 1000).toFixed(1)} s |`,
      `| zk-xds RSS idle / peak | ${idleMb.toFixed(0)} / ${peakRssMb(pid).toFixed(0)} MB |`,
    ];
    if (r.errors.count) lines.push('', 'error samples:', ...r.errors.samples.map((s) => `- ${s}`));
    const table = lines.join('\n');
    process.stdout.write(`${table}\n`);
    writeFileSync(path.join(RESULTS, `connection-storm-${a.protocol}${a.tls ? '-tls' : ''}.md`), `${table}\n`);
  } finally {
    cli?.kill('SIGTERM');
    await writer.close();
    await zk.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`connection-storm: ${err.message}\n`);
    process.exit(1);
  },
);
