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

  /** Distinct sets currently tracked (tests, admin). */
  get size(): number {
    return this.byDigest.size;
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a === b || (a.byteLength === b.byteLength && Buffer.compare(a, b) === 0);
}

/** The pool SotW streams share within a process. */
export const SHARED_NAME_SETS = new NameSetPool();
