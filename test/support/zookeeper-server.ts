/**
 * Real ZooKeeper servers for integration tests: a standalone server ({@link ZooKeeperServer})
 * and a loopback ensemble ({@link ZooKeeperEnsemble}), both run from Debian's `zookeeper`
 * package (installed by scripts/install-deps.sh).
 *
 * Session timeouts: ZooKeeper clamps every requested session timeout into
 * [minSessionTimeout, maxSessionTimeout], which default to 2x and 20x tickTime. The default
 * tickTime here is 500 ms, so sessions may be as short as 1 s (fast expiry tests) and at most
 * 10 s. Pass `tickTimeMs` / `minSessionTimeoutMs` / `maxSessionTimeoutMs` to change that.
 *
 * No leaked JVMs: every java process is started under a tiny bash watchdog that holds the
 * read end of a pipe whose only write end lives in this Node process. When Node dies for any
 * reason (test crash, jest killing its worker, even SIGKILL) the pipe reaches EOF and the
 * watchdog SIGKILLs the JVM. A process 'exit' hook does the same as a belt-and-braces measure,
 * but it cannot be relied on under jest: jest gives each test file a copy of `process` whose
 * listeners never see the real process exit.
 *
 * No leaked client sockets: the same bash preamble closes every inherited fd, because the
 * `zookeeper` npm client's sockets are not close-on-exec (see CLOSE_INHERITED_FDS).
 *
 * This file deliberately imports only Node built-ins (no relative imports), so a test can
 * transpile it on its own and run it in a child process to prove the watchdog works.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface ZooKeeperServerOptions {
  /** ZooKeeper's basic time unit. Default 500 ms: short enough for quick session expiry. */
  tickTimeMs?: number;
  /** Lower bound for negotiated session timeouts. ZooKeeper's default is 2 x tickTime. */
  minSessionTimeoutMs?: number;
  /** Upper bound for negotiated session timeouts. ZooKeeper's default is 20 x tickTime. */
  maxSessionTimeoutMs?: number;
  /** How long start()/restart() wait for the server to answer `srvr` with a Mode. Default 30 s. */
  startTimeoutMs?: number;
  /** More zoo.cfg lines (e.g. a secure client port: test/support/zk-tls.ts). */
  extraConfig?: readonly string[];
  /** More jars on the server's classpath (Netty's codec for the secure port). */
  extraClasspath?: readonly string[];
}

/** Waits until /proc says the process is in `state` (e.g. 'T' = stopped); gives up after 2 s. */
async function waitForProcessState(pid: number, state: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline) {
    try {
      // Field 3 of /proc/<pid>/stat, after the parenthesised command name.
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === state) return;
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** What `srvr` reports in its `Mode:` line. */
export type ZooKeeperMode = 'standalone' | 'leader' | 'follower' | 'observer' | 'read-only';

const DEFAULT_TICK_MS = 500;
const DEFAULT_START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const PROBE_TIMEOUT_MS = 1_000;
const PROBE_INTERVAL_MS = 100;
const LOG_TAIL_LINES = 40;
const LOG_FILE = 'zookeeper.log';

/** Debian's jars; slf4j-simple is needed or the server logs nothing at all. Overridable for odd setups. */
const CLASSPATH = process.env.ZK_TEST_CLASSPATH ?? '/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar';

function javaBinary(): string {
  const home = process.env.JAVA_HOME;
  return home ? path.join(home, 'bin', 'java') : 'java';
}

/**
 * Test servers live for seconds: the C1-only JIT and serial GC start faster and use less memory.
 * Benchmarks set ZK_TEST_JVM=server to get a server-like JVM (full JIT, default GC, 1 GB heap),
 * or ZooKeeper itself would be the bottleneck they measure.
 */
function jvmTuning(): string[] {
  return process.env.ZK_TEST_JVM === 'server' ? ['-Xmx1g'] : ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];
}

function javaArgs(cfgPath: string, extraClasspath: readonly string[] = []): string[] {
  return [
    ...jvmTuning(),
    '-Djava.net.preferIPv4Stack=true',
    // Lets tests create TTL nodes (CreateMode.PERSISTENT_WITH_TTL), as some registries do.
    '-Dzookeeper.extendedTypesEnabled=true',
    '-cp',
    [CLASSPATH, ...extraClasspath].join(':'),
    'org.apache.zookeeper.server.quorum.QuorumPeerMain',
    cfgPath,
  ];
}

// ---------------------------------------------------------------------------------------------
// Free ports

/**
 * Returns `count` distinct free loopback ports. All listeners are held open until every port
 * is known, so the same port cannot be handed out twice within one call.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      servers.push(await listenOnRandomPort());
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

function listenOnRandomPort(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

// ---------------------------------------------------------------------------------------------
// Four-letter words

/** Sends a four-letter command and returns the full reply (the server closes after replying). */
export function fourLetterWord(port: number, command: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`${command}: no reply within ${timeoutMs} ms`)));
    socket.once('connect', () => socket.end(command));
    socket.on('data', (chunk: string) => (reply += chunk));
    socket.once('error', reject);
    socket.once('close', (hadError) => {
      if (!hadError) resolve(reply);
    });
  });
}

/** Parses the `Mode:` line of a `srvr` reply; undefined while the server is not serving. */
export function parseMode(srvrReply: string): ZooKeeperMode | undefined {
  const match = /^Mode: (\S+)/m.exec(srvrReply);
  return match ? (match[1] as ZooKeeperMode) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Process tracking and the watchdog

/**
 * bash script that first closes every inherited fd above 2. The `zookeeper` npm package's C
 * client opens its sockets without CLOEXEC, so without this a JVM started while a test client
 * is connected keeps a copy of that client's socket for its whole life. When the client later
 * closes the socket, epoll keeps reporting the still-open copy, the binding spins on empty
 * zookeeper_process() rounds and closes the handle as if the session had expired (measured:
 * every second leader failover, and fresh clients after a member restart, died that way).
 * (bash, not dash: dash cannot name fds above 9 in redirections.)
 */
export const CLOSE_INHERITED_FDS = 'for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done';

/**
 * Then runs "$@" (the java command) with the shell's own pid via exec, after forking a watchdog
 * that blocks reading fd 3 (the Node pipe). A line on the pipe means "JVM already gone, stand
 * down"; EOF means Node died, so the watchdog SIGKILLs the JVM ($$ is the JVM's pid after exec).
 * The JVM itself gets /dev/null as stdin and does not inherit fd 3.
 */
const WATCHDOG_SCRIPT = [
  CLOSE_INHERITED_FDS,
  'exec 3<&0',
  '( if ! read -r _ <&3; then kill -9 $$ 2>/dev/null; fi ) >/dev/null 2>&1 &',
  'exec "$@" </dev/null 3<&-',
].join('\n');

/** Every live JVM started by this module, killed synchronously on process exit as a last resort. */
const liveProcesses = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveProcesses) {
      if (child.pid !== undefined) trySignal(child.pid, 'SIGKILL');
    }
  });
}

function trySignal(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

/** One run of a JVM: from spawn to exit. */
class JvmProcess {
  readonly pid: number;
  /** Resolves with the exit code or signal once the JVM has exited and been reaped. */
  readonly exited: Promise<string>;
  private done = false;
  private frozen = false;

  constructor(private readonly child: ChildProcess) {
    if (child.pid === undefined) throw new Error('java did not start');
    this.pid = child.pid;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.done = true;
        liveProcesses.delete(child);
        this.releaseWatchdog();
        resolve(signal ?? `exit code ${code}`);
      });
    });
    liveProcesses.add(child);
    // A forgotten server must never keep the test runner alive; the watchdog reaps it instead.
    child.unref();
    (child.stdin as net.Socket | null)?.unref();
  }

  static spawn(cfgPath: string, logPath: string, extraClasspath?: readonly string[]): JvmProcess {
    installExitHook();
    // Output goes straight to a file: no pipe to drain, and it survives us for post-mortems.
    const logFd = openSync(logPath, 'a');
    try {
      const child = spawn('/bin/bash', ['-c', WATCHDOG_SCRIPT, 'zk-watchdog', javaBinary(), ...javaArgs(cfgPath, extraClasspath)], {
        stdio: ['pipe', logFd, logFd],
      });
      child.stdin?.on('error', () => undefined); // EPIPE if the watchdog is already gone
      return new JvmProcess(child);
    } finally {
      closeSync(logFd);
    }
  }

  get running(): boolean {
    return !this.done;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.done) return;
    trySignal(this.pid, signal);
    if (signal === 'SIGSTOP') this.frozen = true;
    if (signal === 'SIGCONT') this.frozen = false;
  }

  /** Sends `signal` (thawing first, or a stopped JVM would never act on it) and waits for exit. */
  async terminate(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    if (this.done) return;
    if (this.frozen && signal !== 'SIGKILL') this.signal('SIGCONT');
    this.signal(signal);
    const timedOut = await raceTimeout(this.exited, STOP_TIMEOUT_MS);
    if (timedOut) {
      this.signal('SIGKILL');
      await this.exited;
    }
  }

  private releaseWatchdog(): void {
    this.child.stdin?.end('\n');
  }
}

/** Resolves true if `ms` passed before `promise` settled. The timer is ref'd on purpose: it keeps Node alive while we wait. */
async function raceTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms)));
  try {
    return await Promise.race([promise.then(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function logTail(logPath: string, lines = LOG_TAIL_LINES): Promise<string> {
  try {
    const text = await readFile(logPath, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------------------------------------
// Configuration

/** Where and how one server runs; used by ZooKeeperEnsemble to lay out its members. */
export interface ServerLayout {
  dir: string;
  port: number;
  /** Present for ensemble members: this member's id and the `server.N=` lines of all members. */
  quorum?: { myid: number; serverLines: string[] };
  options: ZooKeeperServerOptions;
}

function zooCfg(layout: ServerLayout): string {
  const { options } = layout;
  const lines = [
    `tickTime=${options.tickTimeMs ?? DEFAULT_TICK_MS}`,
    'initLimit=10',
    'syncLimit=5',
    `dataDir=${path.join(layout.dir, 'data')}`,
    `clientPort=${layout.port}`,
    'clientPortAddress=127.0.0.1',
    'admin.enableServer=false',
    '4lw.commands.whitelist=*',
    // Test data need not survive a power cut; skipping fsync makes every write much faster.
    // Writes still reach the OS before being acknowledged, so kill -9 loses nothing.
    'forceSync=no',
  ];
  if (options.minSessionTimeoutMs !== undefined) lines.push(`minSessionTimeout=${options.minSessionTimeoutMs}`);
  if (options.maxSessionTimeoutMs !== undefined) lines.push(`maxSessionTimeout=${options.maxSessionTimeoutMs}`);
  if (layout.quorum) lines.push(...layout.quorum.serverLines);
  lines.push(...(options.extraConfig ?? []));
  return `${lines.join('\n')}\n`;
}

async function writeLayout(layout: ServerLayout): Promise<string> {
  const dataDir = path.join(layout.dir, 'data');
  await mkdir(dataDir, { recursive: true });
  if (layout.quorum) await writeFile(path.join(dataDir, 'myid'), `${layout.quorum.myid}\n`);
  const cfgPath = path.join(layout.dir, 'zoo.cfg');
  await writeFile(cfgPath, zooCfg(layout));
  return cfgPath;
}

function makeTempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'zk-test-'));
}

// ---------------------------------------------------------------------------------------------
// ZooKeeperServer

/** One ZooKeeper server process with its own temp dir (config, dataDir, log). */
export class ZooKeeperServer {
  readonly connectString: string;
  private jvm: JvmProcess | undefined;
  private destroyed = false;

  private constructor(
    readonly port: number,
    /** Temp dir holding zoo.cfg, data/ and zookeeper.log. Kept across stop/restart, removed by destroy(). */
    readonly dir: string,
    private readonly cfgPath: string,
    private readonly startTimeoutMs: number,
    private readonly extraClasspath: readonly string[] = [],
  ) {
    this.connectString = `127.0.0.1:${port}`;
  }

  /** Starts a standalone server on a free port with a fresh temp dataDir; resolves once it serves requests. */
  static async start(opts: ZooKeeperServerOptions = {}): Promise<ZooKeeperServer> {
    const [port] = await freePorts(1);
    const server = await ZooKeeperServer.prepare({ dir: await makeTempDir(), port: port!, options: opts });
    try {
      await server.launch();
    } catch (err) {
      await server.destroy();
      throw err;
    }
    return server;
  }

  /** Writes the config without starting anything (the ensemble starts its members together, then calls launch()). */
  static async prepare(layout: ServerLayout): Promise<ZooKeeperServer> {
    const cfgPath = await writeLayout(layout);
    const startTimeoutMs = layout.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    return new ZooKeeperServer(layout.port, layout.dir, cfgPath, startTimeoutMs, layout.options.extraClasspath);
  }

  get logPath(): string {
    return path.join(this.dir, LOG_FILE);
  }

  /** Pid of the running JVM, or undefined when stopped. */
  get pid(): number | undefined {
    return this.jvm?.running ? this.jvm.pid : undefined;
  }

  get running(): boolean {
    return this.jvm?.running ?? false;
  }

  /** Spawns the JVM and waits until `srvr` reports a Mode. Exposed for ZooKeeperEnsemble. */
  async launch(): Promise<void> {
    if (this.destroyed) throw new Error(`ZooKeeper ${this.connectString} was destroyed`);
    if (this.running) throw new Error(`ZooKeeper ${this.connectString} is already running`);
    const jvm = JvmProcess.spawn(this.cfgPath, this.logPath, this.extraClasspath);
    this.jvm = jvm;
    try {
      await this.waitUntilServing(jvm);
    } catch (err) {
      await jvm.terminate('SIGKILL');
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`ZooKeeper on port ${this.port} did not start: ${reason}\n--- last lines of ${this.logPath} ---\n${await logTail(this.logPath)}`);
    }
  }

  /**
   * `ruok` answers before the server accepts sessions (clients connecting right after it saw
   * dropped connections); `srvr` only prints a Mode line once requests are being served, and for
   * an ensemble member only once it has joined a quorum.
   */
  private async waitUntilServing(jvm: JvmProcess): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    let exitedWith: string | undefined;
    void jvm.exited.then((how) => (exitedWith = how));
    while (Date.now() < deadline) {
      if (exitedWith !== undefined) throw new Error(`java exited early (${exitedWith})`);
      if ((await this.mode()) !== undefined) return;
      await sleep(PROBE_INTERVAL_MS);
    }
    throw new Error(`not serving after ${this.startTimeoutMs} ms`);
  }

  /** The server's current Mode per `srvr`, or undefined if it is down, frozen or not serving. */
  async mode(timeoutMs = PROBE_TIMEOUT_MS): Promise<ZooKeeperMode | undefined> {
    try {
      return parseMode(await fourLetterWord(this.port, 'srvr', timeoutMs));
    } catch {
      return undefined;
    }
  }

  /** Graceful stop (SIGTERM, SIGKILL after 10 s). The dataDir is kept, so restart() keeps the data. */
  async stop(): Promise<void> {
    await this.jvm?.terminate('SIGTERM');
  }

  /** Crash: SIGKILL, no shutdown hooks. The dataDir is kept. */
  async kill(): Promise<void> {
    await this.jvm?.terminate('SIGKILL');
  }

  /** Stops the server if it is running, then starts it on the same port and dataDir and waits until it serves. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** SIGSTOP: the port still accepts TCP connections but nothing answers, like an unreachable host. */
  async freeze(): Promise<void> {
    this.requireRunning('freeze');
    this.jvm!.signal('SIGSTOP');
    // The signal is delivered asynchronously: without waiting, a request sent right after could
    // still be answered by a thread that had not stopped yet.
    await waitForProcessState(this.jvm!.pid, 'T');
  }

  /** SIGCONT: undoes freeze(). */
  async thaw(): Promise<void> {
    this.requireRunning('thaw');
    this.jvm!.signal('SIGCONT');
  }

  /** Kills the JVM if it is running and removes the temp dir. Safe to call twice. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }

  private requireRunning(action: string): void {
    if (!this.running) throw new Error(`cannot ${action} ZooKeeper ${this.connectString}: not running`);
  }
}

// ---------------------------------------------------------------------------------------------
// ZooKeeperEnsemble

/** A loopback ensemble: every member listens on its own client, peer and election ports. */
export class ZooKeeperEnsemble {
  /** All client addresses, comma separated, as applications would configure them. */
  readonly connectString: string;

  private constructor(readonly members: readonly ZooKeeperServer[]) {
    this.connectString = members.map((m) => m.connectString).join(',');
  }

  /** Starts `size` members together and resolves once all of them have joined the quorum. */
  static async start(size = 3, opts: ZooKeeperServerOptions = {}): Promise<ZooKeeperEnsemble> {
    const ports = await freePorts(size * 3);
    const serverLines = Array.from({ length: size }, (_, i) => `server.${i + 1}=127.0.0.1:${ports[3 * i + 1]}:${ports[3 * i + 2]}`);
    const members = await Promise.all(
      Array.from({ length: size }, async (_, i) =>
        ZooKeeperServer.prepare({
          dir: await makeTempDir(),
          port: ports[3 * i]!,
          quorum: { myid: i + 1, serverLines },
          options: opts,
        }),
      ),
    );
    const ensemble = new ZooKeeperEnsemble(members);
    // Members only serve once a quorum exists, so they must be launched concurrently.
    const results = await Promise.allSettled(members.map((m) => m.launch()));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      await ensemble.destroy();
      throw failure.reason;
    }
    return ensemble;
  }

  /** Index (into members) of the current leader; polls through elections for up to `timeoutMs`. */
  async leader(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const modes = await this.modes();
      const index = modes.indexOf('leader');
      if (index >= 0) return index;
      if (Date.now() >= deadline) throw new Error(`no leader after ${timeoutMs} ms (modes: ${modes.join(', ')})`);
      await sleep(PROBE_INTERVAL_MS);
    }
  }

  /** Every member's Mode (undefined for members that are down, frozen or out of quorum). */
  modes(): Promise<Array<ZooKeeperMode | undefined>> {
    return Promise.all(this.members.map((m) => m.mode()));
  }

  /** SIGKILLs member `index`. */
  async kill(index: number): Promise<void> {
    await this.member(index).kill();
  }

  /** (Re)starts member `index` on its ports and dataDir; resolves once it has rejoined the quorum. */
  async restart(index: number): Promise<void> {
    await this.member(index).restart();
  }

  async destroy(): Promise<void> {
    await Promise.all(this.members.map((m) => m.destroy()));
  }

  private member(index: number): ZooKeeperServer {
    const member = this.members[index];
    if (!member) throw new Error(`no ensemble member ${index} (size ${this.members.length})`);
    return member;
  }
}
