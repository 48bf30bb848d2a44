/**
 * Proves the ZooKeeper test harness itself: real servers start, keep data across restarts,
 * expire sessions on demand, fail over in an ensemble, freeze, and never leak a JVM.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { ZK_ERRORS, ZkError, ZkTestClient, expireSession, isZkError } from '../support/zk-test-client.js';
import { ZooKeeperEnsemble, ZooKeeperServer } from '../support/zookeeper-server.js';

const timings: string[] = [];

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await fn();
  timings.push(`${label}: ${Math.round(performance.now() - t0)} ms`);
  return result;
}

afterAll(() => {
  if (timings.length > 0) console.log(`ZooKeeper harness timings\n  ${timings.join('\n  ')}`);
});

/**
 * A killed JVM whose parent died is reparented to PID 1 and stays a zombie until PID 1 reaps it
 * (1.4 s on the CI VM's init); a zombie holds no memory or ports, so it counts as gone.
 */
function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Socket inodes open in process `pid` ('self' for this process). */
function socketInodes(pid: number | 'self'): Set<string> {
  const dir = `/proc/${pid}/fd`;
  const links = readdirSync(dir).map((fd) => {
    try {
      return readlinkSync(`${dir}/${fd}`);
    } catch {
      return ''; // closed meanwhile
    }
  });
  return new Set(links.filter((link) => link.startsWith('socket:')));
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** Retries across a failover: calls in flight when the connection drops fail with CONNECTIONLOSS. */
async function retryOnConnectionLoss<T>(op: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (!isZkError(err, ZK_ERRORS.CONNECTIONLOSS) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function firstLine(input: NodeJS.ReadableStream): Promise<string> {
  for await (const line of createInterface({ input })) return line;
  throw new Error('stream ended without a line');
}

const pending = Symbol('pending');
function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | typeof pending> {
  return Promise.race([promise, new Promise<typeof pending>((resolve) => setTimeout(() => resolve(pending), ms))]);
}

describe('ZooKeeperServer (standalone)', () => {
  let server: ZooKeeperServer;
  const clients: ZkTestClient[] = [];
  const connect = async (): Promise<ZkTestClient> => {
    const client = await ZkTestClient.connect(server.connectString, { sessionTimeoutMs: 4000 });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await timed('standalone start', () => ZooKeeperServer.start());
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('listens on a free loopback port', () => {
    expect(server.connectString).toBe(`127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
    expect(server.running).toBe(true);
  });

  it('writes and reads registrations', async () => {
    const zk = await connect();
    await zk.mkdirp('/services/orders/instances');
    await zk.mkdirp('/services/orders/instances'); // idempotent
    await zk.create('/services/orders/instances/a', '{"port":8080}');
    const seq = await zk.create('/services/orders/instances/member_', 'x', { ephemeral: true, sequential: true });
    expect(seq).toMatch(/^\/services\/orders\/instances\/member_\d{10}$/);

    expect(await zk.get('/services/orders/instances/a')).toBe('{"port":8080}');
    await zk.set('/services/orders/instances/a', '{"port":9090}');
    const node = await zk.getNode('/services/orders/instances/a');
    expect(node.data.toString()).toBe('{"port":9090}');
    expect(node.stat.version).toBe(1);
    expect(node.stat.ephemeralOwner).toBe('0');
    expect((await zk.getNode(seq)).stat.ephemeralOwner).toBe(zk.sessionId);
    expect(await zk.children('/services/orders/instances')).toEqual(['a', path.basename(seq)]);

    await expect(zk.get('/services/missing')).rejects.toMatchObject({ code: ZK_ERRORS.NONODE });
    await expect(zk.create('/services/orders/instances/a')).rejects.toBeInstanceOf(ZkError);
    await zk.remove('/services/missing'); // no error

    await zk.create('/services/ttl', 'x', { ttlMs: 60_000 }); // extendedTypesEnabled is on
    expect(await zk.exists('/services/ttl')).toBe(true);

    await zk.removeRecursive('/services');
    expect(await zk.exists('/services')).toBe(false);
    await zk.removeRecursive('/services'); // no error
  });

  it('deletes ephemeral nodes as soon as their session closes', async () => {
    const app = await connect();
    const observer = await connect();
    await app.mkdirp('/eph');
    await app.create('/eph/instance', 'up', { ephemeral: true });
    expect(await observer.exists('/eph/instance')).toBe(true);

    await app.close();
    expect(app.closed).toBe(true);
    expect(await app.whenClosed()).toEqual({ code: 0, expired: false });
    expect(await observer.exists('/eph/instance')).toBe(false);
  });

  it('expires a session on demand', async () => {
    const app = await connect();
    const observer = await connect();
    await app.create('/eph-expire', 'up', { ephemeral: true });

    await timed('expireSession', () => expireSession(app));
    expect(app.closed).toBe(true);
    expect(await app.whenClosed()).toEqual({ code: ZK_ERRORS.SESSIONEXPIRED, expired: true });
    expect(await observer.exists('/eph-expire')).toBe(false);
    await expect(app.get('/')).rejects.toMatchObject({ code: ZK_ERRORS.INVALIDSTATE });
  });

  it('keeps persistent data across stop and restart on the same port', async () => {
    const zk = await connect();
    await zk.create('/durable', 'kept');
    await zk.create('/transient', 'gone', { ephemeral: true });
    await zk.close();

    const port = server.port;
    await timed('standalone stop (SIGTERM)', () => server.stop());
    expect(server.running).toBe(false);
    expect(server.pid).toBeUndefined();
    await timed('standalone restart', () => server.restart());
    expect(server.port).toBe(port);

    const again = await connect();
    expect(await again.get('/durable')).toBe('kept');
    expect(await again.exists('/transient')).toBe(false);
  });

  it('does not leak client sockets into JVMs started while clients are connected', async () => {
    // The C client opens sockets without CLOEXEC; a JVM holding a copy made later failovers
    // look like session expiries (see CLOSE_INHERITED_FDS).
    const zk = await connect();
    await zk.exists('/');
    const clientSockets = socketInodes('self');
    const other = await ZooKeeperServer.start();
    try {
      const shared = [...socketInodes(other.pid!)].filter((inode) => clientSockets.has(inode));
      expect(shared).toEqual([]);
    } finally {
      await other.destroy();
    }
  });

  it('keeps acknowledged writes across kill -9', async () => {
    const zk = await connect();
    await zk.create('/crash-safe', 'yes');
    await zk.close();
    await server.kill();
    await server.restart();
    expect(await (await connect()).get('/crash-safe')).toBe('yes');
  });

  it('freeze makes the server unresponsive until thaw', async () => {
    const zk = await connect();
    await server.freeze();
    try {
      // The request goes out but nothing answers, as with an unreachable host.
      const read = zk.get('/');
      expect(await settledWithin(read, 500)).toBe(pending);
      await expect(ZkTestClient.connect(server.connectString, { connectTimeoutMs: 300 })).rejects.toThrow(/no ZooKeeper session/);
      expect(await server.mode(200)).toBeUndefined();
      await server.thaw();
      // Thawed within the session timeout: the same session carries on.
      await expect(read).resolves.toBe('');
    } finally {
      await server.thaw();
    }
    expect(await server.mode()).toBe('standalone');
  });

  it('reports the server log when the server cannot start', async () => {
    // ZooKeeper rejects a max session timeout below the min.
    const attempt = ZooKeeperServer.start({ minSessionTimeoutMs: 5000, maxSessionTimeoutMs: 1000 });
    await expect(attempt).rejects.toThrow(/did not start: java exited early[\s\S]*last lines of/);
  });
});

describe('ZooKeeperEnsemble', () => {
  let ensemble: ZooKeeperEnsemble;
  let client: ZkTestClient | undefined;

  beforeAll(async () => {
    ensemble = await timed('3-node ensemble start', () => ZooKeeperEnsemble.start(3));
  });
  afterAll(async () => {
    await client?.close();
    await ensemble?.destroy();
  });

  it('survives losing its leader twice, and killed members rejoin', async () => {
    expect(ensemble.members).toHaveLength(3);
    expect(ensemble.connectString.split(',')).toHaveLength(3);
    const modes = await ensemble.modes();
    expect([...modes].sort()).toEqual(['follower', 'follower', 'leader']);

    // The C client waits sessionTimeout/3 before retrying after every server refused it
    // (they all drop clients during an election), so a shorter session means faster recovery.
    client = await ZkTestClient.connect(ensemble.connectString, { sessionTimeoutMs: 3000 });
    const zk = client;
    await zk.create('/before-failover', 'v0');
    await zk.create('/session-owned', 'up', { ephemeral: true });

    for (const round of [1, 2]) {
      const oldLeader = await ensemble.leader();
      await ensemble.kill(oldLeader);
      const newLeader = await timed(`leader failover ${round} (kill -9 until a new leader answers srvr)`, () => ensemble.leader());
      expect(newLeader).not.toBe(oldLeader);

      // The same session survives: ZooKeeper sessions outlive a server as long as the quorum does.
      await timed(`client write after failover ${round}`, () => retryOnConnectionLoss(() => zk.create(`/after-failover-${round}`, `v${round}`)));
      expect(await zk.get('/before-failover')).toBe('v0');
      expect(await zk.exists('/session-owned')).toBe(true);
      expect(zk.closed).toBe(false);

      await timed(`killed member restart ${round} (rejoin as follower)`, () => ensemble.restart(oldLeader));
      expect(await ensemble.members[oldLeader]!.mode()).toBe('follower');
    }

    // New sessions work too after all that churn.
    const fresh = await ZkTestClient.connect(ensemble.connectString);
    expect(await fresh.get('/after-failover-2')).toBe('v2');
    await fresh.close();
  });
});

describe('cleanup', () => {
  it('destroy() kills the JVM, even a frozen one, and removes the temp dir', async () => {
    const server = await ZooKeeperServer.start();
    const pid = server.pid!;
    expect(processAlive(pid)).toBe(true);
    expect(existsSync(path.join(server.dir, 'zookeeper.log'))).toBe(true);
    await server.freeze();
    await server.destroy();
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(server.dir)).toBe(false);
    await server.destroy(); // idempotent
    await expect(server.restart()).rejects.toThrow(/destroyed/);
  });

  it('the JVM dies with the Node process even when Node is SIGKILLed', async () => {
    // Run the harness in a child Node process (transpiled on the fly: it imports only built-ins),
    // SIGKILL that process so no exit hook can run, and check the watchdog still reaps the JVM.
    const work = await mkdtemp(path.join(os.tmpdir(), 'zk-harness-crash-'));
    const harnessSource = await readFile(fileURLToPath(new URL('../support/zookeeper-server.ts', import.meta.url)), 'utf8');
    const js = ts.transpileModule(harnessSource, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    await writeFile(path.join(work, 'zookeeper-server.mjs'), js);
    await writeFile(
      path.join(work, 'main.mjs'),
      `import { ZooKeeperServer } from './zookeeper-server.mjs';
       const server = await ZooKeeperServer.start();
       console.log(JSON.stringify({ pid: server.pid, dir: server.dir }));
       setInterval(() => {}, 1000);`,
    );
    const child = spawn(process.execPath, [path.join(work, 'main.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let jvm: { pid: number; dir: string } | undefined;
    try {
      jvm = JSON.parse(await firstLine(child.stdout!)) as { pid: number; dir: string };
      expect(processAlive(jvm.pid)).toBe(true);

      child.kill('SIGKILL');
      const pid = jvm.pid;
      const reaped = await timed('JVM gone after its Node parent was SIGKILLed', () => waitFor(() => !processAlive(pid), 5000));
      expect(reaped).toBe(true);
    } finally {
      child.kill('SIGKILL');
      if (jvm && processAlive(jvm.pid)) process.kill(jvm.pid, 'SIGKILL');
      if (jvm) await rm(jvm.dir, { recursive: true, force: true });
      await rm(work, { recursive: true, force: true });
    }
  });
});
