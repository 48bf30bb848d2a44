// An in-memory ZooKeeper tree behind the read side of ZkConnection (getChildren, getData, exists,
// isDead, 'connected'/'expired' events), for unit tests of the code that mirrors trees. Watches
// behave as ZooKeeper's: set by the read that asks for them (getData and getChildren only on an
// existing node, exists on any), one-shot, delivered after the change that fires them. Tests can
// hold reads to order a read against changes, fail reads with a ZooKeeper error code, and count
// the watches armed per znode.
import { EventEmitter } from 'node:events';
import { ZkError, type WatchCallback, type WatchEventKind, type ZkConnection } from '../../src/registry/zk-connection.js';

interface Node {
  data: Buffer;
  readonly children: Set<string>;
}

type WatchKind = 'data' | 'child' | 'exists';

export class FakeZkConnection extends EventEmitter {
  private readonly nodes = new Map<string, Node>([['/', { data: Buffer.alloc(0), children: new Set() }]]);
  private readonly watches: Record<WatchKind, Map<string, WatchCallback[]>> = { data: new Map(), child: new Map(), exists: new Map() };
  private held: Array<() => void> | null = null;
  private failures: number[] = [];
  dead = false;
  /** Every read, as `op path`, in the order asked. */
  readonly reads: string[] = [];

  /** The fake as the ZkConnection the code under test takes (it uses only the read side). */
  asConnection(): ZkConnection {
    return this as unknown as ZkConnection;
  }

  get isDead(): boolean {
    return this.dead;
  }

  // ---- the read side, as ZkConnection offers it -------------------------------------------------

  getData(path: string, onChange?: WatchCallback): Promise<Buffer | null> {
    return this.read('getData', path, () => {
      const node = this.nodes.get(path);
      if (node && onChange) this.arm('data', path, onChange);
      return node ? node.data : null;
    });
  }

  getChildren(path: string, onChange: WatchCallback): Promise<string[] | null> {
    return this.read('getChildren', path, () => {
      const node = this.nodes.get(path);
      if (node) this.arm('child', path, onChange);
      return node ? [...node.children] : null;
    });
  }

  exists(path: string, onChange: WatchCallback): Promise<boolean> {
    return this.read('exists', path, () => {
      this.arm('exists', path, onChange);
      return this.nodes.has(path);
    });
  }

  // ---- what a test does to the tree -------------------------------------------------------------

  /** Creates a node (and any missing parents, as mkdirp), firing watches as ZooKeeper would. */
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

  /** Reads wait (in order) until the returned release is called; they see the tree as it is then. */
  holdReads(): () => void {
    this.held = [];
    return () => {
      const queued = this.held ?? [];
      this.held = null;
      for (const run of queued) run();
    };
  }

  /** The next `count` reads fail with ZooKeeper error `code` (e.g. -4, connection loss). */
  failReads(count: number, code: number): void {
    for (let i = 0; i < count; i++) this.failures.push(code);
  }

  /** Watches armed and not fired yet on `path`, of one kind. */
  armedWatches(kind: WatchKind, path: string): number {
    return this.watches[kind].get(path)?.length ?? 0;
  }

  // ---- internals ------------------------------------------------------------------------------

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

  private fire(kind: WatchKind, path: string, event: WatchEventKind): void {
    const list = this.watches[kind].get(path);
    if (!list) return;
    this.watches[kind].delete(path);
    // Delivered after the change, as the server's notification is.
    setImmediate(() => {
      for (const cb of list) cb(event, path);
    });
  }
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
