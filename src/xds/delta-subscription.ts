// What one delta stream subscribes to for one type, which resource versions the client holds,
// and its ACK/NACK record. Unlike state of the world, each response is ACKed or NACKed on its own.
//
// What the client holds is kept in one of two forms. Usually it is implicit: "every resource in
// scope (subscribed, or all for a wildcard) at the version the cache had at step sentSeq", which
// costs nothing per stream and lets identical streams share name sets and response bodies. When
// the client holds something else (it reconnected with initial_resource_versions, or its scope
// changed between wildcard and names), an explicit map of name -> version is kept instead, until
// the next full re-check makes the two agree again.
import { truncateDetail } from './nack-log.js';
import { SubscriptionBase, type SyncState } from './type-subscription.js';
import type { NameSetPool, SharedNameSet } from './name-sets.js';

/** Unanswered responses remembered per type; older ones are forgotten (their reply just counts). */
const OUTSTANDING_LIMIT = 32;

export class DeltaSubscription extends SubscriptionBase {
  /** Resource name to the version the client holds, when that is not simply the cache at sentSeq. */
  known: Map<string, string> | null = null;
  /** The pool's entry for `names` (held so the pool keeps it while this subscription uses it). */
  private shared: SharedNameSet | null = null;
  private lastReplyNack = false;
  /** Unanswered responses: nonce -> the version and cache step they carried. */
  private readonly outstanding = new Map<string, { version: string; seq: number }>();

  /** The names are a pool's set, shared with every subscription that reached the same ones. */
  get sharesNames(): boolean {
    return this.shared !== null;
  }

  /**
   * Applies a request's subscribe/unsubscribe lists. `first` marks the stream's first request for
   * this type, where an empty subscribe list means wildcard (the legacy form). The names become the
   * pool's shared set (a new one on every change: shared sets are never modified).
   */
  update(
    subscribe: readonly string[],
    unsubscribe: readonly string[],
    first: boolean,
    intern: (name: string) => string = (n) => n,
    pool: NameSetPool | null = null,
  ): void {
    if (first && subscribe.length === 0) this.wildcard = true;
    if (pool && this.names.size === 0 && unsubscribe.length === 0 && subscribe.length > 0 && this.subscribeFirst(subscribe, intern, pool)) return;
    let next: Set<string> | null = null;
    const added: string[] = [];
    for (const n of subscribe) {
      if (n === '*') {
        if (!this.wildcard) this.owe('all');
        this.wildcard = true;
      } else if (!(next ?? this.names).has(n)) {
        next ??= new Set(this.names);
        const canonical = intern(n);
        next.add(canonical);
        added.push(canonical);
      }
    }
    for (const n of unsubscribe) {
      if (n === '*') {
        this.wildcard = false;
        continue;
      }
      if ((next ?? this.names).has(n)) {
        next ??= new Set(this.names);
        next.delete(n);
      }
      // Forgotten, so that a later re-subscription sends the resource again.
      this.known?.delete(n);
    }
    if (next) {
      this.shared = pool ? pool.shareSet(next) : null;
      this.names = this.shared?.names ?? next;
    }
    if (added.length > 0) this.owe(new Set(added));
  }

  /**
   * A subscription's first names (Envoy sends its ~1,000 clusters in one list), keyed by the list
   * as sent: identical clients find the pool's set without building one each. Duplicates in the
   * list only make the key differ from shareSet()'s; the set is the same. False if '*' is listed.
   */
  private subscribeFirst(subscribe: readonly string[], intern: (name: string) => string, pool: NameSetPool): boolean {
    if (subscribe.includes('*')) return false;
    this.shared = pool.share(Buffer.from(JSON.stringify(subscribe)), () => ({ names: new Set(subscribe.map(intern)), explicitWildcard: false }));
    this.names = this.shared.names;
    this.owe(this.names);
    return true;
  }

  /** As SubscriptionBase.rebase; replies to responses of the old view no longer move ackedSeq. */
  override rebase(): void {
    super.rebase();
    for (const [nonce, sent] of this.outstanding) this.outstanding.set(nonce, { ...sent, seq: -1 });
  }

  recordSent(nonce: string, version: string, seq: number = this.sentSeq): void {
    this.nonce = nonce;
    this.sentVersion = version;
    this.nonceSeq = seq;
    this.outstanding.set(nonce, { version, seq });
    if (this.outstanding.size > OUTSTANDING_LIMIT) this.outstanding.delete(this.outstanding.keys().next().value!);
  }

  /** Records an ACK or NACK; returns the version it answered, or null for an unknown nonce. */
  recordReply(nonce: string, nack: { message: string } | null): string | null {
    const sent = this.outstanding.get(nonce);
    if (sent === undefined) return null;
    const { version, seq } = sent;
    this.outstanding.delete(nonce);
    if (nack) {
      this.lastNack = { nonce, version, message: truncateDetail(nack.message, 4096), at: new Date() };
      this.lastReplyNack = true;
    } else {
      this.ackedVersion = version;
      this.ackedSeq = Math.max(this.ackedSeq, seq);
      this.lastReplyNack = false;
    }
    return version;
  }

  syncState(): SyncState {
    if (this.nonce === null) return 'NOT_SENT';
    if (this.lastReplyNack) return 'NACKED';
    return this.ackedVersion === this.sentVersion && this.outstanding.size === 0 ? 'SYNCED' : 'STALE';
  }
}
