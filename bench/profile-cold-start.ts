// Profiles zk-xds's cold start: fills a real ZooKeeper with S x I registrations, runs the real
// `zk-xds serve` under --cpu-prof until /readyz says the first full read is done, and prints the
// time to ready and the functions with the most self time.
//   node dist/bench/profile-cold-start.js [--services 10000] [--instances 10]
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/xds/protos.js';
import { ZooKeeperServer, freePorts } from '../test/support/zookeeper-server.js';
import { ZkTestClient } from '../test/support/zk-test-client.js';
import { topSelfTime, type Profile } from './cpu-profile.js';

const { values: args } = parseArgs({ options: { services: { type: 'string', default: '10000' }, instances: { type: 'string', default: '10' } } });
const S = Number(args.services);
const I = Number(args.instances);

async function fill(writer: ZkTestClient): Promise<void> {
  await writer.mkdirp('/services');
  const chunk = async <T>(items: T[], size: number, f: (t: T) => Promise<unknown>) => {
    for (let k = 0; k < items.length; k += size) await Promise.all(items.slice(k, k + size).map(f));
  };
  const services = Array.from({ length: S }, (_, s) => s);
  await chunk(services, 500, (s) => writer.create(`/services/svc-${s}`, ''));
  const instances = services.flatMap((s) => Array.from({ length: I }, (_, i) => [s, i] as const));
  await chunk(instances, 2000, ([s, i]) =>
    writer.create(
      `/services/svc-${s}/10.${(s >> 8) & 255}.${s & 255}.${i + 1}:8080`,
      JSON.stringify({ address: `10.${(s >> 8) & 255}.${s & 255}.${i + 1}`, port: 8080 }),
    ),
  );
}

async function main(): Promise<void> {
  process.env.ZK_TEST_JVM ??= 'server';
  const zk = await ZooKeeperServer.start({ tickTimeMs: 2000, maxSessionTimeoutMs: 60000 });
  const writer = await ZkTestClient.connect(zk.connectString, { sessionTimeoutMs: 40000 });
  const dir = path.join(PROJECT_ROOT, 'bench/results/cpu-profiles');
  mkdirSync(dir, { recursive: true });
  try {
    await fill(writer);
    const [xds, admin] = await freePorts(2);
    const started = performance.now();
    const child = spawn(
      process.execPath,
      [
        ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
        '--cpu-prof',
        `--cpu-prof-dir=${dir}`,
        path.join(PROJECT_ROOT, 'dist/src/cli/main.js'),
        'serve',
        '--zk',
        zk.connectString,
        '--xds-port',
        String(xds),
        '--admin-port',
        String(admin),
        '--bind-address',
        '127.0.0.1',
        '--log-level',
        'warn',
      ],
      { stdio: 'inherit' },
    );
    for (;;) {
      const ready = await fetch(`http://127.0.0.1:${admin}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const readyMs = performance.now() - started;
    const before = new Set(readdirSync(dir));
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const file = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.cpuprofile'));
    console.log(`zk-xds serve: ${S} services x ${I} instances ready (first full read) ${readyMs.toFixed(0)} ms after spawn`);
    if (file) {
      console.log(`profile: ${path.join(dir, file)}; top self time:`);
      for (const { fn, ms } of topSelfTime(JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Profile, 15))
        console.log(`  ${ms.toFixed(0).padStart(6)} ms  ${fn}`);
    }
  } finally {
    await writer.close();
    await zk.destroy();
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
