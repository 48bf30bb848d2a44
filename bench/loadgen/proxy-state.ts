// What one simulated proxy holds and wants on its current stream, per resource type, and how the
// wanted names follow from what it holds: an Envoy asks EDS for its EDS clusters and RDS for its
// listeners' routes; a gRPC client walks listener -> route -> clusters -> endpoints for one target.
//
// Sets of wanted names are never modified once built (they may be shared between proxies and
// cached with their encoded form); a change replaces the set.
import type { XdsType } from './resource-scan.js';
import { LayeredMap } from './layered-map.js';
import { scanCache, type FactOf } from './scan-cache.js';
import type { ResourceList } from './discovery-decode.js';

export type Style = 'envoy' | 'grpc';

export interface TypeState {
  readonly type: XdsType;
  /** A request for this type was sent on the current stream. */
  subscribed: boolean;
  wildcard: boolean;
  /** Explicitly subscribed names (empty for a wildcard subscription). Replaced, never modified. */
  wanted: ReadonlySet<string>;
  /** At least one response of this type was received (and ACKed) on the current stream. */
  acked: boolean;
}

/** A subscription change the protocol layer must send. */
export interface SubscriptionChange {
  readonly type: XdsType;
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/** Downstream types, in the order their wanted names must be recomputed after a response. */
const DEPENDENTS: Record<Style, Record<XdsType, readonly XdsType[]>> = {
  envoy: { CDS: ['EDS'], LDS: ['RDS'], RDS: [], EDS: [] },
  grpc: { LDS: ['RDS', 'CDS', 'EDS'], RDS: ['CDS', 'EDS'], CDS: ['EDS'], EDS: [] },
};

const EMPTY: ReadonlySet<string> = new Set();

export class ProxyState {
  readonly types: Record<XdsType, TypeState>;
  readonly held: { readonly [T in XdsType]: LayeredMap<FactOf[T]> } = {
    CDS: new LayeredMap(),
    EDS: new LayeredMap(),
    LDS: new LayeredMap(),
    RDS: new LayeredMap(),
  };

  constructor(
    readonly style: Style,
    /** The authority a grpc-style proxy dials. */
    readonly target?: string,
  ) {
    if (style === 'grpc' && !target) throw new Error('a grpc-style proxy needs a target');
    const state = (type: XdsType): TypeState => ({ type, subscribed: false, wildcard: false, wanted: EMPTY, acked: false });
    this.types = { CDS: state('CDS'), EDS: state('EDS'), LDS: state('LDS'), RDS: state('RDS') };
  }

  /** The first subscriptions of a stream. */
  initialSubscriptions(): SubscriptionChange[] {
    if (this.style === 'envoy') {
      for (const t of ['CDS', 'LDS'] as const) Object.assign(this.types[t], { subscribed: true, wildcard: true });
      return [
        { type: 'CDS', added: [], removed: [] },
        { type: 'LDS', added: [], removed: [] },
      ];
    }
    Object.assign(this.types.LDS, { subscribed: true, wanted: new Set([this.target!]) });
    return [{ type: 'LDS', added: [this.target!], removed: [] }];
  }

  /**
   * Takes in one response. `replace` marks a state-of-the-world response of a full-state type
   * (CDS, LDS), where a resource left out is deleted. Returns the names of the resources received.
   */
  apply(type: XdsType, resources: ResourceList, removed: readonly string[], replace: boolean): readonly string[] {
    const scanned = scanCache.scan(type, resources, this.style === 'grpc' ? this.target : undefined);
    const held = this.held[type] as LayeredMap<FactOf[XdsType]>;
    if (replace || (held.size === 0 && removed.length === 0)) held.adopt(scanned.map);
    else {
      for (const n of removed) held.delete(n);
      for (const [n, fact] of scanned.map) held.set(n, fact);
    }
    this.types[type].acked = true;
    return scanned.names;
  }

  /** Recomputes the wanted names of the types downstream of `type`; returns what changed. */
  reconcile(type: XdsType): SubscriptionChange[] {
    const changes: SubscriptionChange[] = [];
    for (const t of DEPENDENTS[this.style][type]) {
      const change = this.want(t, this.desired(t));
      if (change) changes.push(change);
    }
    return changes;
  }

  /** Every subscribed type answered, and every name asked for is held. */
  synced(): boolean {
    for (const t of Object.values(this.types)) {
      // Subscribed once but nothing asked for any more (every cluster gone): nothing to wait for.
      if (!t.subscribed || (!t.wildcard && t.wanted.size === 0)) continue;
      if (!t.acked) return false;
      if (t.wildcard) continue;
      if (!holdsAll(this.held[t.type], t.wanted)) return false;
    }
    return true;
  }

  endpoints(): number {
    const base = this.held.EDS.pureBase;
    if (base) return memo(endpointTotals, base, () => sum(base.values()));
    return sum(this.held.EDS.values());
  }

  private desired(type: XdsType): ReadonlySet<string> {
    if (this.style === 'envoy') {
      if (type === 'EDS') return derived(this.held.CDS, edsNamesOf);
      if (type === 'RDS') return derived(this.held.LDS, routeNamesOf);
      return EMPTY;
    }
    const out = new Set<string>();
    if (type === 'RDS') for (const r of this.held.LDS.get(this.target!)?.routeNames ?? []) out.add(r);
    else if (type === 'CDS') {
      for (const c of this.held.LDS.get(this.target!)?.inlineClusters ?? []) out.add(c);
      for (const r of this.types.RDS.wanted) for (const c of this.held.RDS.get(r) ?? []) out.add(c);
    } else if (type === 'EDS') {
      for (const c of this.types.CDS.wanted) {
        const eds = this.held.CDS.get(c);
        if (eds) out.add(eds);
      }
    }
    return out;
  }

  private want(type: XdsType, next: ReadonlySet<string>): SubscriptionChange | null {
    const t = this.types[type];
    if (next === t.wanted) return null;
    const added = t.wanted.size === 0 ? namesOf(next) : [...next].filter((n) => !t.wanted.has(n));
    const removed = next.size === 0 ? namesOf(t.wanted) : [...t.wanted].filter((n) => !next.has(n));
    if (added.length === 0 && removed.length === 0) return null;
    t.wanted = next;
    t.subscribed = true;
    // What is no longer wanted is forgotten, as Envoy and gRPC do.
    for (const n of removed) this.held[type].delete(n);
    return { type, added, removed };
  }
}

// Memos keyed by shared, never-modified objects (scan-cache maps, derived name sets): what 2,000
// proxies holding the same resources would each compute is computed once.
const endpointTotals = new WeakMap<object, number>();
const coverage = new WeakMap<object, WeakMap<ReadonlySet<string>, boolean>>();

function memo<K extends object, V>(cache: WeakMap<K, V>, key: K, compute: () => V): V {
  let v = cache.get(key);
  if (v === undefined) cache.set(key, (v = compute()));
  return v;
}

function holdsAll(held: LayeredMap<unknown>, wanted: ReadonlySet<string>): boolean {
  const all = (m: { has(k: string): boolean }) => {
    for (const n of wanted) if (!m.has(n)) return false;
    return true;
  };
  const base = held.pureBase;
  if (!base) return all(held);
  return memo(
    memo(coverage, base, () => new WeakMap<ReadonlySet<string>, boolean>()),
    wanted,
    () => all(base),
  );
}

function sum(xs: Iterable<number>): number {
  let n = 0;
  for (const x of xs) n += x;
  return n;
}

const arrays = new WeakMap<ReadonlySet<string>, readonly string[]>();

/** The names of a set as an array, one array per set: shared sets share it, and its encoding. */
export function namesOf(set: ReadonlySet<string>): readonly string[] {
  let a = arrays.get(set);
  if (!a) arrays.set(set, (a = [...set]));
  return a;
}

const derivedCache = new WeakMap<object, WeakMap<(values: Iterable<never>) => ReadonlySet<string>, ReadonlySet<string>>>();

/**
 * A set computed from a map's values; computed once per shared base map, so proxies holding the
 * same clusters also share (and send) the same EDS name set.
 */
function derived<V>(map: LayeredMap<V>, compute: (values: Iterable<V>) => ReadonlySet<string>): ReadonlySet<string> {
  const base = map.pureBase;
  if (!base) return compute(map.values());
  let perBase = derivedCache.get(base);
  if (!perBase) derivedCache.set(base, (perBase = new WeakMap()));
  const key = compute as (values: Iterable<never>) => ReadonlySet<string>;
  let s = perBase.get(key);
  if (!s) perBase.set(key, (s = compute(base.values())));
  return s;
}

function edsNamesOf(clusters: Iterable<string | null>): ReadonlySet<string> {
  const out = new Set<string>();
  for (const eds of clusters) if (eds) out.add(eds);
  return out;
}

function routeNamesOf(listeners: Iterable<FactOf['LDS']>): ReadonlySet<string> {
  const out = new Set<string>();
  for (const l of listeners) for (const r of l.routeNames) out.add(r);
  return out;
}
