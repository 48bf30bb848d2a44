// Memory that must come back (issue 11): the ZooKeeper binding frees every watch callback once it
// fired or can no longer fire, and a session expiry leaves nothing of the old session's mirror.
//
// A real ZkRegistry mirrors a churning tree (thousands of watch events) across several session
// expiries, in a child process started with --expose-gc (test/support/watch-leak-probe.ts, run
// compiled from dist/: `npx tsc` first, as for the CLI tests). The probe counts, after forced
// garbage collections, the watch callbacks handed to the binding that are still alive, and the
// sessions' mirrors (TreeWatchers) still alive. Before the binding patch (patches/), every
// callback ever created stayed alive (6,894 of 6,894 after four rounds) and every old mirror with
// them; before the tree watcher armed one data watch per znode, churn within a session added
// watches (523 became 551 in one round, 616 in five).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ZooKeeperServer } from '../support/zookeeper-server.js';
import type { ProbeSample } from '../support/watch-leak-probe.js';

const PROBE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/test/support/watch-leak-probe.js');
const SERVICES = 20;
const INSTANCES = 25;
const ROUNDS = 4;
const WRITES = 1000;

let zk: ZooKeeperServer;

beforeAll(async () => {
  zk = await ZooKeeperServer.start();
});
afterAll(async () => {
  await zk?.destroy();
});

function runProbe(args: string[]): Promise<ProbeSample[]> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // Jest's --experimental-vm-modules is not needed by the compiled probe
  const child = spawn(process.execPath, ['--expose-gc', PROBE, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      const lines = out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as ProbeSample & { done?: boolean });
      if (code !== 0 || !lines.at(-1)?.done) reject(new Error(`probe exited ${code}: ${err}\n${out}`));
      else resolve(lines.filter((l) => !l.done));
    });
  });
}

describe('watch callbacks and mirrors across churn and session expiries (real ZooKeeper)', () => {
  it('keeps live watch callbacks flat and drops every expired session’s mirror', async () => {
    const samples = await runProbe([
      '--connect',
      zk.connectString,
      '--root',
      '/leak',
      '--services',
      String(SERVICES),
      '--instances',
      String(INSTANCES),
      '--rounds',
      String(ROUNDS),
      '--writes',
      String(WRITES),
    ]);
    process.stdout.write(`watch-callback-leak samples:\n${samples.map((s) => JSON.stringify(s)).join('\n')}\n`);
    const first = samples[0]!;
    const last = samples.at(-1)!;
    // The run did what it claims: thousands of watch events, one new session per round.
    expect(last.events).toBeGreaterThanOrEqual(ROUNDS * WRITES * 0.9);
    expect(last.sessions).toBe(ROUNDS + 1);
    // Right after a full read, the live callbacks are the armed watches (about one per node).
    expect(first.live).toBeGreaterThanOrEqual(SERVICES * INSTANCES);
    expect(first.live).toBeLessThan(SERVICES * INSTANCES * 1.1);
    // After churn and after every expiry and re-read: the same number, not one more per event, per
    // expiry, or per instance deleted and re-created (a second data watch on one znode, armed by a
    // listing that raced the re-create, used to stay armed for the session). A few in flight at most.
    const afterExpiry = samples.filter((_, i) => i > 0 && i % 2 === 0);
    expect(afterExpiry).toHaveLength(ROUNDS);
    for (const s of samples)
      expect({ round: s.round, live: s.live, flat: Math.abs(s.live - first.live) <= 5 }).toEqual({ round: s.round, live: s.live, flat: true });
    // Only the current session's mirrors are alive.
    for (const s of afterExpiry) expect({ round: s.round, liveMirrors: s.liveMirrors }).toEqual({ round: s.round, liveMirrors: first.liveMirrors });
  }, 300_000);
});
