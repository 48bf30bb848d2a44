// Counts the watch callbacks the ZooKeeper binding keeps alive while a real ZkRegistry mirrors a
// churning tree across several session expiries. Runs in its own process, compiled, with
// `node --expose-gc dist/test/support/watch-leak-probe.js --connect host:port [options]` (Jest
// cannot expose gc in its own workers); test/integration/watch-callback-leak.test.ts starts it.
//
// How it counts: every watch function handed to the native binding (aw_get, aw_get_children2,
// aw_exists) is registered in a FinalizationRegistry; after forced garbage collections, a
// callback still alive is one the binding (or something else) still holds. Each session's
// TreeWatchers (the mirrors) are registered the same way, so a mirror pinned after its session
// was replaced shows too.
//
// Prints one JSON line per measurement (after the first read, then after each round's churn and
// after its expiry and re-read), and a last line {"done": true}.
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { ZkRegistry } from '../../src/registry/zk-registry.js';
import { expireRegistrySession } from './expire-registry-session.js';
import { ZkTestClient } from './zk-test-client.js';

export interface ProbeSample {
  readonly at: string;
  readonly round: number;
  /** Watch callbacks handed to the binding so far, and how many of them are still alive. */
  readonly created: number;
  readonly live: number;
  /** Watch events delivered to the registry's callbacks (session events excluded). */
  readonly events: number;
  /** Sessions' mirrors (TreeWatchers) created, and still alive. */
  readonly mirrors: number;
  readonly liveMirrors: number;
  readonly heapUsedMB: number;
  readonly rssMB: number;
  /** Memory outside the V8 heap that V8 knows of (Buffers). */
  readonly externalMB: number;
  readonly sessions: number;
}

const { values: a } = parseArgs({
  options: {
    connect: { type: 'string' },
    root: { type: 'string', default: '/leak-probe' },
    services: { type: 'string', default: '20' },
    instances: { type: 'string', default: '25' },
    rounds: { type: 'string', default: '4' },
    writes: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '20' },
    // Churn only, no expiries: shows what accumulates within one session.
    'no-expiry': { type: 'boolean', default: false },
  },
});
if (!a.connect) throw new Error('--connect host:port is required');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const services = Number(a.services);
const instances = Number(a.instances);
const rounds = Number(a.rounds);
const writesPerRound = Number(a.writes);
const concurrency = Number(a.concurrency);
const root = a.root!;

// --- counting the binding's watch callbacks
const require = createRequire(import.meta.url);
const zkDir = path.dirname(require.resolve('zookeeper/package.json'));
const Native = createRequire(path.join(zkDir, 'package.json'))('node-gyp-build')(zkDir).ZooKeeper as {
  prototype: Record<string, (...args: unknown[]) => unknown>;
};
let created = 0;
let collected = 0;
let events = 0;
let lastActivity = Date.now();
const watches = new FinalizationRegistry<null>(() => collected++);
for (const method of ['aw_get', 'aw_get_children2', 'aw_exists']) {
  const original = Native.prototype[method]!;
  Native.prototype[method] = function (this: unknown, ...args: unknown[]) {
    const watch = args[1] as (type: number, ...rest: unknown[]) => void;
    created++;
    lastActivity = Date.now();
    // A fresh wrapper per call, as the registry passes a fresh function per read: what the
    // binding keeps is exactly this wrapper.
    const counted = (type: number, ...rest: unknown[]): void => {
      if (type !== -1) events++;
      lastActivity = Date.now();
      watch(type, ...rest);
    };
    watches.register(counted, null);
    args[1] = counted;
    return original.apply(this, args);
  };
}

// --- counting mirrors (one set of TreeWatchers per session)
let mirrors = 0;
let mirrorsCollected = 0;
const mirrorRegistry = new FinalizationRegistry<null>(() => mirrorsCollected++);
const seenMirrors = new WeakSet<object>();
function trackMirrors(registry: ZkRegistry): void {
  // The registry's internals, read here only: one EnsembleWatch per ensemble, each with its watchers.
  const ensembles = (registry as unknown as { ensembles: { watchers: object[] }[] }).ensembles;
  for (const e of ensembles) {
    for (const w of e.watchers) {
      if (seenMirrors.has(w)) continue;
      seenMirrors.add(w);
      mirrors++;
      mirrorRegistry.register(w, null);
    }
  }
}

async function collectGarbage(): Promise<void> {
  for (let i = 0; i < 6; i++) {
    gc!();
    await new Promise((resolve) => setImmediate(resolve));
    await sleep(20);
  }
}

/** Waits until no watch fired and no watched read was issued for `quietMs`. */
async function quiet(quietMs = 1000): Promise<void> {
  while (Date.now() - lastActivity < quietMs) await sleep(100);
}

async function sample(round: number, registry: ZkRegistry): Promise<void> {
  trackMirrors(registry);
  await collectGarbage();
  const mem = process.memoryUsage();
  const s: ProbeSample = {
    at: new Date().toISOString(),
    round,
    created,
    live: created - collected,
    events,
    mirrors,
    liveMirrors: mirrors - mirrorsCollected,
    heapUsedMB: Number((mem.heapUsed / 2 ** 20).toFixed(1)),
    rssMB: Number((mem.rss / 2 ** 20).toFixed(1)),
    externalMB: Number((mem.external / 2 ** 20).toFixed(1)),
    sessions: registry.status().sessionsOpened,
  };
  process.stdout.write(`${JSON.stringify(s)}\n`);
}

const instancePath = (s: number, i: number) => `${root}/svc-${s}/i-${i}`;
const payload = (s: number, i: number, n: number) =>
  JSON.stringify({ address: `10.${s % 250}.${Math.floor(i / 250)}.${(i % 250) + 1}`, port: 8080, metadata: { write: String(n) } });

async function main(): Promise<void> {
  const writer = await ZkTestClient.connect(a.connect!);
  for (let s = 0; s < services; s++) {
    await writer.mkdirp(`${root}/svc-${s}`);
    await Promise.all(Array.from({ length: instances }, (_, i) => writer.create(instancePath(s, i), payload(s, i, 0)).catch(() => undefined)));
  }
  const registry = new ZkRegistry(
    { connect: a.connect!, root, policyRoot: `${root}-policy`, sessionTimeoutMs: 4000, debounceMs: 5, maxDelayMs: 50 },
    { log: silentLogger(), metrics: createMetrics({ defaultMetrics: false }), onServices: () => undefined },
  );
  await registry.start();
  await quiet();
  await sample(0, registry);

  let n = 0;
  for (let round = 1; round <= rounds; round++) {
    // Churn: data changes (data watches fire) and, every tenth write, an instance leaving and
    // coming back (child watches fire on the service node).
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < writesPerRound) {
          const k = next++;
          const s = k % services;
          const i = Math.floor(k / services) % instances;
          n++;
          if (k % 10 === 9) {
            await writer.remove(instancePath(s, i));
            await writer.create(instancePath(s, i), payload(s, i, n));
          } else {
            await writer.set(instancePath(s, i), payload(s, i, n));
          }
        }
      }),
    );
    await quiet();
    await sample(round, registry);
    if (a['no-expiry']) continue;
    // Expiry: the registry opens a new session and reads everything again; the old session's
    // watches and mirror must go.
    const before = registry.status().lastFullSyncAt;
    expireRegistrySession(registry);
    while (registry.status().lastFullSyncAt === before || registry.status().state !== 'connected') await sleep(50);
    await quiet();
    await sample(round, registry);
  }
  await registry.stop();
  await writer.close();
  process.stdout.write(`${JSON.stringify({ done: true })}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`watch-leak-probe: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
