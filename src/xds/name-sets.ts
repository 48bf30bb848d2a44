// One read-only Set of resource names per distinct request, shared by every subscription that asked
// for exactly those names. Thousands of Envoys behind one control plane hold the same clusters and
// so send the same ~1,000 EDS names: without sharing, each stream kept its own Set of them (most of
// an idle Envoy stream's memory). Sets are keyed by the encoded resource_names bytes and live as
// long as a subscription holds them (weak references; the GC drops unused ones).
import { createHash } from 'node:crypto';

export interface SharedNameSet {
  /** The encoded resource_names the set was built from (a private copy). */
  readonly bytes: Uint8Array;
  /** The names, '*' left out. */
  readonly names: ReadonlySet<string>;
  /** The request listed '*'. */
  readonly explicitWildcard: boolean;
}

export class NameSetPool {
  private readonly byDigest = new Map<string, WeakRef<SharedNameSet>>();
  private readonly forget = new FinalizationRegistry<string>((digest) => {
    if (!this.byDigest.get(digest)?.deref()) this.byDigest.delete(digest);
  });

  /** The shared set for these encoded names; `build` makes it when no live subscription holds one. */
  share(bytes: Uint8Array, build: () => { names: ReadonlySet<string>; explicitWildcard: boolean }): SharedNameSet {
    const digest = createHash('sha256').update(bytes).digest('base64');
    const hit = this.byDigest.get(digest)?.deref();
    if (hit && sameBytes(hit.bytes, bytes)) return hit;
    const made: SharedNameSet = { bytes: new Uint8Array(bytes), ...build() };
    // A digest collision (not expected with sha256) just leaves the other set unshared.
    if (!hit) {
      this.byDigest.set(digest, new WeakRef(made));
      this.forget.register(made, digest);
    }
    return made;
  }

  /**
   * The shared set equal to `names`, iteration order included (delta streams build theirs from
   * subscribe/unsubscribe lists, so identical clients reach identical sets in the same order).
   * The pool holds it only weakly: the caller keeps the returned object for as long as it uses it.
   */
  shareSet(names: ReadonlySet<string>): SharedNameSet {
    const key = Buffer.from(JSON.stringify([...names]));
    return this.share(key, () => ({ names, explicitWildcard: false }));
  }

  /** Distinct sets currently tracked (tests, admin). */
  get size(): number {
    return this.byDigest.size;
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a === b || (a.byteLength === b.byteLength && Buffer.compare(a, b) === 0);
}

/**
 * What the streams of one server share: the name-set pools (SotW and delta keyed apart) and the
 * memo of which name sets the change being dispatched touches. One per server, so that two servers
 * in a process (tests, benchmarks) never see each other's state.
 */
export class NameSharing {
  readonly sotw = new NameSetPool();
  readonly delta = new NameSetPool();
  private lastChange: { changed: ReadonlySet<string>; byNames: Map<ReadonlySet<string>, boolean> } | null = null;

  /**
   * Whether a cache change touches a set of names, remembered per name set for the change being
   * dispatched: the server hands one change to every stream in turn, and thousands of Envoy
   * streams share one name set.
   */
  touches(changed: ReadonlySet<string>, names: ReadonlySet<string>): boolean {
    if (this.lastChange?.changed !== changed) this.lastChange = { changed, byNames: new Map() };
    let hit = this.lastChange.byNames.get(names);
    if (hit === undefined) this.lastChange.byNames.set(names, (hit = intersects(changed, names)));
    return hit;
  }
}

export function intersects(a: ReadonlySet<string> | 'all', b: ReadonlySet<string>): boolean {
  if (a === 'all') return b.size > 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const x of small) if (large.has(x)) return true;
  return false;
}
