// A map over a shared, read-only base plus this owner's own changes. Thousands of simulated proxies
// receive the same 1,000 clusters: each adopts one shared map (O(1)) instead of filling its own,
// and a later change to one resource costs one entry, not a copy of the whole map.

export class LayeredMap<V> {
  private base: ReadonlyMap<string, V> | null = null;
  private own = new Map<string, V>();
  /** Base keys deleted (or replaced, then deleted) by this owner. */
  private hidden = new Set<string>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The shared base, when this map holds exactly that and nothing of its own. */
  get pureBase(): ReadonlyMap<string, V> | null {
    return this.own.size === 0 && this.hidden.size === 0 ? this.base : null;
  }

  /** Replaces the whole content with a shared map (never modified through this object). */
  adopt(base: ReadonlyMap<string, V>): void {
    this.base = base;
    this.own = new Map();
    this.hidden = new Set();
    this.count = base.size;
  }

  clear(): void {
    this.base = null;
    this.own = new Map();
    this.hidden = new Set();
    this.count = 0;
  }

  has(key: string): boolean {
    if (this.own.size === 0 && this.hidden.size === 0) return this.base?.has(key) === true;
    return this.own.has(key) || (!this.hidden.has(key) && this.base !== null && this.base.has(key));
  }

  get(key: string): V | undefined {
    const v = this.own.get(key);
    if (v !== undefined || this.own.has(key)) return v;
    return this.hidden.has(key) ? undefined : this.base?.get(key);
  }

  set(key: string, value: V): void {
    if (!this.has(key)) this.count++;
    this.own.set(key, value);
  }

  delete(key: string): void {
    if (!this.has(key)) return;
    this.count--;
    this.own.delete(key);
    if (this.base?.has(key)) this.hidden.add(key);
  }

  *entries(): IterableIterator<[string, V]> {
    if (this.base) for (const e of this.base) if (!this.own.has(e[0]) && !this.hidden.has(e[0])) yield e;
    yield* this.own;
  }

  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  *keys(): IterableIterator<string> {
    for (const [k] of this.entries()) yield k;
  }
}
