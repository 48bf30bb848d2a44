// An in-memory ZooKeeper for unit tests of the code that mirrors trees: FakeZkTree is the server's
// data, FakeZkConnection a session on it with the read side of ZkConnection (getChildren, getData,
// exists, isDead, connected, close, and its 'connected' / 'disconnected' / 'expired' events).
// Watches behave as ZooKeeper's: per session, set by the read that asks for them (getData and
// getChildren only on an existing node, exists on any), one-shot, delivered after the change that
// fires them. Tests can hold reads to order a read against changes, fail reads with a ZooKeeper
// error code, and count the watches a session has armed per znode.
import { EventEmitter } from 'node:events';
import { ZkError, type WatchCallback, type WatchEventKind, type ZkConnection } from '../../src/zookeeper/connection.js';

interface Node {
  data: Buffer;
  readonly children: Set<string>;
}

type WatchKind = 'data' | 'child' | 'exists';

/** The tree every session reads; changes fire the watches of every live session. */
export class FakeZkTree {
  readonly nodes = new Map<string, Node>([['/', { data: Buffer.alloc(0), children: new Set() }]]);
  readonly sessions = new Set<FakeZkConnection>();

  /** Creates a node (and any missing parents, as mkdirp). */
  create(path: string, data: string | Buffer = ''): void {
    const parent = parentOf(path);
    if (!this.nodes.has(parent)) this.create(parent);
    if (this.nodes.has(path)) throw new Error(`fake zk: ${path} exists`);
    this.nodes.set(path, { data: Buffer.from(data), children: new Set() });
    this.nodes.get(parent)!.children.add(nameOf(path));
    this.fire('exists', path, 'created');
    this.fire('child', parent, 'child');
  }

  set(path: string, data: string | Buffer): void {
    const node = this.nodes.get(path);
    if (!node) throw new Error(`fake zk: no ${path}`);
    node.data = Buffer.from(data);
    this.fire('data', path, 'changed');
    this.fire('exists', path, 'changed');
  }

  /** Deletes a node and everything under it. */
  remove(path: string): void {
    const node = this.nodes.get(path);
    if (!node) throw new Error(`fake zk: no ${path}`);
    for (const c of [...node.children]) this.remove(`${path === '/' ? '' : path}/${c}`);
    this.nodes.delete(path);
    this.nodes.get(parentOf(path))?.children.delete(nameOf(path));
    for (const kind of ['data', 'child', 'exists'] as const) this.fire(kind, path, 'deleted');
    this.fire('child', parentOf(path), 'child');
  }

  private fire(kind: WatchKind, path: string, event: WatchEventKind): void {
    for (const s of this.sessions) s.fire(kind, path, event);
  }
}

export class FakeZkConnection extends EventEmitter {
  private readonly watches: Record<WatchKind, Map<string, WatchCallback[]>> = { data: new Map(), child: new Map(), exists: new Map() };
  private held: Array<() => void> | null = null;
  private readonly failures: number[] = [];
  private dead = false;
  /** Every read, as `op path`, in the order asked. */
  readonly reads: string[] = [];

  constructor(readonly tree: FakeZkTree = new FakeZkTree()) {
    super();
    tree.sessions.add(this);
  }

  /** The fake as the ZkConnection the code under test takes (it uses only what is above). */
  asConnection(): ZkConnection {
    return this as unknown as ZkConnection;
  }

  get isDead(): boolean {
    return this.dead;
  }

  get connected(): boolean {
    return !this.dead;
  }

  close(): void {
    this.dead = true;
    this.tree.sessions.delete(this);
  }

  /** The session expires: its handle is dead (as a real one after -112) and says so. */
  expire(): void {
    this.close();
    this.emit('expired');
  }

  // ---- the read side, as ZkConnection offers it -------------------------------------------------

  getData(path: string, onChange?: WatchCallback): Promise<Buffer | null> {
    return this.read('getData', path, () => {
      const node = this.tree.nodes.get(path);
      if (node && onChange) this.arm('data', path, onChange);
      return node ? node.data : null;
    });
  }

  getChildren(path: string, onChange: WatchCallback): Promise<string[] | null> {
    return this.read('getChildren', path, () => {
      const node = this.tree.nodes.get(path);
      if (node) this.arm('child', path, onChange);
      return node ? [...node.children] : null;
    });
  }

  exists(path: string, onChange: WatchCallback): Promise<boolean> {
    return this.read('exists', path, () => {
      this.arm('exists', path, onChange);
      return this.tree.nodes.has(path);
    });
  }

  // ---- shorthands for the tree, and what a test controls of this session ------------------------

  create(path: string, data: string | Buffer = ''): void {
    this.tree.create(path, data);
  }

  set(path: string, data: string | Buffer): void {
    this.tree.set(path, data);
  }

  remove(path: string): void {
    this.tree.remove(path);
  }

  /** Reads wait (in order) until the returned release is called; they see the tree as it is then. */
  holdReads(): () => void {
    this.held = [];
    return () => {
      const queued = this.held ?? [];
      this.held = null;
      for (const run of queued) run();
    };
  }

  /** The next `count` reads fail with ZooKeeper error `code` (e.g. -4 connection loss, -102 NoAuth). */
  failReads(count: number, code: number): void {
    for (let i = 0; i < count; i++) this.failures.push(code);
  }

  /** Watches armed and not fired yet on `path`, of one kind. */
  armedWatches(kind: WatchKind, path: string): number {
    return this.watches[kind].get(path)?.length ?? 0;
  }

  /** Called by the tree: fires this session's watches of `kind` on `path` (after the change). */
  fire(kind: WatchKind, path: string, event: WatchEventKind): void {
    const list = this.watches[kind].get(path);
    if (!list) return;
    this.watches[kind].delete(path);
    setImmediate(() => {
      for (const cb of list) cb(event, path);
    });
  }

  private read<T>(op: string, path: string, answer: () => T): Promise<T> {
    this.reads.push(`${op} ${path}`);
    return new Promise((resolve, reject) => {
      const run = () => {
        const code = this.failures.shift();
        if (code !== undefined) reject(new ZkError(code, op, path, 'injected failure'));
        else resolve(answer());
      };
      if (this.held) this.held.push(run);
      else setImmediate(run);
    });
  }

  private arm(kind: WatchKind, path: string, cb: WatchCallback): void {
    const list = this.watches[kind].get(path) ?? [];
    list.push(cb);
    this.watches[kind].set(path, list);
  }
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
