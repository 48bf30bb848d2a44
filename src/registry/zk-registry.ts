// The ZooKeeper registry: keeps a session open (opening a new one when it expires), mirrors the
// service tree with a TreeWatcher, parses each registration, and offers changed services to the
// catalog in batches. While ZooKeeper is unreachable the last known services stay as they are.
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { RegisteredInstance, Service } from '../catalog/model.js';
import { EMPTY_POLICY } from '../catalog/policy.js';
import { ChangeBatcher } from './change-batcher.js';
import { parseRegistration, type ParseOutcome } from './parsers/parse-registration.js';
import { TreeWatcher } from './tree-watcher.js';
import { ZkConnection } from './zk-connection.js';
import { PolicyWatcher, type PolicyError } from './policy-watcher.js';

export interface ZkRegistryOptions {
  readonly connect: string;
  readonly root: string;
  /** znode whose children hold each service's policy JSON (`<policyRoot>/<service>`). */
  readonly policyRoot: string;
  readonly sessionTimeoutMs: number;
  readonly debounceMs: number;
  readonly maxDelayMs: number;
}

export type ServicesHandler = (services: Service[], observedAt: number) => void;

export type SessionState = 'connecting' | 'connected' | 'disconnected' | 'resyncing';

export interface RegistryStatus {
  readonly connect: string;
  readonly root: string;
  readonly state: SessionState;
  readonly initialSyncDone: boolean;
  readonly lastFullSyncAt: string | null;
  readonly sessionsOpened: number;
  readonly services: number;
  readonly invalidRegistrations: number;
  readonly policyRoot: string;
  readonly invalidPolicies: number;
}

/** A registration znode whose data could not be used. */
export interface SkippedRegistration {
  readonly service: string;
  readonly path: string;
  readonly reason: string;
}

const RECONNECT_BACKOFF_MS = [200, 500, 1000, 2000, 5000];

export class ZkRegistry {
  private watcher: TreeWatcher<ParseOutcome> | null = null;
  private policies: PolicyWatcher | null = null;
  private conn: ZkConnection | null = null;
  private state: SessionState = 'connecting';
  private initialSyncDone = false;
  private lastFullSyncAt: Date | null = null;
  private sessionsOpened = 0;
  private stopped = false;
  private readonly batcher: ChangeBatcher;
  private readonly log: Logger;

  constructor(
    private readonly opts: ZkRegistryOptions,
    private readonly deps: { log: Logger; metrics: Metrics; onServices: ServicesHandler },
  ) {
    this.log = deps.log.child({ component: 'registry', zk: opts.connect, root: opts.root });
    this.batcher = new ChangeBatcher(opts, (names, firstSeenAt) => this.publish(names, firstSeenAt));
    deps.metrics.setInvalidRegistrationsSource(() => this.countInvalid());
  }

  /** Connects and reads the whole tree; resolves after the first full read (retrying until then). */
  async start(): Promise<void> {
    await this.openSessionAndSync();
  }

  status(): RegistryStatus {
    return {
      connect: this.opts.connect,
      root: this.opts.root,
      state: this.state,
      initialSyncDone: this.initialSyncDone,
      lastFullSyncAt: this.lastFullSyncAt?.toISOString() ?? null,
      sessionsOpened: this.sessionsOpened,
      services: this.watcher?.serviceNames().length ?? 0,
      invalidRegistrations: this.countInvalid(),
      policyRoot: this.opts.policyRoot,
      invalidPolicies: this.policies?.errors().length ?? 0,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.batcher.clear();
    this.watcher?.stop();
    this.policies?.stop();
    this.conn?.close();
  }

  /** Policies currently rejected (the previous good one of each stays in force). */
  policyErrors(): PolicyError[] {
    return this.policies?.errors() ?? [];
  }

  /** Registrations currently skipped, with why (admin pages, `zk-xds validate`), sorted by path. */
  skippedRegistrations(): SkippedRegistration[] {
    const w = this.watcher;
    if (!w) return [];
    const out: SkippedRegistration[] = [];
    for (const service of w.serviceNames()) {
      for (const [child, r] of w.instancesOf(service)) if (!r.parsed.ok) out.push({ service, path: `${this.opts.root}/${service}/${child}`, reason: r.parsed.reason });
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** The live session (tests use it to force an expiry). */
  connection(): ZkConnection | null {
    return this.conn;
  }

  private async openSessionAndSync(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      let conn: ZkConnection;
      try {
        conn = await ZkConnection.open({ connect: this.opts.connect, sessionTimeoutMs: this.opts.sessionTimeoutMs }, this.opts.sessionTimeoutMs);
      } catch (err) {
        const delay = RECONNECT_BACKOFF_MS[Math.min(attempt, RECONNECT_BACKOFF_MS.length - 1)]!;
        this.log.warn({ err: (err as Error).message, retryInMs: delay }, 'cannot open a ZooKeeper session; serving the last known services');
        await sleep(delay);
        continue;
      }
      if (this.stopped) {
        conn.close();
        return;
      }
      if (await this.syncWith(conn)) return;
    }
  }

  /** Reads the whole tree on a fresh session, then makes it the live mirror. False if the session died meanwhile. */
  private async syncWith(conn: ZkConnection): Promise<boolean> {
    this.sessionsOpened++;
    this.watchSession(conn);
    const started = performance.now();
    let live = false;
    const watcher = new TreeWatcher<ParseOutcome>(conn, this.opts.root, {
      parse: (service, child, data) => this.parse(service, child, data),
      onServiceChanged: (service) => {
        if (live) this.batcher.add(service);
      },
      onReadError: (err, path) => this.readFailed(err, path),
      onWatchEvent: (kind) => this.deps.metrics.zkEvents.inc({ kind }),
    });
    const policies = new PolicyWatcher(
      conn,
      this.opts.policyRoot,
      {
        onPolicyChanged: (service) => {
          if (live) this.batcher.add(service);
        },
        onInvalid: (err) => {
          this.deps.metrics.invalidPolicies.inc({ service: err.service });
          this.log.warn({ path: err.path, errors: err.errors }, 'rejected an invalid policy; the previous good policy stays in force');
        },
        onReadError: (err, path) => this.readFailed(err, path),
      },
      this.policies ?? undefined,
    );
    await Promise.all([watcher.start(), policies.start()]);
    if (conn.isDead || this.stopped) {
      watcher.stop();
      policies.stop();
      return false;
    }
    const previous = this.watcher;
    previous?.stop();
    this.policies?.stop();
    this.watcher = watcher;
    this.policies = policies;
    live = true;
    this.batcher.clear();
    const seconds = (performance.now() - started) / 1000;
    this.lastFullSyncAt = new Date();
    this.deps.metrics.zkLastSync.set(this.lastFullSyncAt.getTime() / 1000);
    this.deps.metrics.zkFullSyncDuration.set(seconds);
    // Offer every service either mirror knows: ones gone from ZooKeeper come out empty.
    const names = new Set([...(previous?.serviceNames() ?? []), ...watcher.serviceNames(), ...policies.services()]);
    this.publish(names, started);
    this.initialSyncDone = true;
    this.state = conn.connected ? 'connected' : 'disconnected';
    this.log.info({ services: watcher.serviceNames().length, seconds: Number(seconds.toFixed(3)), session: this.sessionsOpened }, 'full read of ZooKeeper done');
    return true;
  }

  private watchSession(conn: ZkConnection): void {
    this.conn = conn;
    this.state = this.initialSyncDone ? 'resyncing' : 'connecting';
    this.deps.metrics.zkSessionState.set(1);
    conn.on('disconnected', () => {
      if (this.conn !== conn) return;
      this.state = 'disconnected';
      this.deps.metrics.zkSessionState.set(0);
      this.log.warn('lost the ZooKeeper connection; serving the last known services while the client reconnects');
    });
    conn.on('connected', () => {
      if (this.conn !== conn) return;
      if (this.watcher?.usesConnection(conn)) this.state = 'connected';
      this.deps.metrics.zkSessionState.set(1);
      this.log.info('ZooKeeper connection back');
    });
    conn.on('expired', () => {
      if (this.stopped || this.conn !== conn) return;
      this.deps.metrics.zkSessionState.set(0);
      this.deps.metrics.zkSessionExpirations.inc();
      this.state = 'resyncing';
      this.log.warn('ZooKeeper session expired; opening a new session and reading the whole tree again');
      void this.openSessionAndSync();
    });
  }

  private readFailed(err: Error, path: string): void {
    this.deps.metrics.zkReadErrors.inc({ code: 'code' in err ? String(err.code) : 'unknown' });
    this.log.warn({ path, err: err.message }, 'ZooKeeper read failed; retrying');
  }

  private parse(service: string, child: string, data: Buffer): ParseOutcome {
    const outcome = parseRegistration(child, data);
    if (!outcome.ok) {
      this.deps.metrics.invalidRegistrations.inc({ service });
      this.log.warn({ path: `${this.opts.root}/${service}/${child}`, reason: outcome.reason }, 'skipping an invalid registration');
    }
    return outcome;
  }

  private publish(names: Set<string>, observedAt: number): void {
    const w = this.watcher;
    if (!w) return;
    this.deps.metrics.catalogBatches.inc();
    this.deps.onServices(
      [...names].map((s) => this.buildService(w, s)),
      observedAt,
    );
  }

  private buildService(w: TreeWatcher<ParseOutcome>, name: string): Service {
    const children = [...w.instancesOf(name).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const instances: RegisteredInstance[] = [];
    for (const [child, record] of children) {
      const p = record.parsed;
      if (p.ok) instances.push({ ...p.instance, source: `${this.opts.root}/${name}/${child}`, format: p.format });
    }
    return { name, instances, policy: this.policies?.policyOf(name) ?? EMPTY_POLICY };
  }

  private countInvalid(): number {
    const w = this.watcher;
    if (!w) return 0;
    let n = 0;
    for (const s of w.serviceNames()) for (const r of w.instancesOf(s).values()) if (!r.parsed.ok) n++;
    return n;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
