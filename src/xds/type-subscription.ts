// What one stream subscribes to for one resource type, and what it was sent, ACKed and NACKed.
// This is also what the admin pages show per proxy (sent vs ACKed version, last NACK).
import { intersects, sameBytes, type NameSetPool } from './name-sets.js';

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
  names: ReadonlySet<string> = new Set<string>();
  /** Cache step of the data last sent; -1 before the first response. */
  sentSeq = -1;
  nonce: string | null = null;
  sentVersion = '';
  ackedVersion = '';
  /** Cache step of the response `nonce` names (-1: none sent yet). */
  nonceSeq = -1;
  /** Cache step of the latest response the proxy ACKed (-1: none); a NACK leaves it. */
  ackedSeq = -1;
  lastNack: NackRecord | null = null;
  /** Responses owed regardless of changes (a request to answer, new names to deliver). */
  pending: Pending | null = null;

  constructor(readonly typeUrl: string) {}

  subscribes(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }

  /** Adds names (or everything) to what the next flush must send. */
  owe(what: 'all' | ReadonlySet<string>): void {
    if (what === 'all' || this.pending === 'all') {
      this.pending = 'all';
      return;
    }
    if (!this.pending) this.pending = new Set();
    for (const n of what) this.pending.add(n);
  }

  /**
   * Whether this subscription was sent resources that the change of `changed` at step `seq` may
   * have made refer elsewhere, and has not yet ACKed a response at or after that step: while it
   * has not, what they referred to must stay (make before break, see retirement-gate.ts).
   */
  awaitsAckOf(seq: number, changed: ReadonlySet<string>): boolean {
    if (this.nonce === null || this.ackedSeq >= seq) return false;
    return this.wildcard || intersects(changed, this.names);
  }

  /**
   * The stream moves to another view: steps of the old cache mean nothing in the new one. Every
   * subscribed resource is owed again, and no ACK counts until one of a response from the new view.
   */
  rebase(): void {
    this.sentSeq = -1;
    this.nonceSeq = -1;
    this.ackedSeq = -1;
    this.owe('all');
  }

  abstract syncState(): SyncState;
}

/** The resource names of a SotW request, with their encoded bytes when the decoder kept them. */
export interface RequestedNames {
  readonly resource_names: readonly string[];
  readonly resource_names_bytes?: Uint8Array;
}

const NOTHING_ADDED: ReadonlySet<string> = new Set();

export class TypeSubscription extends SubscriptionBase {
  /** True while the stream never named a resource: empty names keep meaning "everything". */
  private legacyWildcard = true;
  /** The encoded names `names` was built from (shared with the pool); null when built from strings. */
  private namesBytes: Uint8Array | null = null;

  /** The names are a pool's set, shared with every subscription that asked for the same ones. */
  get sharesNames(): boolean {
    return this.namesBytes !== null;
  }

  /**
   * Applies the resource_names of a request, as updateNames does. When the request kept its
   * encoded names and they equal the last applied ones byte for byte (every ACK of an unchanged
   * subscription), nothing is decoded or diffed. Otherwise the names become the pool's shared set.
   */
  updateFromRequest(req: RequestedNames, intern: (name: string) => string, pool: NameSetPool): ReadonlySet<string> | 'all' {
    const bytes = req.resource_names_bytes;
    if (!bytes) return this.updateNames(req.resource_names, intern);
    if (this.namesBytes && sameBytes(bytes, this.namesBytes)) return NOTHING_ADDED;
    // Names are decoded only when no other subscription holds a set of exactly these.
    const shared = pool.share(bytes, () => {
      const names = new Set<string>();
      let explicitWildcard = false;
      for (const n of req.resource_names) {
        if (n === '*') explicitWildcard = true;
        else names.add(intern(n));
      }
      return { names, explicitWildcard };
    });
    const becameWildcard = this.applyWildcard(shared.explicitWildcard, shared.names.size);
    let fresh: ReadonlySet<string> = shared.names;
    if (this.names.size > 0) {
      const added = new Set<string>();
      for (const n of shared.names) if (!this.names.has(n)) added.add(n);
      fresh = added;
    }
    this.names = shared.names;
    this.namesBytes = shared.bytes;
    return becameWildcard ? 'all' : fresh;
  }

  /**
   * Applies the resource_names of a request. Returns the names newly subscribed, or 'all' when the
   * stream became a wildcard subscriber (then every resource is due).
   */
  updateNames(requested: readonly string[], intern: (name: string) => string = (n) => n): ReadonlySet<string> | 'all' {
    const named = requested.filter((n) => n !== '*');
    const becameWildcard = this.applyWildcard(requested.includes('*'), named.length);
    // A set shared with other streams is never modified: this stream takes a private copy.
    const own = this.namesBytes ? new Set(this.names) : (this.names as Set<string>);
    this.namesBytes = null;
    this.names = own;
    const added = new Set<string>();
    const next = new Set(named);
    for (const n of next) if (!own.has(n)) added.add(n);
    for (const n of [...own]) if (!next.has(n)) own.delete(n);
    // Only names new to the set are interned: the hot ACK path repeats the same names.
    for (const n of added) own.add(intern(n));
    return becameWildcard ? 'all' : added;
  }

  /** Updates the wildcard state for a request; true when the stream just became a wildcard subscriber. */
  private applyWildcard(explicitWildcard: boolean, namedCount: number): boolean {
    if (namedCount > 0 || explicitWildcard) this.legacyWildcard = false;
    const becomesWildcard = explicitWildcard || (this.legacyWildcard && namedCount === 0);
    const wasWildcard = this.wildcard;
    this.wildcard = becomesWildcard;
    return becomesWildcard && !wasWildcard;
  }

  syncState(): SyncState {
    if (this.nonce === null) return 'NOT_SENT';
    if (this.lastNack && this.lastNack.version === this.sentVersion) return 'NACKED';
    return this.ackedVersion === this.sentVersion ? 'SYNCED' : 'STALE';
  }
}
