// `make run` keeps its ZooKeeper's data (registrations' parents, policies) in .run/zookeeper between
// runs; `make clean-run` is `scripts/local-zookeeper.sh clean`. Run here on a temporary folder and
// a free port: data written before a stop is there after a restart, and gone after a clean.
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/xds/protos.js';
import { freePorts } from '../support/zookeeper-server.js';
import { ZkTestClient } from '../support/zk-test-client.js';

const SCRIPT = path.join(PROJECT_ROOT, 'scripts/local-zookeeper.sh');
const dir = mkdtempSync(path.join(os.tmpdir(), 'zkxds-local-zk-'));

function script(...args: string[]): string {
  const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`local-zookeeper.sh ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

async function exists(connect: string, znode: string): Promise<boolean> {
  const zk = await ZkTestClient.connect(connect);
  try {
    return (await zk.children('/zk-xds').catch(() => [] as string[])).includes(znode);
  } finally {
    await zk.close();
  }
}

afterAll(() => {
  spawnSync('bash', [SCRIPT, 'stop', dir]);
  rmSync(dir, { recursive: true, force: true });
});

describe('scripts/local-zookeeper.sh (make run, make clean-run)', () => {
  it('keeps data across a stop and start, and clean deletes it', async () => {
    const [port] = await freePorts(1);
    const connect = `127.0.0.1:${port}`;
    script('start', dir, String(port));
    const zk = await ZkTestClient.connect(connect);
    await zk.mkdirp('/zk-xds/policy');
    await zk.close();
    script('stop', dir);
    script('start', dir, String(port));
    expect(await exists(connect, 'policy')).toBe(true);
    expect(script('clean', dir)).toContain(`ZooKeeper data in ${dir} deleted`);
    script('start', dir, String(port));
    expect(await exists(connect, 'policy')).toBe(false);
  }, 120_000);
});
