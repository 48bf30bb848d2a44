/**
 * A small, typed ZooKeeper client for tests that write service registrations the way
 * applications do (persistent parents, ephemeral or sequential instance nodes).
 *
 * It wraps the `zookeeper` npm package (the official C client binding), whose TypeScript
 * declarations are mostly `any` and partly wrong (client_id is declared a number but is a hex
 * string). Only the calls used here are described, in {@link NativeClient}.
 *
 * Caveat for anyone spawning processes in tests: the binding's sockets are not close-on-exec, so a
 * long-lived child started while a client is connected must close inherited fds (prefix its
 * bash script with CLOSE_INHERITED_FDS from zookeeper-server.ts), or that client will later
 * "expire" spuriously.
 */
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import ZooKeeper from 'zookeeper';

/** The parts of the binding's stat object tests care about. */
export interface ZkStat {
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  numChildren: number;
  dataLength: number;
  /** Session id (hex) of the owner for ephemeral nodes, "0" for persistent ones. */
  ephemeralOwner: string;
}

export interface ZkNode {
  data: Buffer;
  stat: ZkStat;
}

export interface ConnectOptions {
  /** Requested session timeout; the server clamps it into its [min, max] range. Default 4000 ms. */
  sessionTimeoutMs?: number;
  /** How long to wait for the session to be established. Default 10 s. */
  connectTimeoutMs?: number;
}

export interface CreateOptions {
  ephemeral?: boolean;
  sequential?: boolean;
  /** Creates a TTL node (persistent only; needs the server's extendedTypesEnabled, which our test servers set). */
  ttlMs?: number;
}

/** How a client's session ended: `code` 0 for close(), -112 (ZSESSIONEXPIRED) for expiry. */
export interface ZkCloseInfo {
  code: number;
  expired: boolean;
}

/** Error from a ZooKeeper call, carrying the numeric ZooKeeper return code (ZK_ERRORS). */
export class ZkError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ZkError';
  }
}

/** ZooKeeper return codes that tests commonly branch on. */
export const ZK_ERRORS = {
  CONNECTIONLOSS: -4,
  OPERATIONTIMEOUT: -7,
  INVALIDSTATE: -9,
  NONODE: -101,
  NODEEXISTS: -110,
  NOTEMPTY: -111,
  NOAUTH: -102,
  SESSIONEXPIRED: -112,
} as const;

// Generous: on a loaded 2-core CI machine (JVM registrars starting, ZooKeeper servers, two jest
// workers) a 4 s session expired mid-setup (ZINVALIDSTATE). Tests that need an expiry force it.
const DEFAULT_SESSION_TIMEOUT_MS = 15_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// The binding, as actually used

interface NativeConfig {
  connect: string;
  timeout: number;
  debug_level: number;
  host_order_deterministic: boolean;
  response_counter_limit: number;
  /** Both set: resume an existing session instead of creating one. */
  client_id?: string;
  client_password?: string;
}

interface NativeClient {
  /** Session id as a hex string (the binding's declarations wrongly say number). */
  readonly client_id: string;
  /** Session password as a 32-char hex string. */
  readonly client_password: string;
  /** Negotiated session timeout in ms once connected. */
  readonly timeout: number;
  init(config: Partial<NativeConfig>): unknown;
  close(): unknown;
  once(event: 'connect', listener: () => void): unknown;
  on(event: 'close', listener: (self: unknown, code: number) => void): unknown;
  create(path: string, data: string | Buffer, flags: number, ttl?: number): Promise<string>;
  exists(path: string, watch: boolean): Promise<ZkStat>;
  get(path: string, watch: boolean): Promise<[ZkStat, Buffer | null]>;
  get_children(path: string, watch: boolean): Promise<string[]>;
  set(path: string, data: string | Buffer, version: number): Promise<ZkStat>;
  delete_(path: string, version: number): Promise<unknown>;
  set_acl(path: string, version: number, acl: Array<{ perms: number; scheme: string; auth: string }>): Promise<unknown>;
  get_acl(path: string): Promise<[ZkAclEntry[], ZkStat]>;
  add_auth(scheme: string, auth: string, cb: (rc: number, err: string) => void): number;
}

/** One entry of a node's ACL as the binding reports it (`auth` is the id: `user:base64(sha1)` for digest). */
export interface ZkAclEntry {
  perms: number;
  scheme: string;
  auth: string;
}

const FLAGS = ZooKeeper.constants;

function newNativeClient(config: NativeConfig): NativeClient {
  return new ZooKeeper(config) as unknown as NativeClient;
}

/**
 * The binding rejects with plain Errors: "-101 no node" from the server, or
 * `fn: "a_get" args: "..." result: "ZINVALIDSTATE -9"` when the handle is unusable.
 */
function toZkError(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof ZkError) return err;
  const match = /^(-\d+) /.exec(err.message) ?? /(-\d+)"$/.exec(err.message);
  return match ? new ZkError(Number(match[1]), err.message) : err;
}

async function call<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw toZkError(err);
  }
}

export function isZkError(err: unknown, code: number): err is ZkError {
  return err instanceof ZkError && err.code === code;
}

function createFlags(opts: CreateOptions): number {
  if (opts.ttlMs !== undefined) {
    if (opts.ephemeral) throw new Error('TTL nodes cannot be ephemeral');
    return opts.sequential ? FLAGS.ZOO_PERSISTENT_SEQUENTIAL_WITH_TTL : FLAGS.ZOO_PERSISTENT_WITH_TTL;
  }
  return (opts.ephemeral ? FLAGS.ZOO_EPHEMERAL : 0) | (opts.sequential ? FLAGS.ZOO_SEQUENCE : 0);
}

/** Opens a session; on timeout the half-open handle is closed so it cannot linger. */
function openSession(config: NativeConfig, connectTimeoutMs: number): Promise<NativeClient> {
  const native = newNativeClient(config);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no ZooKeeper session with ${config.connect} within ${connectTimeoutMs} ms`));
      native.close();
    }, connectTimeoutMs);
    native.once('connect', () => {
      clearTimeout(timer);
      resolve(native);
    });
    // The binding may give up on its own (see RESPONSE_COUNTER_LIMIT): fail now, not at the timeout.
    native.on('close', (_self, code) => {
      clearTimeout(timer);
      reject(new Error(`ZooKeeper handle for ${config.connect} closed (code ${code}) before a session was established`));
    });
    native.init({});
  });
}

/**
 * Code after `await client.op()` runs inside the C library's zookeeper_process() (promise
 * continuations are drained before the binding's callback returns). A zookeeper_close() from
 * there is only *deferred* by the C library, and the binding drops the handle anyway, so the
 * closeSession request is never sent: the session and its ephemeral nodes linger until the
 * session times out. Measured: `await zk.create(eph); zk.close()` left the node behind 100% of
 * the time. Yielding to the event loop first makes close() immediate and reliable.
 */
function leaveNativeCallback(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The binding closes the handle with code -112 (indistinguishable from a real session expiry)
 * after `response_counter_limit` consecutive empty zookeeper_process() rounds, default 10
 * (node-zookeeper issues #221/#233). Large replies produce such rounds: with the default, reading
 * a 20,000-child listing (~2 MB) plus a 900 KB node killed the handle within two rounds; with
 * 1000 it survived every round. A real spin still ends the handle quickly.
 */
const RESPONSE_COUNTER_LIMIT = 1_000;

function nativeConfig(connectString: string, sessionTimeoutMs: number): NativeConfig {
  return {
    connect: connectString,
    timeout: sessionTimeoutMs,
    debug_level: 0, // otherwise the C library logs every state change to stderr
    host_order_deterministic: false,
    response_counter_limit: RESPONSE_COUNTER_LIMIT,
  };
}

// ---------------------------------------------------------------------------------------------
// ZkTestClient

export class ZkTestClient {
  private closeInfo: ZkCloseInfo | undefined;
  private readonly closedPromise: Promise<ZkCloseInfo>;

  private constructor(
    private readonly native: NativeClient,
    readonly connectString: string,
  ) {
    this.closedPromise = new Promise((resolve) => {
      // The binding emits 'close' both for close() (code 0) and for session expiry (-112);
      // after either the handle is dead and every call fails with ZINVALIDSTATE.
      native.on('close', (_self, code) => {
        this.closeInfo = { code, expired: code === ZK_ERRORS.SESSIONEXPIRED };
        resolve(this.closeInfo);
      });
    });
  }

  static async connect(connectString: string, opts: ConnectOptions = {}): Promise<ZkTestClient> {
    const config = nativeConfig(connectString, opts.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS);
    const native = await openSession(config, opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    return new ZkTestClient(native, connectString);
  }

  /** Session id in hex, as ZooKeeper logs it and as `ephemeralOwner` reports it. */
  get sessionId(): string {
    return this.native.client_id;
  }

  /** Session password (hex); with sessionId, enough to attach another handle to this session. */
  get sessionPassword(): string {
    return this.native.client_password;
  }

  /** Session timeout the server granted (after clamping to its min/max). */
  get negotiatedSessionTimeoutMs(): number {
    return this.native.timeout;
  }

  /** True once the session was closed or expired; the handle cannot be used any more. */
  get closed(): boolean {
    return this.closeInfo !== undefined;
  }

  /** Resolves when the session ends (close() or expiry). */
  whenClosed(): Promise<ZkCloseInfo> {
    return this.closedPromise;
  }

  /** Creates every missing node along `path` as an empty persistent node. */
  async mkdirp(path: string): Promise<void> {
    let prefix = '';
    for (const segment of path.split('/').filter(Boolean)) {
      prefix += `/${segment}`;
      try {
        await call(() => this.native.create(prefix, '', 0));
      } catch (err) {
        if (!isZkError(err, ZK_ERRORS.NODEEXISTS)) throw err;
      }
    }
  }

  /** Creates a node and returns its actual path (which has a counter suffix when sequential). */
  create(path: string, data: string | Buffer = '', opts: CreateOptions = {}): Promise<string> {
    const flags = createFlags(opts);
    return call(() => this.native.create(path, data, flags, opts.ttlMs));
  }

  /** Unconditional write (any version). */
  async set(path: string, data: string | Buffer): Promise<ZkStat> {
    return call(() => this.native.set(path, data, -1));
  }

  /** Data as UTF-8 text. */
  async get(path: string): Promise<string> {
    return (await this.getNode(path)).data.toString('utf8');
  }

  /** Raw data plus stat (e.g. ephemeralOwner, version). */
  async getNode(path: string): Promise<ZkNode> {
    const [stat, data] = await call(() => this.native.get(path, false));
    return { stat, data: data ?? Buffer.alloc(0) };
  }

  async exists(path: string): Promise<boolean> {
    try {
      await call(() => this.native.exists(path, false));
      return true;
    } catch (err) {
      if (isZkError(err, ZK_ERRORS.NONODE)) return false;
      throw err;
    }
  }

  /** Child names (not paths), sorted so tests can compare them directly. */
  async children(path: string): Promise<string[]> {
    const names = await call(() => this.native.get_children(path, false));
    return [...names].sort();
  }

  /**
   * Sets a node's ACL to one `world:anyone` entry with `perms` (ZooKeeper.constants.ZOO_PERM_*):
   * e.g. everything but READ, to make ZooKeeper refuse a reader (NoAuth) without credentials.
   */
  async setWorldPerms(path: string, perms: number): Promise<void> {
    await call(() => this.native.set_acl(path, -1, [{ perms, scheme: 'world', auth: 'anyone' }]));
  }

  /** Adds digest credentials (`user:password`) to the session, as an application with an ACL'd tree would. */
  async addDigestAuth(userPassword: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const rc = this.native.add_auth('digest', userPassword, (code, err) => (code === 0 ? resolve() : reject(new ZkError(code, `add_auth: ${err}`))));
      if (rc !== 0) reject(new ZkError(rc, 'add_auth refused'));
    });
  }

  /** The node's ACL (reading it needs READ or ADMIN on the node). */
  async acl(path: string): Promise<ZkAclEntry[]> {
    const [acl] = await call(() => this.native.get_acl(path));
    return acl.map((e) => ({ perms: e.perms, scheme: e.scheme, auth: e.auth }));
  }

  /** Deletes a node (any version); a missing node is not an error. */
  async remove(path: string): Promise<void> {
    try {
      await call(() => this.native.delete_(path, -1));
    } catch (err) {
      if (!isZkError(err, ZK_ERRORS.NONODE)) throw err;
    }
  }

  /**
   * Deletes a subtree, children first. Retries when a child appears meanwhile (registrations
   * written concurrently by the code under test). A missing node is not an error.
   */
  async removeRecursive(path: string, attempts = 5): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let names: string[];
      try {
        names = await this.children(path);
      } catch (err) {
        if (isZkError(err, ZK_ERRORS.NONODE)) return;
        throw err;
      }
      const prefix = path === '/' ? '' : path;
      for (const name of names) await this.removeRecursive(`${prefix}/${name}`, attempts);
      if (path === '/') return; // the root itself cannot be deleted
      try {
        await this.remove(path);
        return;
      } catch (err) {
        if (!isZkError(err, ZK_ERRORS.NOTEMPTY) || attempt >= attempts) throw err;
      }
    }
  }

  /** Closes the session: the server deletes its ephemeral nodes at once. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    await leaveNativeCallback();
    if (this.closed) return;
    this.native.close();
    await this.closedPromise;
  }
}

// ---------------------------------------------------------------------------------------------
// Session expiry on demand

export interface ExpireOptions {
  /** Wait until `client` itself has seen the expiry (its 'close' with ZSESSIONEXPIRED). Default true. */
  waitForClient?: boolean;
  /** Default 10 s. */
  timeoutMs?: number;
}

/**
 * Run by expireSession() in a child Node process: attach to the session given by id and password,
 * then close it, which makes the server end the session (deleting its ephemeral nodes).
 * Exit codes: 0 done, 2 could not attach, 3 the session was already gone.
 */
const TWIN_SCRIPT = `
const [dir, connect, id, password, timeout] = process.argv.slice(1);
const ZooKeeper = require(require.resolve('zookeeper', { paths: [dir] }));
const zk = new ZooKeeper({ connect, timeout: Number(timeout), debug_level: 0, host_order_deterministic: false,
                           response_counter_limit: 1000, client_id: id, client_password: password });
const timer = setTimeout(() => { console.error('could not attach to the session'); process.exit(2); }, Number(timeout));
zk.on('close', (_self, code) => { if (code !== 0) { console.error('session already ended: ' + code); process.exit(3); } });
// Close outside the binding's callback, or the C library defers it and never sends closeSession.
zk.once('connect', () => setImmediate(() => { zk.close(); clearTimeout(timer); process.exit(0); }));
zk.init({});
`;

/**
 * Makes ZooKeeper expire `client`'s session now, with the classic trick: a second handle attaches
 * to the same session (id + password, which the binding exposes as client_id/client_password)
 * and closes it; the server ends the session and deletes its ephemeral nodes; the original
 * handle reconnects, is told the session expired, and emits 'close' with ZSESSIONEXPIRED.
 *
 * The second handle runs in a child process started with spawnSync, which blocks this event
 * loop on purpose. Done in-process, the original handle (driven by the same loop) notices that
 * the server moved its session, reconnects within a millisecond and steals the session back
 * before the twin's closeSession is processed: in measurements about half the attempts left the
 * session alive. With our loop blocked the original cannot reconnect until the session is gone.
 */
export async function expireSession(client: ZkTestClient, opts: ExpireOptions = {}): Promise<void> {
  if (client.closed) throw new Error('cannot expire a session that already ended');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const args = [
    dirname(fileURLToPath(import.meta.url)),
    client.connectString,
    client.sessionId,
    client.sessionPassword,
    String(Math.min(timeoutMs, client.negotiatedSessionTimeoutMs)),
  ];
  // The child inherits our client sockets (the C client does not set CLOEXEC); harmless here,
  // as we are blocked and close nothing until it has exited and released them.
  const twin = spawnSync(process.execPath, ['-e', TWIN_SCRIPT, ...args], { encoding: 'utf8', timeout: timeoutMs });
  if (twin.status !== 0) {
    throw new Error(`expireSession failed (${twin.error?.message ?? `exit ${twin.status}`}): ${twin.stderr.trim()}`);
  }
  if (opts.waitForClient === false) return;
  const info = await withTimeout(client.whenClosed(), timeoutMs, 'client did not observe its session expiry');
  if (!info.expired) throw new Error(`client session ended with code ${info.code}, not expiry`);
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
