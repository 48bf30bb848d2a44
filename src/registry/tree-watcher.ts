// Mirrors `<root>/<service>/<instance>` of one ZooKeeper session in memory with one-shot watches.
// Under a Dubbo 2 root the instances sit one level lower, at `<root>/<interface>/providers/<url>`
// (see TreeLayout); consumers, routers and configurators beside `providers` are never read.
//
// Every read sets its watch in the same request (getChildren/getData with a watcher), so no change
// can slip between a read and its watch; when a watch fires, the node is read again, which both
// picks up the change and re-arms the watch. Nodes may appear and vanish at any level at any time.
import { ZkError, type ZkConnection } from '../zookeeper/connection.js';
import { readWithRetry } from '../zookeeper/retry.js';
import { changeOrigin, notificationDelayMs } from './change-origin.js';

export interface InstanceRecord<P> {
  readonly data: Buffer;
  readonly parsed: P;
}

export interface TreeWatcherHooks<P> {
  /** Parses an instance's data once per new value; `dubbo` says it is a Dubbo 2 provider znode. */
  parse(service: string, child: string, data: Buffer, dubbo: boolean): P;
  /**
   * A service's mirrored instances changed (added, removed, new data, or the service vanished).
   * `origin` (performance.now() clock, see change-origin.ts): when the change came to exist, for
   * changes seen through a watch event; undefined for what a first read found.
   */
  onServiceChanged(service: string, origin?: number): void;
  /** A read failed for a reason other than "no node" (it is retried). */
  onReadError(err: ZkError | Error, path: string): void;
  onWatchEvent(kind: 'root' | 'service' | 'instance'): void;
  /** A watched znode's new data was read: ms from its write (mtime) to the watch event. */
  onNotificationDelay?(ms: number): void;
}

/**
 * `flat`: instances are the service node's children (Curator, Spring Cloud, Dubbo 3, JSON, host:port).
 * `dubbo`: instances are the children of `<service>/providers` (Dubbo 2 interface-level).
 * `auto`: per service: `dubbo` when the service node has a Dubbo category child, else `flat`.
 */
export type TreeLayout = 'flat' | 'dubbo' | 'auto';

/** Children Dubbo 2 writes under an interface node; any of them marks a Dubbo interface. */
const DUBBO_CATEGORIES = new Set(['providers', 'consumers', 'routers', 'configurators']);
/** Dubbo's own bookkeeping trees beside the interfaces under `/dubbo`: not services. */
const DUBBO_NON_SERVICES = new Set(['config', 'mapping', 'metadata']);
const PROVIDERS = '/providers';

class ServiceMirror<P> {
  readonly instances = new Map<string, InstanceRecord<P>>();
  children = new Set<string>();
  /** '' when instances are the service node's children, '/providers' for a Dubbo interface. */
  subpath = '';
  /** Instances with a read in flight (whose watch is therefore being armed). */
  readonly reading = new Set<string>();
  /**
   * Instance znodes (full paths) holding a data watch of ours that has not fired yet. A znode gets
   * at most one: a listing that raced a delete and re-create reads a child again while its watch
   * is armed, and a second watch would fire with the first and be re-armed with it forever (the
   * duplicates piled up with churn: 523 watches became 616 in five rounds of one session).
   */
  readonly armed = new Map<string, ArmedWatch>();
}

interface ArmedWatch {
  fired: boolean;
}

export class TreeWatcher<P> {
  private readonly services = new Map<string, ServiceMirror<P>>();
  private stopped = false;

  constructor(
    private readonly conn: ZkConnection,
    readonly root: string,
    private readonly hooks: TreeWatcherHooks<P>,
    readonly layout: TreeLayout = 'flat',
  ) {}

  /** Reads the whole tree; resolves once every service and instance has been read once. */
  async start(): Promise<void> {
    await this.readRoot();
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Stops and empties the mirror: for a session's watcher that a newer session's replaced (or that
   * died before its first read finished). Its watch callbacks may outlive it (an unpatched binding
   * never frees them, and each closure holds this watcher and a service's mirror); emptied, they
   * pin next to nothing.
   */
  dispose(): void {
    this.stop();
    for (const mirror of this.services.values()) {
      mirror.instances.clear();
      mirror.children = new Set();
      mirror.reading.clear();
      mirror.armed.clear();
    }
    this.services.clear();
  }

  usesConnection(conn: ZkConnection): boolean {
    return this.conn === conn;
  }

  serviceNames(): string[] {
    return [...this.services.keys()];
  }

  hasService(service: string): boolean {
    return this.services.has(service);
  }

  /** Whether a service is read as a Dubbo 2 interface (instances under `providers`). */
  isDubbo(service: string): boolean {
    return this.services.get(service)?.subpath === PROVIDERS;
  }

  /** Path of a service's instance znodes (under `providers` for a Dubbo interface). */
  instancesPath(service: string): string {
    return `${this.root}/${service}${this.services.get(service)?.subpath ?? ''}`;
  }

  /** Current instances of a service (empty when the service is unknown or gone). */
  instancesOf(service: string): ReadonlyMap<string, InstanceRecord<P>> {
    return this.services.get(service)?.instances ?? EMPTY;
  }

  private async readRoot(firedAt?: number): Promise<void> {
    if (this.stopped) return;
    const onChange = () => {
      this.hooks.onWatchEvent('root');
      void this.readRoot(performance.now());
    };
    let children = await this.retrying(this.root, () => this.conn.getChildren(this.root, onChange));
    if (children === undefined) return;
    if (children === null) {
      // No root yet: wait for it to be created. If it appeared in between, read it now.
      const exists = await this.retrying(this.root, () => this.conn.exists(this.root, onChange));
      for (const s of [...this.services.keys()]) this.dropService(s);
      if (exists) await this.readRoot(firedAt);
      return;
    }
    if (this.layout === 'dubbo') children = children.filter((s) => !DUBBO_NON_SERVICES.has(s));
    const current = new Set(children);
    for (const s of [...this.services.keys()]) if (!current.has(s)) this.dropService(s);
    const added = children.filter((s) => !this.services.has(s));
    for (const s of added) this.services.set(s, new ServiceMirror());
    await Promise.all(added.map((s) => this.readService(s, this.services.get(s)!, firedAt)));
  }

  private async readService(service: string, mirror: ServiceMirror<P>, firedAt?: number): Promise<void> {
    if (this.layout === 'dubbo') {
      mirror.subpath = PROVIDERS;
      return this.readProviders(service, mirror, firedAt);
    }
    const path = `${this.root}/${service}`;
    const tracked = () => !this.stopped && this.services.get(service) === mirror;
    if (!tracked()) return;
    const children = await this.retrying(path, () =>
      this.conn.getChildren(path, () => {
        this.hooks.onWatchEvent('service');
        void this.readService(service, mirror, performance.now());
      }),
    );
    if (children === undefined || !tracked()) return;
    const dubbo = this.layout === 'auto' && children !== null && children.some((c) => DUBBO_CATEGORIES.has(c));
    if (dubbo !== (mirror.subpath === PROVIDERS)) {
      // The service changed shape (or is seen for the first time as a Dubbo interface): start over.
      mirror.subpath = dubbo ? PROVIDERS : '';
      mirror.children = new Set();
      if (mirror.instances.size > 0) {
        mirror.instances.clear();
        this.hooks.onServiceChanged(service, firedAt);
      }
      if (dubbo) return this.readProviders(service, mirror, firedAt);
    }
    if (dubbo) return; // its providers watch is armed already
    await this.applyListing(service, mirror, children, firedAt);
  }

  /** Lists `<service>/providers`, watching it (or, while it does not exist, watching for its creation). */
  private async readProviders(service: string, mirror: ServiceMirror<P>, firedAt?: number): Promise<void> {
    const path = `${this.root}/${service}${PROVIDERS}`;
    const tracked = () => !this.stopped && this.services.get(service) === mirror && mirror.subpath === PROVIDERS;
    if (!tracked()) return;
    const onChange = () => {
      this.hooks.onWatchEvent('service');
      void this.readProviders(service, mirror, performance.now());
    };
    const children = await this.retrying(path, () => this.conn.getChildren(path, onChange));
    if (children === undefined || !tracked()) return;
    if (children === null) {
      const exists = await this.retrying(path, () => this.conn.exists(path, onChange));
      if (exists && tracked()) return this.readProviders(service, mirror, firedAt);
    }
    await this.applyListing(service, mirror, children, firedAt);
  }

  private async applyListing(service: string, mirror: ServiceMirror<P>, children: string[] | null, firedAt?: number): Promise<void> {
    if (children === null) {
      // The service node is gone (Curator deletes empty parents); the root watch drops it.
      mirror.children = new Set();
      if (mirror.instances.size > 0) {
        mirror.instances.clear();
        this.hooks.onServiceChanged(service, firedAt);
      }
      return;
    }
    const next = new Set(children);
    let removedAny = false;
    for (const c of mirror.children) {
      if (!next.has(c)) {
        removedAny = mirror.instances.delete(c) || removedAny;
      }
    }
    mirror.children = next;
    if (removedAny) this.hooks.onServiceChanged(service, firedAt);
    // Read every listed child we hold no data for: new ones, and ones deleted and re-created
    // between two listings (their data read found no node, so no watch was left on them).
    const unread = children.filter((c) => !mirror.instances.has(c) && !mirror.reading.has(c));
    await Promise.all(unread.map((c) => this.readInstance(service, mirror, c, firedAt)));
  }

  /** `firedAt`: when the watch event that led to this read arrived (undefined on a first read). */
  private async readInstance(service: string, mirror: ServiceMirror<P>, child: string, firedAt?: number): Promise<void> {
    const path = `${this.root}/${service}${mirror.subpath}/${child}`;
    const subpath = mirror.subpath;
    const tracked = () => !this.stopped && this.services.get(service) === mirror && mirror.subpath === subpath && mirror.children.has(child);
    if (!tracked()) return;
    mirror.reading.add(child);
    const watch: ArmedWatch = { fired: false };
    const onChange = () => {
      watch.fired = true;
      if (mirror.armed.get(path) === watch) mirror.armed.delete(path);
      this.hooks.onWatchEvent('instance');
      void this.readInstance(service, mirror, child, performance.now());
    };
    let watching = false;
    let mtime: number | undefined;
    const read = () => {
      // The armed watch (if any) already reports the next change of this znode.
      watching = !mirror.armed.has(path);
      return this.conn.getData(path, watching ? onChange : undefined, firedAt === undefined ? undefined : (m) => (mtime = m));
    };
    let data: Buffer | null | undefined;
    try {
      // Fast path first: a full read issues one of these per instance, and the retry loop's extra
      // promises showed up in the cold-start profile.
      data = await read();
    } catch (err) {
      this.hooks.onReadError(err as Error, path);
      data = this.conn.isDead ? undefined : await this.retrying(path, read);
    }
    mirror.reading.delete(child);
    // A read that found the node armed its watch (even if the mirror moved on meanwhile).
    if (watching && data !== null && data !== undefined && !watch.fired) mirror.armed.set(path, watch);
    if (data === undefined || !tracked()) return;
    const old = mirror.instances.get(child);
    if (data === null) {
      if (old) {
        mirror.instances.delete(child);
        this.hooks.onServiceChanged(service, firedAt);
      }
      return;
    }
    if (old?.data.equals(data)) return;
    mirror.instances.set(child, { data, parsed: this.hooks.parse(service, child, data, subpath === PROVIDERS) });
    if (firedAt !== undefined && mtime !== undefined) this.hooks.onNotificationDelay?.(notificationDelayMs(firedAt, mtime));
    this.hooks.onServiceChanged(service, firedAt === undefined ? undefined : changeOrigin(firedAt, mtime));
  }

  private dropService(service: string): void {
    const mirror = this.services.get(service);
    this.services.delete(service);
    // Reported even without instances: the service node itself is gone, which consumers may track.
    if (mirror) this.hooks.onServiceChanged(service);
  }

  private retrying<T>(path: string, read: () => Promise<T>): Promise<T | undefined> {
    return readWithRetry(
      this.conn,
      path,
      read,
      (err, p) => this.hooks.onReadError(err, p),
      () => this.stopped,
    );
  }
}

const EMPTY: ReadonlyMap<string, never> = new Map<string, never>();

export { ZkError };
