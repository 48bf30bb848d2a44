// Makes ZooKeeper expire the registry's own session, optionally changing the tree while no watch of
// the registry can see it, so that only the re-read after expiry can pick the changes up.
//
// A child process attaches to the registry's session (id + password), which moves the session to
// the child's connection and drops the watches of the registry's connection; it makes the changes,
// then closes the session. spawnSync blocks this process meanwhile, so the registry cannot reconnect
// and take its session back before it is gone.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ZkRegistry } from '../../src/registry/zk-registry.js';
import type { ZkConnection } from '../../src/zookeeper/connection.js';

export type TreeChange = { op: 'create'; path: string; data: string } | { op: 'delete'; path: string };

const SCRIPT = `
const [dir, connect, id, password, timeout, changesJson] = process.argv.slice(1);
const ZooKeeper = require(require.resolve('zookeeper', { paths: [dir] }));
const zk = new ZooKeeper({ connect, timeout: Number(timeout), debug_level: 0, host_order_deterministic: false, client_id: id, client_password: password });
const fail = (m) => { console.error(m); process.exit(2); };
const timer = setTimeout(() => fail('could not attach to the session'), 10000);
zk.once('connect', () => setImmediate(async () => {
  try {
    for (const c of JSON.parse(changesJson)) {
      if (c.op === 'create') await zk.create(c.path, c.data, 0);
      else await zk.delete_(c.path, -1);
    }
  } catch (e) { fail('change failed: ' + e.message); }
  // Close outside the binding's callbacks, or the C library defers it and never sends closeSession.
  setImmediate(() => { zk.close(); clearTimeout(timer); setTimeout(() => process.exit(0), 50); });
}));
zk.init({});
`;

export function expireRegistrySession(registry: ZkRegistry, changes: TreeChange[] = []): void {
  const conn = registry.connection();
  if (!conn) throw new Error('the registry has no session');
  expireSession(conn, changes);
}

/** The same for any ZkConnection (the leader election's own session, for one). */
export function expireSession(conn: ZkConnection, changes: TreeChange[] = []): void {
  const { id, password, timeoutMs } = conn.sessionIdentity();
  const dir = path.dirname(fileURLToPath(import.meta.url));
  const connect = conn.options.connect;
  const r = spawnSync(process.execPath, ['-e', SCRIPT, dir, connect, id, password, String(timeoutMs), JSON.stringify(changes)], {
    encoding: 'utf8',
    timeout: 20000,
  });
  if (r.status !== 0) throw new Error(`could not expire the session: ${r.error?.message ?? `exit ${r.status}`} ${r.stderr}`);
}
