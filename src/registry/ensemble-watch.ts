// One ZooKeeper ensemble: keeps a session open (opening a new one when it expires, with the
// ensemble's chroot and digest credentials), mirrors each of its roots with a TreeWatcher, and
// parses every registration into mesh-named entries. The primary ensemble also watches the
// policy root. While the ensemble is unreachable its last known registrations stay as they are.
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { NamingOptions } from '../catalog/naming.js';
import { EMPTY_POLICY, type ServicePolicy } from '../catalog/policy.js';
import { RegistrationReader, type ParsedChild } from './registration-reader.js';
import { PolicyWatcher } from './policy-watcher.js';
import type { InvalidRegistration, PolicyError } from '../catalog/registry-problems.js';
import type { NamedEntry } from './service-index.js';
import { treeLayout, type EnsembleConfig } from './sources-config.js';
import { TreeWatcher } from './tree-watcher.js';
import { type ZkConnection, ZkError, type ZkConnectionOptions } from '../zookeeper/connection.js';
import type { ZkDigestCredentials } from '../zookeeper/credentials.js';
import { ZK_NOAUTH } from '../zookeeper/retry.js';
import { runSessions } from '../zookeeper/session-loop.js';

export type EnsembleMetrics = Pick<
  Metrics,
  | 'invalidPolicies'
  | 'invalidRegistrations'
  | 'zkEnsembleConnected'
  | 'zkEvents'
  | 'zkFullSyncDuration'
  | 'zkLastSync'
  | 'zkNotificationDelay'
  | 'zkReadErrors'
  | 'zkSessionExpirations'
  | 'zkSessionState'
>;

export type SessionState = 'connecting' | 'connected' | 'disconnected' | 'resyncing';

/** What one registration znode gave: named entries, or why it was skipped. */

export interface EnsembleStatus {
  readonly name: string;
  readonly connect: string;
  readonly chroot: string;
  readonly roots: readonly { path: string; layout: string }[];
  /** User name of the digest credentials (never the password), or null without. */
  readonly authUser: string | null;
  readonly state: SessionState;
  readonly initialSyncDone: boolean;
  readonly lastFullSyncAt: string | null;
  readonly sessionsOpened: number;
  readonly services: number;
  readonly invalidRegistrations: number;
  /**
   * Configured roots (and the policy root) ZooKeeper refuses to list (NoAuth). While one is
   * unreadable at the first read, the read is incomplete: nothing of this ensemble is served.
   */
  readonly unreadableRoots: readonly UnreadableRoot[];
  /** When the connection was lost (ISO 8601), while the catalog is not in step with ZooKeeper; else null. */
  readonly disconnectedSince: string | null;
}

export interface UnreadableRoot {
  /** Full znode path (with the ensemble's chroot). */
  readonly path: string;
  readonly kind: 'services' | 'policy';
  readonly reason: string;
  /** When it was first found unreadable (ISO 8601). */
  readonly since: string;
}

export interface EnsembleHooks {
  /** A service node of root `rootIndex` changed (live changes only, after the first full read). */
  /** `origin`: when the change came to exist (change-origin.ts), where a watch event told us. */
  onSourceChanged(ensemble: EnsembleWatch, rootIndex: number, service: string, origin?: number): void;
  onPolicyChanged(name: string): void;
  /** A full read on a new session finished: every source of this ensemble must be taken afresh. */
  onResynced(ensemble: EnsembleWatch, startedAt: number): void;
}

/** Retries of a read whose roots were denied: each opens a new session (credentials re-read). */
const DENIED_RETRY_MS = [1000, 2000, 5000, 10_000, 30_000];

export class EnsembleWatch {
  private watchers: TreeWatcher<ParsedChild>[] = [];
  private policies: PolicyWatcher | null = null;
  private conn: ZkConnection | null = null;
  private state: SessionState = 'connecting';
  private initialSyncDone = false;
  private lastFullSyncAt: Date | null = null;
  private sessionsOpened = 0;
  private stopped = false;
  /** Roots ZooKeeper refused to list, by path as configured (no chroot). */
  private deniedRoots = new Map<string, { kind: 'services' | 'policy'; reason: string; since: Date }>();
  private deniedAttempts = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private disconnectedSince: Date | null = null;
  private auth: ZkDigestCredentials | undefined;
  private resolveFirstRead!: () => void;
  /** Settles after the first complete read (or at stop). */
  private readonly firstRead = new Promise<void>((resolve) => (this.resolveFirstRead = resolve));
  private readonly log: Logger;
  private readonly reader: RegistrationReader;
  readonly name: string;

  constructor(
    readonly config: EnsembleConfig,
    private readonly opts: {
      readonly sessionTimeoutMs: number;
      readonly naming: NamingOptions;
      /** Only for the primary ensemble. */
      readonly policyRoot?: string;
      readonly auth?: ZkDigestCredentials;
      /** Reads the credentials again (their file may have been fixed); used before retrying denied roots. */
      readonly reloadAuth?: () => ZkDigestCredentials;
    },
    private readonly deps: { log: Logger; metrics: EnsembleMetrics; hooks: EnsembleHooks },
  ) {
    this.name = config.name;
    this.reader = new RegistrationReader(config.name, opts.naming);
    this.auth = opts.auth;
    this.log = deps.log.child({ component: 'registry', ensemble: config.name, zk: config.connect, roots: config.roots.map((r) => r.path) });
  }

  /**
   * Connects and reads every root; resolves after the first complete read (retrying until then:
   * a read in which ZooKeeper denied a root is not complete).
   */
  async start(): Promise<void> {
    if (this.auth) this.log.info({ credentialsFrom: this.auth.origin, user: this.auth.user }, 'using ZooKeeper digest credentials');
    await this.openSessionAndSync();
    await this.firstRead;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.resolveFirstRead();
    for (const w of this.watchers) w.stop();
    this.policies?.stop();
    this.conn?.close();
  }

  get isInitialSyncDone(): boolean {
    return this.initialSyncDone;
  }

  connection(): ZkConnection | null {
    return this.conn;
  }

  status(): EnsembleStatus {
    return {
      name: this.name,
      connect: this.config.connect,
      chroot: this.config.chroot ?? '',
      roots: this.config.roots.map((r) => ({ path: r.path, layout: r.layout })),
      authUser: this.auth?.user ?? null,
      state: this.state,
      initialSyncDone: this.initialSyncDone,
      lastFullSyncAt: this.lastFullSyncAt?.toISOString() ?? null,
      sessionsOpened: this.sessionsOpened,
      services: this.watchers.reduce((n, w) => n + w.serviceNames().length, 0),
      invalidRegistrations: this.invalidRegistrations().length,
      unreadableRoots: [...this.deniedRoots].map(([path, d]) => ({
        path: `${this.chrootPrefix()}${path}`,
        kind: d.kind,
        reason: d.reason,
        since: d.since.toISOString(),
      })),
      disconnectedSince: this.disconnectedSince?.toISOString() ?? null,
    };
  }

  policyErrors(): PolicyError[] {
    return this.policies?.errors() ?? [];
  }

  policyOf(name: string): ServicePolicy {
    return this.policies?.policyOf(name) ?? EMPTY_POLICY;
  }

  policyServices(): string[] {
    return this.policies?.services() ?? [];
  }

  /** Every (root, service node) currently mirrored. */
  sources(): { rootIndex: number; service: string }[] {
    return this.watchers.flatMap((w, rootIndex) => w.serviceNames().map((service) => ({ rootIndex, service })));
  }

  /** The entries one service node of one root contributes now. */
  entries(rootIndex: number, service: string): NamedEntry[] {
    const w = this.watchers[rootIndex];
    if (!w?.hasService(service)) return [];
    const children = [...w.instancesOf(service).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const out: NamedEntry[] = [];
    const own = w.isDubbo(service) ? null : this.reader.serviceNodeEntry(service);
    if (own) out.push(own);
    for (const [, record] of children) if (record.parsed.ok) out.push(...record.parsed.entries);
    return out;
  }

  invalidRegistrations(): InvalidRegistration[] {
    const out: InvalidRegistration[] = [];
    for (const w of this.watchers) {
      for (const s of w.serviceNames()) {
        for (const [child, r] of w.instancesOf(s)) {
          if (!r.parsed.ok)
            out.push({
              ensemble: this.name,
              service: this.serviceNameOf(w, s),
              path: `${this.chrootPrefix()}${w.instancesPath(s)}/${child}`,
              reason: r.parsed.reason,
            });
        }
      }
    }
    return out;
  }

  private serviceNameOf(w: TreeWatcher<ParsedChild>, service: string): string {
    return this.reader.displayName(service, w.isDubbo(service));
  }

  /** What proxies get meanwhile: only after a first full read is there anything known to serve. */
  private servingWhileAway(): string {
    return this.initialSyncDone ? 'serving the last known services' : 'no services known yet (the first read of this ensemble is not done)';
  }

  private chrootPrefix(): string {
    return this.config.chroot ?? '';
  }

  /** How to open a session with this ensemble: its chroot and credentials included. */
  connectionOptions(): ZkConnectionOptions {
    return {
      connect: `${this.config.connect}${this.chrootPrefix()}`,
      sessionTimeoutMs: this.opts.sessionTimeoutMs,
      ...(this.auth ? { auth: this.auth } : {}),
      ...(this.config.tls ? { tls: this.config.tls } : {}),
    };
  }

  private async openSessionAndSync(): Promise<void> {
    await runSessions(this.connectionOptions(), {
      stopped: () => this.stopped,
      // False when the session died during the read: the loop opens the next one.
      use: (conn) => this.syncWith(conn),
      onFailure: (err, retryInMs) => this.log.warn({ err: err.message, retryInMs }, `cannot open a ZooKeeper session; ${this.servingWhileAway()}`),
    });
  }

  /** Reads every root on a fresh session, then makes it the live mirror. False if the session died meanwhile. */
  private async syncWith(conn: ZkConnection): Promise<boolean> {
    this.sessionsOpened++;
    this.watchSession(conn);
    const started = performance.now();
    let live = false;
    // Roots this read was refused (NoAuth): the read is then incomplete and not applied.
    const denied = new Map<string, { kind: 'services' | 'policy'; reason: string }>();
    const onReadError = (err: Error, path: string) => {
      this.readFailed(err, path);
      const kind = this.rootKind(path);
      if (!kind || !isNoAuth(err)) return;
      const reason = this.deniedReason();
      if (live) {
        // Refused after the read completed (an ACL changed): what was read stays served; not ready.
        if (!this.deniedRoots.has(path)) this.deniedRoots.set(path, { kind, reason, since: new Date() });
      } else denied.set(path, { kind, reason });
    };
    const watchers: TreeWatcher<ParsedChild>[] = this.config.roots.map(
      (root, rootIndex) =>
        new TreeWatcher<ParsedChild>(
          conn,
          root.path,
          {
            parse: (service, child, data, dubbo) => this.parse(watcher(rootIndex), service, child, data, dubbo),
            onServiceChanged: (service, origin) => {
              if (live) this.deps.hooks.onSourceChanged(this, rootIndex, service, origin);
            },
            onReadError,
            onWatchEvent: (kind) => this.deps.metrics.zkEvents.inc({ kind }),
            onNotificationDelay: (ms) => this.deps.metrics.zkNotificationDelay.observe(ms / 1000),
          },
          treeLayout(root.layout),
        ),
    );
    const watcher = (i: number): TreeWatcher<ParsedChild> => watchers[i]!;
    const policies =
      this.opts.policyRoot === undefined
        ? null
        : new PolicyWatcher(
            conn,
            this.opts.policyRoot,
            {
              onPolicyChanged: (service) => {
                if (live) this.deps.hooks.onPolicyChanged(service);
              },
              onInvalid: (err) => {
                this.deps.metrics.invalidPolicies.inc({ service: err.service });
                this.log.warn({ path: err.path, errors: err.errors }, 'rejected an invalid policy; the previous good policy stays in force');
              },
              onReadError,
            },
            this.policies ?? undefined,
          );
    await Promise.all([...watchers.map((w) => w.start()), policies?.start()]);
    if (conn.isDead || this.stopped) {
      for (const w of watchers) w.dispose();
      policies?.stop();
      return false;
    }
    if (denied.size > 0) {
      // An incomplete read is not applied: its watchers and mirror go, the last complete read stays.
      for (const w of watchers) w.dispose();
      policies?.stop();
      this.readDenied(conn, denied);
      return true;
    }
    // The previous session's mirror goes entirely: nothing of it may stay pinned (issue 11).
    for (const w of this.watchers) w.dispose();
    this.policies?.stop();
    this.watchers = watchers;
    this.policies = policies;
    live = true;
    const seconds = (performance.now() - started) / 1000;
    this.lastFullSyncAt = new Date();
    this.deps.metrics.zkLastSync.set(this.lastFullSyncAt.getTime() / 1000);
    this.deps.metrics.zkFullSyncDuration.set(seconds);
    this.deps.hooks.onResynced(this, started);
    this.initialSyncDone = true;
    this.deniedRoots.clear();
    this.deniedAttempts = 0;
    this.state = conn.connected ? 'connected' : 'disconnected';
    this.disconnectedSince = conn.connected ? null : (this.disconnectedSince ?? new Date());
    this.resolveFirstRead();
    this.log.info({ services: this.status().services, seconds: Number(seconds.toFixed(3)), session: this.sessionsOpened }, 'full read of ZooKeeper done');
    return true;
  }

  /**
   * A read in which ZooKeeper refused a root: serving it would be serving less than the truth (every
   * service of that root gone). It is not applied: before the first complete read nothing of this
   * ensemble is served (xDS answers stay held), after it the last complete read stays. The session is
   * closed and a new one, with the credentials read again, tries after a backoff.
   */
  private readDenied(conn: ZkConnection, denied: ReadonlyMap<string, { kind: 'services' | 'policy'; reason: string }>): void {
    const before = this.deniedRoots;
    this.deniedRoots = new Map([...denied].map(([path, d]) => [path, { ...d, since: before.get(path)?.since ?? new Date() }]));
    const retryInMs = DENIED_RETRY_MS[Math.min(this.deniedAttempts++, DENIED_RETRY_MS.length - 1)]!;
    this.log.error(
      { unreadable: [...denied].map(([path, d]) => ({ path: `${this.chrootPrefix()}${path}`, kind: d.kind, reason: d.reason })), retryInMs },
      this.initialSyncDone
        ? 'ZooKeeper denied reading a configured root on the new session; keeping the last complete read and retrying'
        : 'ZooKeeper denied reading a configured root: the first read is incomplete, nothing of this ensemble is served and zk-xds is not ready; retrying',
    );
    conn.close();
    if (this.initialSyncDone) this.disconnectedSince ??= new Date();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.stopped) return;
      this.reloadCredentials();
      void this.openSessionAndSync();
    }, retryInMs);
  }

  private reloadCredentials(): void {
    if (!this.opts.reloadAuth) return;
    try {
      this.auth = this.opts.reloadAuth();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'cannot read the ZooKeeper credentials again; retrying with the ones read before');
    }
  }

  /** Which configured root `path` is, if any. */
  private rootKind(path: string): 'services' | 'policy' | undefined {
    if (this.config.roots.some((r) => r.path === path)) return 'services';
    if (this.opts.policyRoot === path) return 'policy';
    return undefined;
  }

  private deniedReason(): string {
    return this.auth
      ? `ZooKeeper denied reading it (NoAuth) with the credentials of user '${this.auth.user}' (${this.auth.origin}): check the password and the node's ACL`
      : 'ZooKeeper denied reading it (NoAuth) and this ensemble has no credentials configured';
  }

  private setConnected(up: boolean): void {
    this.deps.metrics.zkEnsembleConnected.set({ ensemble: this.name }, up ? 1 : 0);
    if (this.opts.policyRoot !== undefined) this.deps.metrics.zkSessionState.set(up ? 1 : 0);
  }

  private watchSession(conn: ZkConnection): void {
    this.conn = conn;
    this.state = this.initialSyncDone ? 'resyncing' : 'connecting';
    this.setConnected(true);
    conn.on('auth-failed', (rc: number) => {
      this.log.error({ rc, credentialsFrom: this.auth?.origin }, 'ZooKeeper rejected the digest credentials');
    });
    conn.on('disconnected', () => {
      if (this.conn !== conn) return;
      this.state = 'disconnected';
      this.disconnectedSince ??= new Date();
      this.setConnected(false);
      this.log.warn(`lost the ZooKeeper connection; ${this.servingWhileAway()} while the client reconnects`);
    });
    conn.on('connected', () => {
      if (this.conn !== conn) return;
      if (this.watchers.length > 0 && this.watchers[0]!.usesConnection(conn)) {
        // The same session: its watches fire for whatever changed meanwhile, so the catalog is current.
        this.state = 'connected';
        this.disconnectedSince = null;
      }
      this.setConnected(true);
      this.log.info('ZooKeeper connection back');
    });
    conn.on('expired', () => {
      if (this.stopped || this.conn !== conn) return;
      this.setConnected(false);
      this.deps.metrics.zkSessionExpirations.inc();
      this.state = 'resyncing';
      if (this.initialSyncDone) this.disconnectedSince ??= new Date();
      this.log.warn('ZooKeeper session expired; opening a new session and reading the whole tree again');
      void this.openSessionAndSync();
    });
  }

  private readFailed(err: Error, path: string): void {
    const code = 'code' in err ? String(err.code) : 'unknown';
    this.deps.metrics.zkReadErrors.inc({ code });
    if (code === String(ZK_NOAUTH)) {
      this.log.error(
        { path, credentialsFrom: this.auth?.origin ?? null },
        'ZooKeeper denied reading this node (NoAuth); it stays unread until the next session: check the ensemble credentials',
      );
    } else {
      this.log.warn({ path, err: err.message }, 'ZooKeeper read failed; retrying');
    }
  }

  private parse(w: TreeWatcher<ParsedChild>, service: string, child: string, data: Buffer, dubbo: boolean): ParsedChild {
    const path = `${this.chrootPrefix()}${w.instancesPath(service)}/${child}`;
    const result = this.reader.read(path, service, child, data, dubbo);
    if (!result.ok) {
      this.deps.metrics.invalidRegistrations.inc({ service });
      this.log.warn({ path, reason: result.reason }, 'skipping an invalid registration');
    }
    return result;
  }
}

function isNoAuth(err: Error): boolean {
  return err instanceof ZkError ? err.code === ZK_NOAUTH : (err as { code?: unknown }).code === ZK_NOAUTH;
}
