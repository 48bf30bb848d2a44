// What the scenario benchmarks share: filling ZooKeeper with generated registrations, starting the
// real zk-xds CLI in its own process, and reading a process's CPU and memory from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/xds/protos.js';
import { freePorts } from '../test/support/zookeeper-server.js';
import type { ZkTestClient } from '../test/support/zk-test-client.js';

export const svc = (s: number): string => `svc-${String(s).padStart(5, '0')}`;
export const ip = (s: number, i: number): string => `10.${(s >> 8) & 255}.${s & 255}.${i + 1}`;
/** The znode of instance i of service s (registered on port 8080 by fill()). */
export const instancePath = (s: number, i: number): string => `/services/${svc(s)}/${ip(s, i)}:8080`;
export const epochNow = (): number => performance.timeOrigin + performance.now();

export interface ProcessUsage {
  /** User + system CPU seconds so far. */
  readonly cpuS: number;
  readonly rssMb: number;
  readonly peakRssMb: number;
}

/** CPU seconds and RSS of a process, from /proc. */
export function usage(pid: number): ProcessUsage {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuS: ticks / 100, rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

/** `pid` and its children (a zk-xds with --workers forks its serving workers), from /proc's ppid fields. */
export function withChildren(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(entry));
    } catch {
      // Gone since the listing.
    }
  }
  return [pid, ...children];
}

/** `/services/svc-NNNNN/<ip>:8080` for S services x I instances, JSON {address, port: 8080}. */
export async function fill(writer: ZkTestClient, services: number, instances: number): Promise<void> {
  await writer.mkdirp('/services');
  const chunk = async <T>(items: T[], size: number, f: (t: T) => Promise<unknown>) => {
    for (let k = 0; k < items.length; k += size) await Promise.all(items.slice(k, k + size).map(f));
  };
  const all = Array.from({ length: services }, (_, s) => s);
  await chunk(all, 500, (s) => writer.create(`/services/${svc(s)}`, ''));
  const pairs = all.flatMap((s) => Array.from({ length: instances }, (_, i) => [s, i] as const));
  await chunk(pairs, 2000, ([s, i]) => writer.create(instancePath(s, i), JSON.stringify({ address: ip(s, i), port: 8080 })));
}

export interface RunningZkXds {
  readonly child: ChildProcess;
  readonly xdsPort: number;
  readonly adminPort: number;
}

/**
 * The CLI's `serve` over `root`, resolved once /readyz answers. BENCH_SERVER_NODE_FLAGS (e.g.
 * "--cpu-prof --cpu-prof-dir=bench/results/cpu-profiles") and BENCH_SERVER_ARGS add node and
 * serve flags.
 */
export async function startZkXds(zk: string, root: string, extraArgs: readonly string[] = []): Promise<RunningZkXds> {
  const [xdsPort, adminPort] = (await freePorts(2)) as [number, number];
  const words = (v: string | undefined) => (v ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [
      ...words(process.env.BENCH_SERVER_NODE_FLAGS),
      path.join(PROJECT_ROOT, 'dist/src/cli/main.js'),
      'serve',
      '--zk',
      zk,
      '--zk-root',
      root,
      '--xds-port',
      String(xdsPort),
      '--admin-port',
      String(adminPort),
      '--bind-address',
      '127.0.0.1',
      '--log-level',
      'warn',
      ...extraArgs,
      ...words(process.env.BENCH_SERVER_ARGS),
    ],
    { stdio: 'inherit' },
  );
  while (
    !(await fetch(`http://127.0.0.1:${adminPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (child.exitCode !== null) throw new Error(`zk-xds exited ${child.exitCode} before it was ready`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return { child, xdsPort, adminPort };
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** p50/p99/max of a sample, in ms. */
export function quantiles(xs: readonly number[]): { p50: number; p99: number; max: number } | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((x, y) => x - y);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return { p50: q(0.5), p99: q(0.99), max: s[s.length - 1]! };
}

export function dist(xs: readonly number[]): string {
  const q = quantiles(xs);
  return q ? `p50 ${q.p50.toFixed(1)} ms, p99 ${q.p99.toFixed(1)} ms, max ${q.max.toFixed(1)} ms` : 'n/a';
}
