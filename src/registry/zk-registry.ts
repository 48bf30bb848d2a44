// The ZooKeeper registry: one EnsembleWatch per configured ensemble (each with its session, chroot,
// credentials and roots), a ServiceIndex merging what they read into mesh-named services, and a
// batcher offering changed services to the catalog. The first ensemble is the primary: it also
// holds the policy root. While an ensemble is unreachable its last known services stay as they are.
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Service } from '../catalog/model.js';
import { ChangeBatcher } from './change-batcher.js';
import { EnsembleWatch, type EnsembleStatus, type SessionState, type EnsembleMetrics } from './ensemble-watch.js';
import type { InvalidRegistration } from '../catalog/registry-problems.js';
import type { PolicyError } from './policy-watcher.js';
import { ServiceIndex, type NameCollision } from './service-index.js';
import { defaultSources, type SourcesConfig } from './sources-config.js';
import type { ZkConnection, ZkConnectionOptions } from '../zookeeper/connection.js';
import { loadCredentials } from '../zookeeper/credentials.js';

export type RegistryMetrics = Pick<
  Metrics,
  'catalogBatches' | 'nameCollisions' | 'nameCollisionsTotal' | 'setInvalidPoliciesSource' | 'setInvalidRegistrationsSource'
> &
  EnsembleMetrics;

export interface ZkRegistryOptions {
  /** Single-ensemble form (ensemble `default`); ignored when `sources` is given. */
  readonly connect?: string;
  readonly root?: string;
  /** Path of a file holding `user:password` for the single-ensemble form. */
  readonly authFile?: string;
  /** Every ensemble and root to read; see sources-config.ts. */
  readonly sources?: SourcesConfig;
  /** znode of the primary ensemble whose children hold each service's policy JSON (`<policyRoot>/<mesh name>`). */
  readonly policyRoot: string;
  /** Default for ensembles that do not set their own. */
  readonly sessionTimeoutMs: number;
  readonly debounceMs: number;
  readonly maxDelayMs: number;
}

export type ServicesHandler = (services: Service[], observedAt: number) => void;

export type { SessionState, InvalidRegistration, EnsembleStatus, NameCollision };

export interface RegistryStatus {
  /** Primary ensemble's connect string and first root (kept from the single-ensemble status). */
  readonly connect: string;
  readonly root: string;
  readonly state: SessionState;
  /** True once every ensemble finished its first full read. */
  readonly initialSyncDone: boolean;
  readonly lastFullSyncAt: string | null;
  readonly sessionsOpened: number;
  readonly services: number;
  readonly invalidRegistrations: number;
  readonly policyRoot: string;
  readonly invalidPolicies: number;
  readonly ensembles: readonly EnsembleStatus[];
  readonly nameCollisions: readonly NameCollision[];
  /**
   * 0 while every ensemble is connected and in step; else seconds since the ensemble that lost its
   * connection first lost it (its part of the catalog may be that old).
   */
  readonly staleSeconds: number;
}

const POLICY_KEY = '\u0000policy:';

function staleSeconds(ensembles: readonly EnsembleStatus[], now = Date.now()): number {
  const since = ensembles.flatMap((e) => (e.disconnectedSince ? [Date.parse(e.disconnectedSince)] : []));
  return since.length === 0 ? 0 : Math.max(0, (now - Math.min(...since)) / 1000);
}

export class ZkRegistry {
  private readonly ensembles: EnsembleWatch[];
  private readonly index = new ServiceIndex();
  /** Batch keys of service nodes, to what they point at. */
  private readonly sourceRefs = new Map<string, { ensemble: EnsembleWatch; rootIndex: number; service: string }>();
  private readonly batcher: ChangeBatcher;
  private readonly log: Logger;
  readonly sources: SourcesConfig;

  constructor(
    private readonly opts: ZkRegistryOptions,
    private readonly deps: { log: Logger; metrics: RegistryMetrics; onServices: ServicesHandler },
  ) {
    this.log = deps.log.child({ component: 'registry' });
    this.sources =
      opts.sources ??
      defaultSources({ zk: opts.connect ?? '127.0.0.1:2181', zkRoot: opts.root ?? '/services', ...(opts.authFile ? { zkAuthFile: opts.authFile } : {}) });
    if (opts.sources && opts.authFile)
      this.log.warn({ authFile: opts.authFile }, 'the ZooKeeper credentials file flag is ignored with a sources file: set auth per ensemble there');
    this.batcher = new ChangeBatcher(opts, (keys, firstSeenAt) => this.flush(keys, firstSeenAt));
    const hooks = {
      onSourceChanged: (e: EnsembleWatch, rootIndex: number, service: string, origin?: number) =>
        this.batcher.add(this.sourceKey(e, rootIndex, service), origin),
      onPolicyChanged: (name: string) => this.batcher.add(POLICY_KEY + name),
      onResynced: (e: EnsembleWatch, startedAt: number) => this.resynced(e, startedAt),
    };
    // Credentials are read now, so a missing or malformed file stops start-up with a clear error.
    this.ensembles = this.sources.ensembles.map(
      (config, i) =>
        new EnsembleWatch(
          config,
          {
            sessionTimeoutMs: config.sessionTimeoutMs ?? opts.sessionTimeoutMs,
            naming: this.sources.naming,
            ...(i === 0 ? { policyRoot: opts.policyRoot } : {}),
            ...(config.auth ? { auth: loadCredentials(config.auth), reloadAuth: () => loadCredentials(config.auth!) } : {}),
          },
          { log: deps.log, metrics: deps.metrics, hooks },
        ),
    );
    deps.metrics.setInvalidRegistrationsSource(() => this.ensembles.reduce((n, e) => n + e.invalidRegistrations().length, 0));
    deps.metrics.setInvalidPoliciesSource(() => this.policyErrors().length);
  }

  /** Connects every ensemble; resolves once each finished its first full read (retrying until then). */
  async start(): Promise<void> {
    await Promise.all(this.ensembles.map((e) => e.start()));
  }

  async stop(): Promise<void> {
    this.batcher.clear();
    await Promise.all(this.ensembles.map((e) => e.stop()));
  }

  status(): RegistryStatus {
    const all = this.ensembles.map((e) => e.status());
    const primary = all[0]!;
    return {
      connect: primary.connect,
      root: primary.roots[0]?.path ?? '',
      state: primary.state,
      initialSyncDone: all.every((s) => s.initialSyncDone),
      lastFullSyncAt: primary.lastFullSyncAt,
      sessionsOpened: all.reduce((n, s) => n + s.sessionsOpened, 0),
      services: this.index.names().length,
      invalidRegistrations: all.reduce((n, s) => n + s.invalidRegistrations, 0),
      policyRoot: this.opts.policyRoot,
      invalidPolicies: this.policyErrors().length,
      ensembles: all,
      nameCollisions: this.index.collisions(),
      staleSeconds: staleSeconds(all),
    };
  }

  /** Policies currently rejected (the previous good one of each stays in force). */
  policyErrors(): PolicyError[] {
    return this.ensembles[0]!.policyErrors();
  }

  /** Registrations skipped as invalid, with where and why (for admin and inspect output). */
  invalidRegistrations(): InvalidRegistration[] {
    return this.ensembles.flatMap((e) => e.invalidRegistrations()).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Mesh names claimed by more than one service identity. */
  nameCollisions(): NameCollision[] {
    return this.index.collisions();
  }

  /** The primary ensemble's live session (tests use it to force an expiry). */
  connection(): ZkConnection | null {
    return this.ensembles[0]!.connection();
  }

  /** How to open a session with the primary ensemble (leader election uses it). */
  primaryConnectionOptions(): ZkConnectionOptions {
    return this.ensembles[0]!.connectionOptions();
  }

  /** One ensemble's live session, by name. */
  ensembleConnection(name: string): ZkConnection | null {
    return this.ensembles.find((e) => e.name === name)?.connection() ?? null;
  }

  private sourceKey(e: EnsembleWatch, rootIndex: number, service: string): string {
    const key = `${e.name}:${e.config.chroot ?? ''}${e.config.roots[rootIndex]!.path}/${service}`;
    if (!this.sourceRefs.has(key)) this.sourceRefs.set(key, { ensemble: e, rootIndex, service });
    return key;
  }

  /** Takes a whole ensemble afresh after its full read, and publishes at once. */
  private resynced(e: EnsembleWatch, startedAt: number): void {
    const keys = new Set(this.index.sources(`${e.name}:`));
    for (const { rootIndex, service } of e.sources()) keys.add(this.sourceKey(e, rootIndex, service));
    if (e === this.ensembles[0]) for (const name of e.policyServices()) keys.add(POLICY_KEY + name);
    this.flush(keys, startedAt);
  }

  private flush(keys: Set<string>, observedAt: number): void {
    const names = new Set<string>();
    for (const key of keys) {
      if (key.startsWith(POLICY_KEY)) {
        names.add(key.slice(POLICY_KEY.length));
        continue;
      }
      const ref = this.sourceRefs.get(key);
      if (!ref) continue;
      const entries = ref.ensemble.entries(ref.rootIndex, ref.service);
      for (const n of this.index.update(key, entries)) names.add(n);
      if (entries.length === 0) this.sourceRefs.delete(key);
    }
    if (names.size === 0) return;
    const primary = this.ensembles[0]!;
    const services: Service[] = [];
    for (const name of names) {
      const { service, newCollision } = this.index.build(name, primary.policyOf(name));
      if (newCollision) {
        this.deps.metrics.nameCollisionsTotal.inc();
        this.log.warn(
          {
            name,
            served: newCollision.identities[0],
            servedFrom: newCollision.sources[0],
            leftOut: newCollision.identities.slice(1),
            leftOutFrom: newCollision.sources.slice(1),
          },
          'two different services claim one mesh name; serving the first identity in sort order and leaving the other out',
        );
      }
      services.push(service);
    }
    this.deps.metrics.nameCollisions.set(this.index.collisions().length);
    this.deps.metrics.catalogBatches.inc();
    this.deps.onServices(services, observedAt);
  }
}
