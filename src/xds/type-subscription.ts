// What one stream subscribes to for one resource type, and what it was sent, ACKed and NACKed.
// This is also what the admin pages show per proxy (sent vs ACKed version, last NACK).

export interface NackRecord {
  readonly nonce: string;
  /** The version that was rejected. */
  readonly version: string;
  readonly message: string;
  readonly at: Date;
}

export type SyncState = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT_SENT';

/** 'all' = send every subscribed resource; a set = send these names (plus what changed). */
export type Pending = 'all' | Set<string>;

/** What both protocol variants keep per stream and type: subscription, what is owed, what was sent. */
export abstract class SubscriptionBase {
  wildcard = false;
  readonly names = new Set<string>();
  /** Cache step of the data last sent; -1 before the first response. */
  sentSeq = -1;
  nonce: string | null = null;
  sentVersion = '';
  ackedVersion = '';
  lastNack: NackRecord | null = null;
  /** Responses owed regardless of changes (a request to answer, new names to deliver). */
  pending: Pending | null = null;

  constructor(readonly typeUrl: string) {}

  subscribes(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }

  /** Adds names (or everything) to what the next flush must send. */
  owe(what: Pending): void {
    if (what === 'all' || this.pending === 'all') {
      this.pending = 'all';
      return;
    }
    if (!this.pending) this.pending = new Set();
    for (const n of what) this.pending.add(n);
  }

  abstract syncState(): SyncState;
}

export class TypeSubscription extends SubscriptionBase {
  /** True while the stream never named a resource: empty names keep meaning "everything". */
  private legacyWildcard = true;

  /**
   * Applies the resource_names of a request. Returns the names newly subscribed, or 'all' when the
   * stream became a wildcard subscriber (then every resource is due).
   */
  updateNames(requested: readonly string[], intern: (name: string) => string = (n) => n): Set<string> | 'all' {
    const explicitWildcard = requested.includes('*');
    const named = requested.filter((n) => n !== '*');
    if (named.length > 0 || explicitWildcard) this.legacyWildcard = false;
    const becomesWildcard = explicitWildcard || (this.legacyWildcard && named.length === 0);
    const wasWildcard = this.wildcard;
    this.wildcard = becomesWildcard;
    const added = new Set<string>();
    const next = new Set(named);
    for (const n of next) if (!this.names.has(n)) added.add(n);
    for (const n of [...this.names]) if (!next.has(n)) this.names.delete(n);
    // Only names new to the set are interned: the hot ACK path repeats the same names.
    for (const n of added) this.names.add(intern(n));
    return becomesWildcard && !wasWildcard ? 'all' : added;
  }

  syncState(): SyncState {
    if (this.nonce === null) return 'NOT_SENT';
    if (this.lastNack && this.lastNack.version === this.sentVersion) return 'NACKED';
    return this.ackedVersion === this.sentVersion ? 'SYNCED' : 'STALE';
  }
}
