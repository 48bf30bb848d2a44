// Keeps the ServiceEntry objects of one namespace in step with the catalog through the Kubernetes
// API. Only the elected leader writes; every replica keeps the desired set current so a new
// leader starts at once.
//
// Reconciling is level-based and per object name: the desired object (from the catalog) is
// compared with the observed one (a list-then-watch cache of the namespace), then
// - desired, missing or different: server-side apply as field manager `zk-xds` (forced: zk-xds
//   is the authority on the fields it sets);
// - desired, but a ServiceEntry of that name exists without our managed-by label: left alone,
//   reported (log, metric) — never taken over;
// - not desired, observed with our label: deleted, with the observed resourceVersion as
//   precondition so an object changed meanwhile (say, relabelled by an operator) is re-checked.
// Writes pass a token bucket; failed ones retry per object with exponential backoff; 422
// (invalid) is reported once per content and not retried until the content changes. On becoming
// leader the cache is filled from a list (the resync) and every name is checked; deletions wait
// until the registry's first full read, so a restart never deletes what is merely not read yet.
import type { Service } from '../catalog/model.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { SERVICE_NAME_ANNOTATION } from '../translate/service-entry.js';
import { describeFailure, type ServiceEntryClient, type StoredObject } from './kube-client.js';
import { RateLimiter } from './rate-limiter.js';
import { setTimeout as sleep } from 'node:timers/promises';

export type WriterMetrics = Pick<Metrics, 'k8sErrors' | 'k8sOwned' | 'k8sWrites'>;

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'zk-xds';
export const FIELD_MANAGER = 'zk-xds';

/** An object the writer keeps in the namespace (the translator's ServiceEntry, or any such object). */
export interface DesiredObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: unknown;
}

/** Builds a service's object, or undefined when the service should have none. */
export type ObjectBuilder = (service: Service) => DesiredObject | undefined;

export interface KubernetesWriterOptions {
  readonly writesPerSecond: number;
  /** First retry delay after a failed write; doubles per failure. Default 200 ms. */
  readonly retryBaseMs?: number;
  /** Longest retry delay. Default 30 s. */
  readonly retryMaxMs?: number;
}

export interface KubernetesWriterDeps {
  readonly client: ServiceEntryClient;
  readonly build: ObjectBuilder;
  /** True once the registry has read ZooKeeper fully (until then nothing is deleted). */
  readonly catalogReady: () => boolean;
  readonly log: Logger;
  readonly metrics: WriterMetrics;
}

type Informer = ReturnType<ServiceEntryClient['informer']>;

const READY_POLL_MS = 50;
/** How long the watch may lag behind our own write before the cache is believed again. */
const WATCH_LAG_GRACE_MS = 2000;

export class KubernetesWriter {
  /** Object name -> desired object, and the service each came from. */
  private readonly desired = new Map<string, { object: DesiredObject; service: string; hash: string }>();
  private readonly nameOfService = new Map<string, string>();
  private readonly limiter: RateLimiter;
  private readonly pending = new Set<string>();
  private readonly retries = new Map<string, { timer: NodeJS.Timeout }>();
  private readonly attempts = new Map<string, number>();
  /**
   * Our last successful apply of each name: its content hash, the resourceVersion it made, whether
   * the watch has delivered that version yet (until then the cache shows something older) and when.
   */
  private readonly applied = new Map<string, { hash: string; resourceVersion: string; caughtUp: boolean; at: number }>();
  /** Content hashes the server rejected as invalid (422), not retried until the content changes. */
  private readonly rejected = new Map<string, string>();
  private readonly foreignReported = new Set<string>();
  private informer: Informer | undefined;
  private active = false;
  private synced = false;
  private epoch = 0;
  private wake: (() => void) | undefined;
  private worker: Promise<void> | undefined;

  constructor(
    private readonly options: KubernetesWriterOptions,
    private readonly deps: KubernetesWriterDeps,
  ) {
    this.limiter = new RateLimiter(options.writesPerSecond);
  }

  get isActive(): boolean {
    return this.active;
  }

  /** What the writer is doing, for the admin port's status page (counts only: no object bodies). */
  status(): { active: boolean; synced: boolean; desired: number; pending: number; retrying: number; rejected: string[] } {
    return {
      active: this.active,
      synced: this.synced,
      desired: this.desired.size,
      pending: this.pending.size,
      retrying: this.retries.size,
      rejected: [...this.rejected.keys()].sort(),
    };
  }

  /** Names of the objects currently desired (for tests and debugging). */
  desiredNames(): string[] {
    return [...this.desired.keys()].sort();
  }

  /** Takes changed services (all of them at start); queues their objects when leading. */
  updateServices(services: Iterable<Service>): void {
    for (const service of services) {
      let object: DesiredObject | undefined;
      try {
        object = this.deps.build(service);
      } catch (err) {
        this.deps.metrics.k8sErrors.inc({ kind: 'translation' });
        this.deps.log.error({ service: service.name, err: (err as Error).message }, 'could not build the ServiceEntry; the previous one stays');
        continue;
      }
      const previous = this.nameOfService.get(service.name);
      if (object) {
        const name = object.metadata.name;
        const holder = this.desired.get(name);
        if (holder && holder.service !== service.name) {
          this.deps.metrics.k8sErrors.inc({ kind: 'name_clash' });
          this.deps.log.error({ service: service.name, other: holder.service, name }, 'two services map to one ServiceEntry name; keeping the first');
          continue;
        }
        const owned = withOwnership(object, service.name);
        this.desired.set(name, { object: owned, service: service.name, hash: contentKey(owned) });
        this.nameOfService.set(service.name, name);
        this.enqueue(name);
      }
      if (previous !== undefined && previous !== object?.metadata.name) {
        this.desired.delete(previous);
        if (!object) this.nameOfService.delete(service.name);
        this.enqueue(previous);
      }
    }
  }

  /** Became leader: list what exists, then reconcile every name and follow changes. */
  activate(): void {
    if (this.active) return;
    this.active = true;
    const epoch = ++this.epoch;
    this.worker = this.run(epoch);
  }

  /** Lost leadership (or shutting down): stop writing at once. */
  async deactivate(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.epoch++;
    this.synced = false;
    this.pending.clear();
    for (const r of this.retries.values()) clearTimeout(r.timer);
    this.retries.clear();
    this.attempts.clear();
    const informer = this.informer;
    const worker = this.worker;
    this.informer = undefined;
    this.deps.metrics.k8sOwned.set(0);
    this.wake?.();
    await informer?.stop();
    await worker;
  }

  private async run(epoch: number): Promise<void> {
    const live = () => this.active && this.epoch === epoch;
    const informer = await this.startInformer(live);
    if (!informer) return;
    while (live() && !this.deps.catalogReady()) await sleep(READY_POLL_MS);
    if (!live()) return;
    this.synced = true;
    const owned = informer
      .list()
      .filter(isOwned)
      .map((o) => o.metadata!.name!);
    this.deps.log.info(
      { server: this.deps.client.server, namespace: this.deps.client.namespace, desired: this.desired.size, owned: owned.length },
      'writing ServiceEntries: resync from the list of what exists',
    );
    for (const name of [...this.desired.keys(), ...owned]) this.enqueue(name);
    while (live()) {
      const name = this.pending.values().next().value as string | undefined;
      if (name === undefined) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      this.pending.delete(name);
      await this.reconcile(name, informer, live);
    }
  }

  /** Lists and starts watching; retries with backoff until it works or leadership ends. */
  private async startInformer(live: () => boolean): Promise<Informer | undefined> {
    let delay = this.options.retryBaseMs ?? 200;
    while (live()) {
      const informer = this.deps.client.informer();
      let failure: unknown;
      let watchFailures = 0;
      informer.on('error', (err: unknown) => {
        failure = err;
        if (this.informer !== informer) return;
        // A failed watch or list stops the informer: start it again (it lists again), backing off.
        watchFailures++;
        const retryInMs = Math.min((this.options.retryBaseMs ?? 200) * 2 ** (watchFailures - 1), this.options.retryMaxMs ?? 30_000);
        this.deps.log.warn({ err: describeFailure(err).message, retryInMs }, 'ServiceEntry list/watch failed; listing again');
        this.deps.metrics.k8sErrors.inc({ kind: 'watch' });
        setTimeout(() => {
          if (this.informer !== informer || !live()) return;
          const before = watchFailures;
          void informer.start().then(() => {
            if (watchFailures === before) watchFailures = 0;
          });
        }, retryInMs);
      });
      const onChange = (o: StoredObject, deleted: boolean) => {
        this.updateOwnedGauge();
        const name = o.metadata?.name;
        if (!name) return;
        this.observed(name, deleted ? undefined : o.metadata?.resourceVersion);
        this.enqueue(name);
      };
      informer.on('add', (o) => onChange(o, false));
      informer.on('update', (o) => onChange(o, false));
      informer.on('delete', (o) => onChange(o, true));
      await informer.start();
      if (failure === undefined && live()) {
        this.informer = informer;
        this.updateOwnedGauge();
        return informer;
      }
      await informer.stop();
      if (!live()) return undefined;
      const f = describeFailure(failure);
      this.deps.metrics.k8sErrors.inc({ kind: 'list' });
      this.deps.log.warn({ code: f.code, err: f.message, retryInMs: delay }, 'could not list ServiceEntries; retrying');
      await sleep(delay);
      delay = Math.min(delay * 2, this.options.retryMaxMs ?? 30_000);
    }
    return undefined;
  }

  /** Watch events: note when the cache reaches our last apply; a deletion after that forgets it. */
  private observed(name: string, resourceVersion: string | undefined): void {
    const last = this.applied.get(name);
    if (!last) return;
    if (resourceVersion === last.resourceVersion) last.caughtUp = true;
    else if (resourceVersion === undefined && last.caughtUp) this.applied.delete(name);
  }

  private enqueue(name: string): void {
    if (!this.active || !this.synced || this.retries.has(name)) return;
    this.pending.add(name);
    this.wake?.();
  }

  private async reconcile(name: string, informer: Informer, live: () => boolean): Promise<void> {
    const want = this.desired.get(name);
    const seen = informer.get(name, this.deps.client.namespace) as StoredObject | undefined;
    if (want) {
      if (seen && !isOwned(seen)) {
        if (!this.foreignReported.has(name)) {
          this.foreignReported.add(name);
          this.deps.metrics.k8sErrors.inc({ kind: 'foreign' });
          this.deps.log.error({ name, service: want.service }, 'a ServiceEntry of this name exists and is not managed by zk-xds; leaving it alone');
        }
        return;
      }
      this.foreignReported.delete(name);
      if (this.upToDate(name, seen, want)) return;
      if (this.rejected.get(name) === want.hash) return;
      await this.limiter.take();
      if (!live()) return;
      try {
        const result = await this.deps.client.apply(want.object);
        this.deps.metrics.k8sWrites.inc({ verb: 'apply', outcome: 'ok' });
        const resourceVersion = result.metadata?.resourceVersion ?? '';
        this.applied.set(name, {
          hash: want.hash,
          resourceVersion,
          caughtUp: informer.get(name, this.deps.client.namespace)?.metadata?.resourceVersion === resourceVersion,
          at: performance.now(),
        });
        this.rejected.delete(name);
        this.attempts.delete(name);
        this.deps.log.debug(
          { name, service: want.service, resourceVersion: result.metadata?.resourceVersion },
          seen ? 'ServiceEntry updated' : 'ServiceEntry created',
        );
      } catch (err) {
        this.failed('apply', name, want.service, err, want.hash, live);
      }
      return;
    }
    if (!seen || !isOwned(seen)) return;
    await this.limiter.take();
    if (!live()) return;
    try {
      await this.deps.client.delete(name, seen.metadata?.resourceVersion ?? '');
      this.deps.metrics.k8sWrites.inc({ verb: 'delete', outcome: 'ok' });
      this.applied.delete(name);
      this.attempts.delete(name);
      this.deps.log.info({ name, service: seen.metadata?.annotations?.[SERVICE_NAME_ANNOTATION] }, 'ServiceEntry deleted: its service is gone');
    } catch (err) {
      if (describeFailure(err).code === 404) {
        this.deps.metrics.k8sWrites.inc({ verb: 'delete', outcome: 'gone' });
        return;
      }
      this.failed('delete', name, undefined, err, undefined, live);
    }
  }

  /**
   * Ours and as desired: exactly what our last apply of this content made; or the watch has not yet
   * delivered that version (the cache shows an older one; the event brings the name back, and a
   * timer does if it never comes); or equal in content.
   */
  private upToDate(name: string, seen: StoredObject | undefined, want: { object: DesiredObject; hash: string }): boolean {
    const last = this.applied.get(name);
    if (last && last.hash === want.hash) {
      if (seen?.metadata?.resourceVersion === last.resourceVersion) return true;
      const waited = performance.now() - last.at;
      if (!last.caughtUp && waited < WATCH_LAG_GRACE_MS) {
        setTimeout(() => this.enqueue(name), WATCH_LAG_GRACE_MS - waited).unref();
        return true;
      }
    }
    if (!seen) return false;
    const m = want.object.metadata;
    return sameJson(seen.spec, want.object.spec) && isSubset(m.labels, seen.metadata?.labels) && isSubset(m.annotations, seen.metadata?.annotations);
  }

  private failed(verb: 'apply' | 'delete', name: string, service: string | undefined, err: unknown, hash: string | undefined, live: () => boolean): void {
    const f = describeFailure(err);
    if (f.code === 422 && hash !== undefined) {
      // The object itself is wrong: retrying the same content cannot help.
      this.rejected.set(name, hash);
      this.deps.metrics.k8sWrites.inc({ verb, outcome: 'invalid' });
      this.deps.metrics.k8sErrors.inc({ kind: 'invalid' });
      this.deps.log.error({ name, service, err: f.message }, 'the API server rejected the ServiceEntry as invalid; not retrying until it changes');
      return;
    }
    const outcome = f.code === 409 ? 'conflict' : 'error';
    this.deps.metrics.k8sWrites.inc({ verb, outcome });
    this.deps.metrics.k8sErrors.inc({ kind: outcome === 'conflict' ? 'conflict' : 'request' });
    const attempt = (this.attempts.get(name) ?? 0) + 1;
    this.attempts.set(name, attempt);
    const base = this.options.retryBaseMs ?? 200;
    const backoff = Math.min(base * 2 ** (attempt - 1), this.options.retryMaxMs ?? 30_000);
    const delay = Math.max(backoff * (0.75 + Math.random() * 0.5), (f.retryAfterSeconds ?? 0) * 1000);
    this.deps.log.warn({ verb, name, service, code: f.code, err: f.message, attempt, retryInMs: Math.round(delay) }, 'ServiceEntry write failed; retrying');
    const timer = setTimeout(() => {
      this.retries.delete(name);
      if (live()) this.enqueue(name);
    }, delay);
    this.retries.set(name, { timer });
  }

  private updateOwnedGauge(): void {
    this.deps.metrics.k8sOwned.set(this.informer?.list().filter(isOwned).length ?? 0);
  }
}

function isOwned(o: StoredObject): boolean {
  return o.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** The object with our ownership labels (managed-by, and the service when it fits a label value). */
function withOwnership(object: DesiredObject, service: string): DesiredObject {
  const labels: Record<string, string> = { ...object.metadata.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
  if (/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(service) && service.length <= 63) labels['zk-xds.io/service'] = service;
  return { ...object, metadata: { ...object.metadata, labels } };
}

function isSubset(want: Record<string, string> | undefined, have: Record<string, string> | undefined): boolean {
  return Object.entries(want ?? {}).every(([k, v]) => have?.[k] === v);
}

function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function contentKey(object: DesiredObject): string {
  return canonical({ labels: object.metadata.labels, annotations: object.metadata.annotations, spec: object.spec });
}

/** JSON with object keys sorted, so equal content compares equal whatever the key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
