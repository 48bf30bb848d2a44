// A typed, narrow wrapper over one session of the official ZooKeeper C client (`zookeeper` npm
// package): connect, the three watched reads the registry needs, and session state events.
// One ZkConnection is one ZooKeeper session; after expiry it is dead and a new one is opened.
import { EventEmitter } from 'node:events';
import ZooKeeper from 'zookeeper';
import { accessSync, constants as fsConstants } from 'node:fs';
import type { ZkTlsConfig } from './tls-config.js';
import type { ZkDigestCredentials } from './credentials.js';

/** ZooKeeper result codes we act on. */
export const ZK_OK = 0;
export const ZK_NONODE = -101;
export const ZK_NODEEXISTS = -110;

/** Node kinds for {@link ZkConnection.create} (ZooKeeper's create flags). */
export const ZK_PERSISTENT = 0;
export const ZK_EPHEMERAL_SEQUENTIAL = 3;

const SESSION_EVENT = -1;
const RESPONSE_COUNTER_LIMIT = 1000;

/**
 * The ACL a node is created with: `open` is world:anyone with every permission (the binding's
 * only choice before zk-xds's patch); `creator-only` gives every permission to the identities the
 * session authenticated as (ZooKeeper's `auth` scheme), so it needs credentials on the session.
 */
export type ZkCreateAcl = 'open' | 'creator-only';

/** ZOO_PERM_ALL: read, write, create, delete, admin. */
const ZOO_PERM_ALL = 31;
/** ZooKeeper's CREATOR_ALL_ACL, in the shape the binding's ACL arrays take. */
const CREATOR_ALL_ACL: NativeAcl[] = [{ perm: ZOO_PERM_ALL, scheme: 'auth', auth: '' }];

export type WatchEventKind = 'created' | 'deleted' | 'changed' | 'child';

/** Called once when a watched node changes; session events are filtered out (the watch stays armed). */
export type WatchCallback = (kind: WatchEventKind, path: string) => void;

export interface ZkConnectionOptions {
  /** Connect string, optionally with a chroot: `host1:2181,host2:2181/chroot`. */
  readonly connect: string;
  readonly sessionTimeoutMs: number;
  /** Digest credentials, sent on every (re)connect of the session. */
  readonly auth?: ZkDigestCredentials;
  /** TLS with a client certificate; `connect` then names the servers' secure client ports. */
  readonly tls?: ZkTlsConfig;
}

export class ZkError extends Error {
  constructor(
    readonly code: number,
    readonly operation: string,
    readonly path: string,
    detail: string,
  ) {
    super(`${operation} ${path}: ${detail} (${code})`);
  }
}

/** The subset of the native handle we call; its bundled declarations are `any`-typed. */
interface NativeHandle {
  // Each returns the C client's result for queueing the request: not ZK_OK means the request was
  // refused (closed handle, bad path) and its callback will never run.
  aw_get(path: string, watch: NativeWatch, cb: (rc: number, err: string, stat: unknown, data: Buffer | null) => void): number;
  a_get(path: string, watch: boolean, cb: (rc: number, err: string, stat: unknown, data: Buffer | null) => void): number;
  aw_get_children2(path: string, watch: NativeWatch, cb: (rc: number, err: string, children: string[] | null, stat: unknown) => void): number;
  aw_exists(path: string, watch: NativeWatch, cb: (rc: number, err: string, stat: unknown) => void): number;
  add_auth(scheme: string, auth: string, cb: (rc: number, err: string) => void): number;
  a_create(path: string, data: Buffer | string, flags: number, cb: (rc: number, err: string, path: string) => void): number;
  /** Added by patches/zookeeper+7.3.0.patch (`create-acl`): a create with the given ACL. */
  a_create_acl?(path: string, data: Buffer | string, flags: number, acl: NativeAcl[], cb: (rc: number, err: string, path: string) => void): number;
  a_delete_(path: string, version: number, cb: (rc: number, err: string) => void): number;
}
type NativeWatch = (type: number, state: number, path: string) => void;
interface NativeAcl {
  perm: number;
  scheme: string;
  auth: string;
}

interface ZooKeeperClient extends EventEmitter {
  native: NativeHandle;
  readonly client_id: string;
  readonly client_password: string;
  readonly timeout: number;
  init(config: object): void;
  close(): void;
}

const EVENT_KIND: Record<number, WatchEventKind> = { 1: 'created', 2: 'deleted', 3: 'changed', 4: 'child' };

/**
 * Events: 'connected' (first connect and every reconnect within the session), 'disconnected'
 * (the client lost its server and is trying others; watches and ephemerals survive if it gets
 * back within the session timeout), 'expired' (the session is gone: make a new ZkConnection).
 */
export class ZkConnection extends EventEmitter {
  private readonly client: ZooKeeperClient;
  private readonly tlsCert: string | undefined;
  private dead = false;
  connected = false;

  private constructor(readonly options: ZkConnectionOptions) {
    super();
    const Client = ZooKeeper as unknown as new (config: object) => ZooKeeperClient;
    this.client = new Client({
      connect: options.connect,
      timeout: options.sessionTimeoutMs,
      // The C library otherwise logs to stderr, outside our structured logs.
      debug_level: 0,
      host_order_deterministic: false,
      data_as_buffer: true,
      // The binding counts consecutive partial socket reads and, past this limit (default 10),
      // closes the handle reporting session expiry. A large listing (a service with thousands of
      // instances) arrives in many partial reads, so the default fakes an expiry on every read.
      response_counter_limit: RESPONSE_COUNTER_LIMIT,
    });
    this.tlsCert = options.tls ? tlsCertArgument(options.tls) : undefined;
    this.client.on('connect', () => {
      this.connected = true;
      this.emit('connected');
    });
    this.client.on('connecting', () => {
      if (this.connected) {
        this.connected = false;
        this.emit('disconnected');
      }
    });
    this.client.on('close', () => {
      const wasDead = this.dead;
      this.dead = true;
      this.connected = false;
      if (!wasDead) this.emit('expired');
    });
  }

  /** Opens a session; resolves on the first connect, rejects after `timeoutMs` without one. */
  static open(options: ZkConnectionOptions, timeoutMs: number): Promise<ZkConnection> {
    let conn: ZkConnection;
    try {
      conn = new ZkConnection(options);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        conn.close();
        reject(
          new Error(
            `no ZooKeeper server answered within ${timeoutMs} ms${options.tls ? ' over TLS (check the CA, the client certificate and that connect names the secure client port)' : ''}`,
          ),
        );
      }, timeoutMs);
      conn.once('connected', () => {
        clearTimeout(timer);
        resolve(conn);
      });
      try {
        conn.client.init(conn.tlsCert === undefined ? {} : { tls_cert: conn.tlsCert });
      } catch (err) {
        // A binding built without OpenSSL refuses tls_cert.
        clearTimeout(timer);
        conn.dead = true;
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      // Straight to the native handle: the JS wrapper's add_auth formats its arguments (the
      // password) into a debug string. The C client queues it until connected and re-sends it
      // after every reconnect.
      if (options.auth) {
        conn.client.native.add_auth('digest', options.auth.reveal(), (rc) => {
          if (rc !== ZK_OK) conn.emit('auth-failed', rc);
        });
      }
    });
  }

  /**
   * The session's id, password and negotiated timeout. Tests use them to make ZooKeeper expire this
   * session on demand; never log the password (anyone holding it can take the session over).
   */
  sessionIdentity(): { id: string; password: string; timeoutMs: number } {
    return { id: this.client.client_id, password: this.client.client_password, timeoutMs: this.client.timeout };
  }

  get isDead(): boolean {
    return this.dead;
  }

  /**
   * Data of `path`, with a watch set by the same read when `onChange` is given (a watch is armed
   * only when the node exists); null when the node does not exist. `onMtime` is told the znode's
   * mtime (ZooKeeper's clock) before the promise resolves.
   */
  getData(path: string, onChange?: WatchCallback, onMtime?: (mtimeMs: number) => void): Promise<Buffer | null> {
    // The native handle directly: the JS wrapper formats a debug string on every call.
    return new Promise((resolve, reject) => {
      const done = (rc: number, err: string, stat: unknown, data: Buffer | null) => {
        if (rc === ZK_OK && onMtime) {
          // The znode's last modification time, on ZooKeeper's clock (epoch ms).
          // The binding hands it over as a Date (of its own realm: no instanceof).
          const mtime = (stat as { mtime?: { getTime?: () => number } | number } | null)?.mtime;
          if (typeof mtime === 'number') onMtime(mtime);
          else if (typeof mtime?.getTime === 'function') onMtime(mtime.getTime());
        }
        if (rc === ZK_OK) resolve(data ?? Buffer.alloc(0));
        else if (rc === ZK_NONODE) resolve(null);
        else reject(new ZkError(rc, 'get', path, err));
      };
      const rc = onChange ? this.client.native.aw_get(path, wrapWatch(onChange), done) : this.client.native.a_get(path, false, done);
      if (rc !== ZK_OK) reject(refused(rc, 'get', path));
    });
  }

  /** Children of `path` with a child watch set by the same read; null when the node does not exist. */
  getChildren(path: string, onChange: WatchCallback): Promise<string[] | null> {
    return new Promise((resolve, reject) => {
      const rc = this.client.native.aw_get_children2(path, wrapWatch(onChange), (rc, err, children) => {
        if (rc === ZK_OK) resolve(children ?? []);
        else if (rc === ZK_NONODE) resolve(null);
        else reject(new ZkError(rc, 'getChildren', path, err));
      });
      if (rc !== ZK_OK) reject(refused(rc, 'getChildren', path));
    });
  }

  /** Whether `path` exists, with a watch that also fires when it is created. */
  exists(path: string, onChange: WatchCallback): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const rc = this.client.native.aw_exists(path, wrapWatch(onChange), (rc, err) => {
        if (rc === ZK_OK) resolve(true);
        else if (rc === ZK_NONODE) resolve(false);
        else reject(new ZkError(rc, 'exists', path, err));
      });
      if (rc !== ZK_OK) reject(refused(rc, 'exists', path));
    });
  }

  /** Creates `path` (ZK_PERSISTENT or ZK_EPHEMERAL_SEQUENTIAL); resolves with the created path (sequential suffix included). */
  create(path: string, data: Buffer, flags: number, acl: ZkCreateAcl = 'open'): Promise<string> {
    return new Promise((resolve, reject) => {
      const done = (rc: number, err: string, created: string) => {
        if (rc === ZK_OK) resolve(created);
        else reject(new ZkError(rc, 'create', path, err));
      };
      const native = this.client.native;
      let rc: number;
      if (acl === 'open') rc = native.a_create(path, data, flags, done);
      else if (native.a_create_acl) rc = native.a_create_acl(path, data, flags, CREATOR_ALL_ACL, done);
      else {
        // Never fall back to an open node silently: the caller asked for it to be protected.
        reject(new ZkError(-8, 'create', path, 'the installed zookeeper addon cannot set ACLs at create: run node scripts/patch-zookeeper.mjs'));
        return;
      }
      if (rc !== ZK_OK) reject(refused(rc, 'create', path));
    });
  }

  /**
   * Creates every missing persistent node on the way to `path` (existing ones are fine, their ACL
   * unchanged). `path` itself gets `acl`; missing parents are open, as they may be shared with nodes
   * other clients create (e.g. /zk-xds/policy beside /zk-xds/leader).
   */
  async ensurePath(path: string, acl: ZkCreateAcl = 'open'): Promise<void> {
    const parts = path.split('/').filter(Boolean);
    let at = '';
    for (const [i, part] of parts.entries()) {
      at += `/${part}`;
      try {
        await this.create(at, Buffer.alloc(0), ZK_PERSISTENT, i === parts.length - 1 ? acl : 'open');
      } catch (err) {
        if (!(err instanceof ZkError && err.code === ZK_NODEEXISTS)) throw err;
      }
    }
  }

  /** Deletes `path` whatever its version; resolves false when it did not exist. */
  delete(path: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const rc = this.client.native.a_delete_(path, -1, (rc, err) => {
        if (rc === ZK_OK) resolve(true);
        else if (rc === ZK_NONODE) resolve(false);
        else reject(new ZkError(rc, 'delete', path, err));
      });
      if (rc !== ZK_OK) reject(refused(rc, 'delete', path));
    });
  }

  close(): void {
    if (this.dead) return;
    this.dead = true;
    this.connected = false;
    this.client.close();
  }
}

/**
 * The C client's TLS argument: "ca,cert,key" (PEM paths). It reads the files at each connect and
 * only says "no server answered" when one is missing, so they are checked here first.
 */
function tlsCertArgument(tls: ZkTlsConfig): string {
  for (const [what, file] of [
    ['CA', tls.caFile],
    ['client certificate', tls.certFile],
    ['client key', tls.keyFile],
  ] as const) {
    if (file.includes(',')) throw new Error(`ZooKeeper TLS ${what} file ${file}: a comma in the path is not supported`);
    try {
      accessSync(file, fsConstants.R_OK);
    } catch (err) {
      throw new Error(`ZooKeeper TLS ${what} file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  return `${tls.caFile},${tls.certFile},${tls.keyFile}`;
}

/** A request the C client refused to queue (its callback never runs): fail the call now. */
function refused(rc: number, operation: string, path: string): ZkError {
  return new ZkError(rc, operation, path, 'refused by the ZooKeeper client (session closed or bad path)');
}

function wrapWatch(onChange: WatchCallback): NativeWatch {
  let target: WatchCallback | null = onChange;
  return (type, _state, path) => {
    // Session events reach every outstanding watch on disconnects; the watch itself stays armed
    // and fires again for the real change, so these are ignored.
    if (type === SESSION_EVENT || !target) return;
    const kind = EVENT_KIND[type];
    if (!kind) return;
    const fire = target;
    // One-shot: let go of the callback (and the mirror its closure holds) even if the binding
    // keeps this function (an unpatched binding never frees it: see patches/README.md).
    target = null;
    fire(kind, path);
  };
}
