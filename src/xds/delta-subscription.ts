// What one delta stream subscribes to for one type, which resource versions the client holds,
// and its ACK/NACK record. Unlike state of the world, each response is ACKed or NACKed on its own.
import { SubscriptionBase, type SyncState } from './type-subscription.js';

/** Unanswered responses remembered per type; older ones are forgotten (their reply just counts). */
const OUTSTANDING_LIMIT = 32;

export class DeltaSubscription extends SubscriptionBase {
  /** Changed in place by subscribe/unsubscribe lists (delta requests carry differences, not sets). */
  override readonly names = new Set<string>();
  /** Resource name to the version the client holds (as it told us, or as we last sent it). */
  readonly known = new Map<string, string>();
  private lastReplyNack = false;
  private readonly outstanding = new Map<string, string>();

  /**
   * Applies a request's subscribe/unsubscribe lists. `first` marks the stream's first request for
   * this type, where an empty subscribe list means wildcard (the legacy form).
   */
  update(subscribe: readonly string[], unsubscribe: readonly string[], first: boolean, intern: (name: string) => string = (n) => n): void {
    if (first && subscribe.length === 0) this.wildcard = true;
    const added: string[] = [];
    for (const n of subscribe) {
      if (n === '*') {
        if (!this.wildcard) this.owe('all');
        this.wildcard = true;
      } else if (!this.names.has(n)) {
        const canonical = intern(n);
        this.names.add(canonical);
        added.push(canonical);
      }
    }
    for (const n of unsubscribe) {
      if (n === '*') this.wildcard = false;
      else this.names.delete(n);
      // Forgotten, so that a later re-subscription sends the resource again.
      if (n !== '*') this.known.delete(n);
    }
    if (added.length > 0) this.owe(new Set(added));
  }

  recordSent(nonce: string, version: string): void {
    this.nonce = nonce;
    this.sentVersion = version;
    this.outstanding.set(nonce, version);
    if (this.outstanding.size > OUTSTANDING_LIMIT) this.outstanding.delete(this.outstanding.keys().next().value!);
  }

  /** Records an ACK or NACK; returns the version it answered, or null for an unknown nonce. */
  recordReply(nonce: string, nack: { message: string } | null): string | null {
    const version = this.outstanding.get(nonce);
    if (version === undefined) return null;
    this.outstanding.delete(nonce);
    if (nack) {
      this.lastNack = { nonce, version, message: nack.message, at: new Date() };
      this.lastReplyNack = true;
    } else {
      this.ackedVersion = version;
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
