// The versioned resource cache: the current encoded resources of each type, a content-derived
// version per type, and a short log of which names changed at each step so that streams can
// send only what changed since their last response without keeping per-resource copies.
import { createHash } from 'node:crypto';
import type { EncodedResource } from './resource-encoding.js';

export interface ResourceUpdate {
  readonly typeUrl: string;
  readonly upserts: readonly EncodedResource[];
  readonly removals: readonly string[];
  /**
   * Names no longer referenced by anything this update leaves in place (make before break): they
   * stay served until the retirement gate lets them go (see retirement-gate.ts), or at once when
   * the cache has no gate. A name upserted again meanwhile simply stays.
   */
  readonly retirements?: readonly string[];
}

/** What one apply() changed in one type. */
export interface TypeChange {
  readonly typeUrl: string;
  readonly version: string;
  readonly seq: number;
  readonly changed: ReadonlySet<string>;
  readonly removed: ReadonlySet<string>;
  /** performance.now() of the registry event that caused it (push latency is measured from here). */
  readonly observedAt: number;
}

export type CacheListener = (changes: readonly TypeChange[]) => void;

/** Names retired by one apply(), waiting for the streams that were sent a reference to them. */
export interface RetirementBatch {
  readonly id: number;
  /** performance.now() when they were retired. */
  readonly at: number;
  /** The steps of the same apply(): what dropped the references (routes, listeners, clusters). */
  readonly steps: readonly TypeChange[];
  /** Per type, the names of this batch still retiring (an upsert takes a name back out). */
  readonly names: Map<string, Set<string>>;
}

/** Decides when a batch of retired names may leave the cache; calls cache.release(batch) then. */
export interface RetirementGate {
  admit(batch: RetirementBatch): void;
}

/**
 * How many change steps each type remembers; a stream further behind re-checks everything it
 * subscribes to. Generous on purpose: under churn a lagging stream that falls off the log costs
 * O(subscriptions) per flush, which makes it lag further (seen in the churn benchmark's profile).
 */
const CHANGE_LOG_STEPS = 8192;
const DIGEST_BYTES = 12;

interface ChangeStep {
  readonly seq: number;
  readonly names: ReadonlySet<string>;
  /** Each changed name's version before this step (undefined: it did not exist). */
  readonly prior: ReadonlyMap<string, string | undefined>;
}

/** For names changed after a step, the version each had at that step (undefined: absent then). */
export type VersionsAt = ReadonlyMap<string, string | undefined>;

class TypeTable {
  readonly entries = new Map<string, EncodedResource>();
  /** XOR of a hash of every (name, version): order-free, so it updates in O(changed). */
  private readonly digest = Buffer.alloc(DIGEST_BYTES);
  version = versionOf(this.digest);
  seq = 0;
  readonly log: ChangeStep[] = [];
  /** Unions already computed for the current seq, by starting step: streams in step share one. */
  readonly unions = new Map<number, ReadonlySet<string>>();
  /** versionsAt() already computed for the current seq, by starting step. */
  readonly priors = new Map<number, VersionsAt>();
  /** Names removed at some time and not back since (what a client far behind may still hold). */
  readonly gone = new Set<string>();

  toggle(entry: EncodedResource): void {
    const h = createHash('sha256').update(entry.name).update('\0').update(entry.version).digest();
    for (let i = 0; i < DIGEST_BYTES; i++) this.digest[i]! ^= h[i]!;
  }

  commit(names: ReadonlySet<string>, prior: ReadonlyMap<string, string | undefined>): void {
    this.version = versionOf(this.digest);
    this.seq++;
    this.log.push({ seq: this.seq, names, prior });
    if (this.log.length > CHANGE_LOG_STEPS) this.log.splice(0, this.log.length - CHANGE_LOG_STEPS);
    this.unions.clear();
    this.priors.clear();
  }
}

function versionOf(digest: Buffer): string {
  return digest.toString('base64url');
}

export class ResourceCache {
  private readonly tables = new Map<string, TypeTable>();
  private readonly listeners: CacheListener[] = [];
  private gate: RetirementGate | null = null;
  /** Per type, each retiring name's batch. */
  private readonly retiring = new Map<string, Map<string, RetirementBatch>>();
  private nextBatchId = 1;

  constructor(typeUrls: readonly string[]) {
    for (const t of typeUrls) this.tables.set(t, new TypeTable());
  }

  /** Returns what stops the listener. */
  onChange(listener: CacheListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Retired names wait for this gate; without one they are removed at once. */
  setRetirementGate(gate: RetirementGate): void {
    this.gate = gate;
  }

  /** Retirements are removed at once again (no stream is served from this cache any more). */
  clearRetirementGate(): void {
    this.gate = null;
  }

  /**
   * Applies updates; resources whose version did not change are ignored. Notifies listeners once.
   * Retirements (with a gate) become one batch handed to the gate after the listeners ran.
   */
  apply(updates: readonly ResourceUpdate[], observedAt: number = performance.now()): TypeChange[] {
    const changes: TypeChange[] = [];
    const retired = new Map<string, Set<string>>();
    for (const update of updates) {
      const table = this.table(update.typeUrl);
      const changed = new Set<string>();
      const removed = new Set<string>();
      const prior = new Map<string, string | undefined>();
      const upserted = new Set<string>();
      for (const entry of update.upserts) {
        upserted.add(entry.name);
        this.unretire(update.typeUrl, entry.name);
        const old = table.entries.get(entry.name);
        if (old?.version === entry.version) continue;
        if (old) table.toggle(old);
        table.toggle(entry);
        table.entries.set(entry.name, entry);
        if (!prior.has(entry.name)) prior.set(entry.name, old?.version);
        changed.add(entry.name);
        table.gone.delete(entry.name);
      }
      const removals = this.gate ? update.removals : [...update.removals, ...(update.retirements ?? [])];
      if (this.gate) {
        for (const name of update.retirements ?? []) {
          if (upserted.has(name) || !table.entries.has(name) || this.retiring.get(update.typeUrl)?.has(name)) continue;
          if (!retired.has(update.typeUrl)) retired.set(update.typeUrl, new Set());
          retired.get(update.typeUrl)!.add(name);
        }
      }
      for (const name of removals) {
        this.unretire(update.typeUrl, name);
        const old = table.entries.get(name);
        if (!old) continue;
        table.toggle(old);
        table.entries.delete(name);
        if (!prior.has(name)) prior.set(name, old.version);
        changed.add(name);
        removed.add(name);
        table.gone.add(name);
      }
      if (changed.size === 0) continue;
      table.commit(changed, prior);
      changes.push({ typeUrl: update.typeUrl, version: table.version, seq: table.seq, changed, removed, observedAt });
    }
    if (changes.length > 0) for (const l of this.listeners) l(changes);
    if (retired.size > 0 && this.gate) {
      const batch: RetirementBatch = { id: this.nextBatchId++, at: performance.now(), steps: changes, names: retired };
      for (const [typeUrl, names] of retired) {
        if (!this.retiring.has(typeUrl)) this.retiring.set(typeUrl, new Map());
        for (const n of names) this.retiring.get(typeUrl)!.set(n, batch);
      }
      this.gate.admit(batch);
    }
    return changes;
  }

  /** Removes what is still retiring of a batch, or only the names `which` accepts (one step per type). */
  release(batch: RetirementBatch, which: (typeUrl: string, name: string) => boolean = () => true): TypeChange[] {
    const updates: ResourceUpdate[] = [];
    for (const [typeUrl, names] of batch.names) {
      const removals = [...names].filter((n) => which(typeUrl, n));
      for (const n of removals) this.unretire(typeUrl, n);
      if (removals.length > 0) updates.push({ typeUrl, upserts: [], removals });
    }
    return updates.length > 0 ? this.apply(updates) : [];
  }

  /** Names still served but retiring, per type. */
  retiringNames(): ReadonlyMap<string, ReadonlyMap<string, RetirementBatch>> {
    return this.retiring;
  }

  private unretire(typeUrl: string, name: string): void {
    const byName = this.retiring.get(typeUrl);
    const batch = byName?.get(name);
    if (!batch) return;
    byName!.delete(name);
    batch.names.get(typeUrl)?.delete(name);
  }

  get(typeUrl: string, name: string): EncodedResource | undefined {
    return this.tables.get(typeUrl)?.entries.get(name);
  }

  /** All current resources of a type (live view: do not hold across an apply). */
  entries(typeUrl: string): ReadonlyMap<string, EncodedResource> {
    return this.table(typeUrl).entries;
  }

  version(typeUrl: string): string {
    return this.table(typeUrl).version;
  }

  seq(typeUrl: string): number {
    return this.table(typeUrl).seq;
  }

  /**
   * Names that changed after step `sinceSeq`, or 'all' when the log no longer reaches back that far
   * (the caller then re-checks everything it subscribes to).
   */
  changedSince(typeUrl: string, sinceSeq: number): ReadonlySet<string> | 'all' {
    const table = this.table(typeUrl);
    if (sinceSeq >= table.seq) return EMPTY;
    const first = table.log[0];
    if (!first || first.seq > sinceSeq + 1) return 'all';
    // Steps are consecutive, so the first one after sinceSeq is found by arithmetic.
    const from = sinceSeq + 1 - first.seq;
    if (from === table.log.length - 1) return table.log[from]!.names;
    let union = table.unions.get(sinceSeq);
    if (!union) {
      const u = new Set<string>();
      for (let i = from; i < table.log.length; i++) for (const n of table.log[i]!.names) u.add(n);
      table.unions.set(sinceSeq, u);
      union = u;
    }
    return union;
  }

  /**
   * For every name changed after step `sinceSeq`, its version at that step (undefined when it did
   * not exist then); 'all' when the log no longer reaches back that far. Lets a delta stream that
   * holds "the cache at step N" know what its client holds without a map of its own. Computed once
   * per (step, current seq) for every stream at that step.
   */
  versionsAt(typeUrl: string, sinceSeq: number): VersionsAt | 'all' {
    const table = this.table(typeUrl);
    if (sinceSeq >= table.seq) return NO_VERSIONS;
    const first = table.log[0];
    if (!first || first.seq > sinceSeq + 1) return 'all';
    const from = sinceSeq + 1 - first.seq;
    if (from === table.log.length - 1) return table.log[from]!.prior;
    let out = table.priors.get(sinceSeq);
    if (!out) {
      const m = new Map<string, string | undefined>();
      // The earliest step that changed a name knows what it was before: that is its version at sinceSeq.
      for (let i = from; i < table.log.length; i++) for (const [n, v] of table.log[i]!.prior) if (!m.has(n)) m.set(n, v);
      table.priors.set(sinceSeq, m);
      out = m;
    }
    return out;
  }

  /** Names once served and removed since (not back): what a client far behind may still hold. */
  goneNames(typeUrl: string): ReadonlySet<string> {
    return this.table(typeUrl).gone;
  }

  hasType(typeUrl: string): boolean {
    return this.tables.has(typeUrl);
  }

  private table(typeUrl: string): TypeTable {
    const t = this.tables.get(typeUrl);
    if (!t) throw new Error(`resource cache does not hold type ${typeUrl}`);
    return t;
  }
}

const EMPTY: ReadonlySet<string> = new Set();
const NO_VERSIONS: VersionsAt = new Map();
