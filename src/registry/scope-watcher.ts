// Reads sidecar scopes from ZooKeeper into a ScopeBook (catalog/scope.ts), on the registry's
// primary session (no session of its own: ZooKeeper sees one client per replica):
//  - explicit documents `<scopeRoot>/<node cluster>` = `{"services": ["orders", "pay*"]}`; an invalid
//    write keeps the last good document in force and is reported (path, field, metric);
//  - Dubbo 2 consumer registrations `<dubboRoot>/<interface>/consumers/<url>`: `application=<app>`
//    calls that interface, so node cluster `<app>` gets the interface's mesh name.
// Every read sets its one-shot watch in the same request and a fired watch is answered by reading
// again (as TreeWatcher and PolicyWatcher do). When the registry's session expires, the next one it
// opens re-reads everything; until then, the last known scopes stay.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../observability/logger.js';
import { parseScopeDocument, type ScopeBook, type ScopeEntry, type ScopeFieldError } from '../catalog/scope.js';
import { meshName, type NamingOptions } from '../catalog/naming.js';
import type { ZkConnection } from '../zookeeper/connection.js';
import { readWithRetry } from '../zookeeper/retry.js';
import { DocumentFolder } from './document-folder.js';
import { parseDubboConsumer, type DubboConsumer } from './parsers/dubbo-consumer.js';

export interface ScopeWatcherOptions {
  /** The registry's live primary session (null or dead while it opens a new one). */
  readonly connection: () => ZkConnection | null;
  /** Parent of the explicit scope documents (default `/zk-xds/scope`). */
  readonly scopeRoot: string;
  /** Dubbo 2 roots whose consumers are read (empty: none). */
  readonly dubboRoots: readonly string[];
  readonly naming: NamingOptions;
}

export interface ScopeDocumentError {
  readonly nodeCluster: string;
  readonly path: string;
  readonly errors: readonly ScopeFieldError[];
  /** ISO 8601. */
  readonly at: string;
}

export interface ScopeWatcherMetrics {
  readonly invalidDocuments: Counter;
  readonly consumers: Gauge;
}

const perRegistry = new WeakMap<Registry, ScopeWatcherMetrics>();

export function scopeWatcherMetrics(registry: Registry): ScopeWatcherMetrics {
  let m = perRegistry.get(registry);
  if (!m) {
    m = {
      invalidDocuments: new Counter({
        name: 'zkxds_scope_documents_invalid_total',
        help: 'Scope documents rejected as invalid (the last good one stays in force)',
        labelNames: ['node_cluster'],
        registers: [registry],
      }),
      consumers: new Gauge({ name: 'zkxds_scope_dubbo_consumers', help: 'Dubbo consumer registrations feeding sidecar scopes', registers: [registry] }),
    };
    perRegistry.set(registry, m);
  }
  return m;
}

/** How often to look for the registry's next session. */
const SESSION_POLL_MS = 100;
/** Stands for a consumer's `*` group or version while its mesh name is made (then becomes a glob). */
const WILD = 'zkxdsanyvalue';

/** The scope pattern a consumer's interface is served under, or undefined when it has no mesh name. */
export function consumerPattern(c: DubboConsumer, naming: NamingOptions): string | undefined {
  const any = (v: string) => (v === '*' ? WILD : v);
  const named = meshName({ kind: 'dubbo-interface', interface: c.interface, group: any(c.group), version: any(c.version) }, naming);
  return named.ok ? named.name.split(WILD).join('*') : undefined;
}

interface DocEntry {
  readonly data: Buffer;
  /** The services in force (last good), undefined when no valid document was read. */
  readonly good: string[] | undefined;
  readonly error: ScopeDocumentError | null;
}

/** One session's reads. Replaced whole by the next session's. */
class ScopeSession {
  stopped = false;
  /** The explicit scope documents, `<scopeRoot>/<node cluster>`. */
  private readonly documents: DocumentFolder;
  /** Per dubbo root and interface: consumer znode names. */
  readonly consumers = new Map<string, Map<string, ReadonlySet<string>>>();
  private readonly consumersWatched = new Set<string>();

  constructor(
    private readonly conn: ZkConnection,
    private readonly w: ScopeWatcher,
  ) {
    this.documents = new DocumentFolder(
      conn,
      w.opts.scopeRoot,
      {
        onListing: (children) => w.applyListing(this, children),
        onDocument: (cluster, data) => w.applyDocument(this, cluster, data),
        onReadError: (err, path) => w.readError(err, path),
      },
      () => this.stopped,
    );
  }

  async start(): Promise<void> {
    await Promise.all([this.documents.read(), ...this.w.opts.dubboRoots.map((r) => this.readDubboRoot(r))]);
  }

  private retrying<T>(path: string, read: () => Promise<T>): Promise<T | undefined> {
    return readWithRetry(
      this.conn,
      path,
      read,
      (err, p) => this.w.readError(err, p),
      () => this.stopped,
    );
  }

  private async readDubboRoot(root: string): Promise<void> {
    if (this.stopped) return;
    const again = () => void this.readDubboRoot(root);
    const children = await this.retrying(root, () => this.conn.getChildren(root, again));
    if (children === undefined) return;
    let byIface = this.consumers.get(root);
    if (!byIface) this.consumers.set(root, (byIface = new Map()));
    if (children === null) {
      const exists = await this.retrying(root, () => this.conn.exists(root, again));
      byIface.clear();
      this.w.consumersChanged(this);
      if (exists) await this.readDubboRoot(root);
      return;
    }
    const listed = new Set(children);
    let dropped = false;
    for (const iface of [...byIface.keys()]) {
      if (listed.has(iface)) continue;
      byIface.delete(iface);
      dropped = true;
    }
    for (const key of [...this.consumersWatched]) if (key.startsWith(`${root}/`) && !listed.has(key.slice(root.length + 1))) this.consumersWatched.delete(key);
    if (dropped) this.w.consumersChanged(this);
    await Promise.all(children.filter((i) => !this.consumersWatched.has(`${root}/${i}`)).map((i) => this.readConsumers(root, i)));
  }

  private async readConsumers(root: string, iface: string): Promise<void> {
    const key = `${root}/${iface}`;
    if (this.stopped) return;
    this.consumersWatched.add(key);
    const path = `${key}/consumers`;
    const again = () => {
      this.consumersWatched.delete(key);
      void this.readConsumers(root, iface);
    };
    const children = await this.retrying(path, () => this.conn.getChildren(path, again));
    if (children === undefined || this.stopped) return;
    const byIface = this.consumers.get(root)!;
    if (children === null) {
      // No consumers node (yet): watch for it. The interface itself may be gone (its root listing drops it).
      const exists = await this.retrying(path, () => this.conn.exists(path, again));
      if (exists === undefined || this.stopped) return;
      if (byIface.delete(iface)) this.w.consumersChanged(this);
      if (exists) {
        this.consumersWatched.delete(key);
        await this.readConsumers(root, iface);
      }
      return;
    }
    byIface.set(iface, new Set(children));
    this.w.consumersChanged(this);
  }
}

export class ScopeWatcher {
  private session: ScopeSession | null = null;
  private conn: ZkConnection | null = null;
  private stopped = false;
  private readonly docs = new Map<string, DocEntry>();
  private readonly parsed = new Map<string, { consumer: DubboConsumer | null; reason?: string }>();
  private learnScheduled = false;
  private readonly metrics: ScopeWatcherMetrics;

  constructor(
    readonly opts: ScopeWatcherOptions,
    private readonly book: ScopeBook,
    private readonly log: Logger,
    registry: Registry,
  ) {
    this.metrics = scopeWatcherMetrics(registry);
  }

  /** Reads every source once on the registry's session (waiting for one); again on each new session. */
  async start(): Promise<void> {
    while (!this.stopped) {
      const conn = this.opts.connection();
      if (!conn || conn.isDead || conn === this.conn) {
        await new Promise((r) => setTimeout(r, SESSION_POLL_MS));
        continue;
      }
      const session = new ScopeSession(conn, this);
      const previous = this.session;
      this.session = session;
      this.conn = conn;
      if (previous) previous.stopped = true;
      conn.once('expired', () => {
        if (this.stopped || this.session !== session) return;
        session.stopped = true;
        this.log.info('ZooKeeper session expired; sidecar scopes are read again on the next one (the last known stay meanwhile)');
        void this.start();
      });
      await session.start();
      return;
    }
  }

  /** Stops reading; the session is the registry's to close. */
  stop(): void {
    this.stopped = true;
    if (this.session) this.session.stopped = true;
  }

  /** Documents whose current data is invalid (the last good one stays in force). */
  errors(): ScopeDocumentError[] {
    return [...this.docs.values()].flatMap((d) => (d.error ? [d.error] : [])).sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  /** Consumer registrations that name no usable application (for admin pages). */
  skippedConsumers(): Array<{ path: string; reason: string }> {
    return [...this.parsed].flatMap(([path, p]) => (p.consumer ? [] : [{ path, reason: p.reason ?? '' }]));
  }

  readError(err: Error, path: string): void {
    this.log.warn({ path, err: err.message }, 'reading a sidecar scope source failed; retrying');
  }

  applyListing(session: ScopeSession, children: readonly string[]): void {
    if (session !== this.session) return;
    const listed = new Set(children);
    for (const cluster of [...this.docs.keys()]) if (!listed.has(cluster)) this.applyDocument(session, cluster, null);
  }

  applyDocument(session: ScopeSession, cluster: string, data: Buffer | null): void {
    if (session !== this.session) return;
    const path = `${this.opts.scopeRoot}/${cluster}`;
    if (data === null) {
      this.docs.delete(cluster);
      this.book.setExplicit(cluster, undefined, path);
      return;
    }
    const before = this.docs.get(cluster);
    if (before?.data.equals(data)) return;
    const parsed = parseScopeDocument(data);
    if (parsed.ok) {
      this.docs.set(cluster, { data, good: parsed.services, error: null });
      this.book.setExplicit(cluster, parsed.services, path);
      return;
    }
    const error: ScopeDocumentError = { nodeCluster: cluster, path, errors: parsed.errors, at: new Date().toISOString() };
    this.docs.set(cluster, { data, good: before?.good, error });
    this.metrics.invalidDocuments.inc({ node_cluster: cluster });
    this.log.warn(
      { path, errors: parsed.errors },
      before?.good
        ? 'rejected an invalid scope document; the last good one stays in force'
        : 'rejected an invalid scope document; the node cluster has no explicit scope until it is fixed',
    );
  }

  consumersChanged(session: ScopeSession): void {
    if (session !== this.session || this.learnScheduled) return;
    // Many consumers register at once (an application starting): learn once per turn.
    this.learnScheduled = true;
    setImmediate(() => {
      this.learnScheduled = false;
      if (this.session === session) this.learn(session);
    });
  }

  private learn(session: ScopeSession): void {
    const byCluster = new Map<string, ScopeEntry[]>();
    const seen = new Set<string>();
    let count = 0;
    for (const [root, byIface] of session.consumers) {
      for (const [iface, urls] of byIface) {
        for (const url of urls) {
          const path = `${root}/${iface}/consumers/${url}`;
          seen.add(path);
          let p = this.parsed.get(path);
          if (!p) {
            const c = parseDubboConsumer(iface, url);
            p = c.ok ? { consumer: c.value } : { consumer: null, reason: c.reason };
            if (!c.ok) this.log.warn({ path, reason: c.reason }, 'consumer registration skipped for sidecar scopes');
            this.parsed.set(path, p);
          }
          if (!p.consumer) continue;
          const pattern = consumerPattern(p.consumer, this.opts.naming);
          if (pattern === undefined) continue;
          count++;
          const cluster = p.consumer.application;
          if (!byCluster.has(cluster)) byCluster.set(cluster, []);
          byCluster.get(cluster)!.push({ pattern, source: 'dubbo-consumer', from: path });
        }
      }
    }
    for (const path of [...this.parsed.keys()]) if (!seen.has(path)) this.parsed.delete(path);
    this.metrics.consumers.set(count);
    this.book.setLearned(byCluster);
  }
}
