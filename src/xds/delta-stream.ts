// One incremental (delta) xDS stream: subscribe/unsubscribe, wildcard, initial_resource_versions,
// per-resource versions, removed_resources, and ACK/NACK per nonce. Only resources whose version
// differs from what the client holds are sent; a NACKed version is not sent again until it changes.
// Streams that hold "the cache at step N" of the same shared name set (see delta-subscription.ts)
// get one response body per cache step between them.
import { encodeDeltaBody, type DeltaDiscoveryRequestMessage, type OutgoingDeltaResponse } from './delta-messages.js';
import type { EncodedResource } from './resource-encoding.js';
import { shortTypeName } from './resource-types.js';
import { StreamBase } from './stream-base.js';
import { truncateDetail } from './nack-log.js';
import { DeltaSubscription } from './delta-subscription.js';
import type { VersionsAt } from './resource-cache.js';
import { ALL_SUBSCRIBED, EVERY_NAME, type DeltaBody } from './shared-bodies.js';
import { childOf } from './metric-children.js';

export class DeltaStream extends StreamBase<DeltaSubscription, OutgoingDeltaResponse> {
  onRequest(req: DeltaDiscoveryRequestMessage): void {
    this.adopt(req.node);
    const typeUrl = req.type_url || this.onlyType || '';
    if (!typeUrl || (this.onlyType && typeUrl !== this.onlyType)) {
      this.env.log.warn({ node: this.nodeId, typeUrl, api: this.info.api }, 'delta request with a missing or foreign type_url ignored');
      return;
    }
    let sub = this.subscriptions.get(typeUrl);
    const first = !sub;
    if (!sub) {
      sub = new DeltaSubscription(typeUrl);
      this.subscriptions.set(typeUrl, sub);
      // A reconnecting client says what it already holds: only differences are sent back.
      const initial = Object.entries(req.initial_resource_versions ?? {});
      if (initial.length > 0) sub.known = new Map(initial.map(([name, version]) => [this.intern(typeUrl, name), version]));
      sub.owe('all');
    }
    if (req.response_nonce) this.recordReply(sub, req);
    // Moving between wildcard and named scope changes what "the cache at step N" covers: what the
    // client holds is written down first.
    const wildcardFlips = sub.wildcard ? req.resource_names_unsubscribe.includes('*') : req.resource_names_subscribe.includes('*');
    if (wildcardFlips && sub.known === null && sub.sentSeq >= 0) sub.known = this.heldVersions(sub);
    sub.update(req.resource_names_subscribe, req.resource_names_unsubscribe, first, (n) => this.intern(typeUrl, n), this.names.delta);
    if (sub.pending) this.env.schedule(this);
  }

  onCacheChange(typeUrl: string, changed: ReadonlySet<string>, observedAt: number): void {
    const sub = this.subscriptions.get(typeUrl);
    if (!sub || sub.nonce === null) return;
    const known = sub.known;
    let relevant: boolean;
    if (known === null) relevant = sub.wildcard ? changed.size > 0 : this.names.touches(changed, sub.names);
    else {
      relevant = false;
      for (const n of changed) if (sub.subscribes(n) || known.has(n)) relevant = true;
    }
    if (!relevant) return;
    this.changed(typeUrl, observedAt);
  }

  /** What the client holds of this subscription's type, name -> version (admin pages). */
  heldVersions(sub: DeltaSubscription): Map<string, string> {
    if (sub.known !== null) return new Map(sub.known);
    const held = new Map<string, string>();
    const cache = this.view?.cache;
    if (sub.sentSeq < 0 || !cache?.hasType(sub.typeUrl)) return held;
    const at = cache.versionsAt(sub.typeUrl, sub.sentSeq);
    const pending = sub.pending;
    const scope = sub.wildcard ? new Set([...cache.entries(sub.typeUrl).keys(), ...(at === 'all' ? cache.goneNames(sub.typeUrl) : at.keys())]) : sub.names;
    for (const n of scope) {
      if (!sub.wildcard && pending !== null && (pending === 'all' || pending.has(n))) continue;
      // Far behind the change log: what it holds is unknown, and '' matches no version.
      const v =
        at === 'all'
          ? (cache.get(sub.typeUrl, n)?.version ?? (cache.goneNames(sub.typeUrl).has(n) ? '' : undefined))
          : heldAt(at, n, cache.get(sub.typeUrl, n)?.version);
      if (v !== undefined) held.set(n, v);
    }
    return held;
  }

  private recordReply(sub: DeltaSubscription, req: DeltaDiscoveryRequestMessage): void {
    const type = shortTypeName(sub.typeUrl);
    const nack = req.error_detail ? { message: req.error_detail.message } : null;
    const version = sub.recordReply(req.response_nonce, nack);
    if (version === null) {
      // Not a nonce we sent on this stream (istiod-style first requests, or a forgotten one).
      return;
    }
    if (nack) {
      childOf(this.env.metrics.nacks, 'type', type).inc();
      this.rejected(sub.typeUrl, req.response_nonce);
      const event = { node: this.nodeId, type, rejectedVersion: version, nonce: req.response_nonce, message: nack.message };
      const msg = 'proxy rejected a delta response (NACK); it is not re-sent, the next change is';
      if (this.env.nackLog) this.env.nackLog.record(event, msg);
      else this.env.log.warn({ node: event.node, type, rejectedVersion: version, nonce: event.nonce, error: truncateDetail(event.message) }, msg);
    } else {
      childOf(this.env.metrics.acks, 'type', type).inc();
      this.acknowledged(sub.typeUrl, req.response_nonce);
    }
    this.env.onReply?.({ kind: nack ? 'nack' : 'ack', nodeId: this.nodeId, typeUrl: sub.typeUrl, version, at: performance.now() });
  }

  protected buildResponse(sub: DeltaSubscription): OutgoingDeltaResponse | null {
    const { cache } = this.view!;
    const firstResponse = sub.nonce === null;
    const pending = sub.pending;
    sub.pending = null;
    const served = cache.hasType(sub.typeUrl);
    if (served && sub.known === null) return this.buildFromStep(sub, pending, firstResponse);
    // A type not served, or a client holding something other than the cache at a step: name by name.
    const known = sub.known ?? new Map<string, string>();
    // A full re-check compares every name in scope (so afterwards the client holds the cache as is).
    const full = served && (pending === 'all' || sub.sentSeq < 0 || cache.changedSince(sub.typeUrl, sub.sentSeq) === 'all');
    const names = served ? this.candidateNames(sub, known, pending) : new Set<string>();
    if (served) sub.sentSeq = cache.seq(sub.typeUrl);
    const resources: EncodedResource[] = [];
    const removed: string[] = [];
    for (const name of names) {
      if (!sub.subscribes(name) && !known.has(name)) continue;
      const entry = cache.get(sub.typeUrl, name);
      if (entry && sub.subscribes(name)) {
        if (known.get(name) === entry.version) continue;
        resources.push(entry);
        known.set(name, entry.version);
      } else if (known.has(name) || (sub.names.has(name) && pending !== null && (pending === 'all' || pending.has(name)))) {
        // Gone, or no longer covered by a subscription, or asked for by name and not there: the
        // client learns at once instead of waiting for its does-not-exist timer.
        removed.push(name);
        known.delete(name);
      }
    }
    // After a full re-check the client holds exactly the cache at this step: no map needed.
    if (full) sub.known = null;
    if (resources.length === 0 && removed.length === 0 && !firstResponse) return null;
    return this.respond(sub, { systemVersion: served ? cache.version(sub.typeUrl) : '', typeUrl: sub.typeUrl, resources, removed });
  }

  /**
   * The response for a client that holds the cache at step sentSeq: what changed since then, plus
   * what is owed. Streams with the same shared names (or wildcard) at the same step get one body.
   */
  private buildFromStep(sub: DeltaSubscription, pending: 'all' | Set<string> | null, firstResponse: boolean): OutgoingDeltaResponse | null {
    const { cache, bodies } = this.view!;
    const since = pending === 'all' || sub.sentSeq < 0 ? ALL_SUBSCRIBED : sub.sentSeq;
    const build = (): DeltaBody => this.pickFromStep(sub, pending, since);
    const key = sub.wildcard ? (sub.names.size === 0 ? EVERY_NAME : null) : sub.sharesNames ? sub.names : null;
    // Names owed on top of the changes (a subscription just grew) make a body of this stream's own.
    const shareable = key !== null && (pending === null || since === ALL_SUBSCRIBED);
    const picked = shareable ? bodies.deltaPicked(sub.typeUrl, key, since, build) : build();
    sub.sentSeq = cache.seq(sub.typeUrl);
    if (picked.resources.length === 0 && picked.removed.length === 0 && !firstResponse) return null;
    return this.respond(sub, picked);
  }

  /** Compares, name by name, what the client holds at sentSeq (or nothing) with the cache now. */
  private pickFromStep(sub: DeltaSubscription, pending: 'all' | Set<string> | null, since: number): DeltaBody {
    const { cache } = this.view!;
    const typeUrl = sub.typeUrl;
    const entries = cache.entries(typeUrl);
    const at = since === ALL_SUBSCRIBED ? null : cache.versionsAt(typeUrl, since);
    const resources: EncodedResource[] = [];
    const removed: string[] = [];
    const owed = (n: string): boolean => pending !== null && (pending === 'all' || pending.has(n));
    const consider = (n: string, held: string | undefined): void => {
      const entry = sub.subscribes(n) ? entries.get(n) : undefined;
      if (entry) {
        if (entry.version !== held) resources.push(entry);
      } else if (held !== undefined || (sub.names.has(n) && owed(n))) {
        // Gone, or asked for by name and not there: the client learns at once instead of waiting
        // for its does-not-exist timer.
        removed.push(n);
      }
    };
    if (at === null || at === 'all') {
      // Everything in scope is due; a stream far behind the change log may also hold removed names.
      // Versions held then are unknown: '' (matching none) for names removed since, which it may hold.
      const gone = at === 'all' ? cache.goneNames(typeUrl) : NOTHING;
      const seen = new Set<string>();
      const scope = sub.wildcard ? [sub.names, entries.keys(), gone] : [sub.names];
      for (const names of scope) {
        for (const n of names) {
          if (seen.has(n)) continue;
          seen.add(n);
          consider(n, gone.has(n) ? '' : undefined);
        }
      }
    } else {
      // New names of a named subscription were not held; for a wildcard they were (in scope already).
      // Owed names first, then what changed (the order the per-stream path sends them in).
      const held = (n: string): string | undefined => (!sub.subscribes(n) || (owed(n) && !sub.wildcard) ? undefined : heldAt(at, n, entries.get(n)?.version));
      if (pending instanceof Set) for (const n of pending) consider(n, held(n));
      for (const n of at.keys()) if (!owed(n)) consider(n, held(n));
    }
    return { systemVersion: cache.version(typeUrl), typeUrl, resources, removed, body: encodeDeltaBody(cache.version(typeUrl), typeUrl, resources, removed) };
  }

  protected rebase(): void {
    // What the client holds is written down from the old view before it goes; the new view is
    // then compared with it name by name, so only real differences are sent.
    for (const sub of this.subscriptions.values()) {
      if (sub.known === null) sub.known = this.heldVersions(sub);
      sub.rebase();
    }
  }

  protected sizeOf(r: OutgoingDeltaResponse): number {
    if (r.body) return r.body.length + r.nonce.length + 16;
    let bytes = 64 + r.systemVersion.length + r.typeUrl.length;
    for (const e of r.resources) bytes += e.anyBytes.length + e.name.length + e.version.length + 8;
    for (const n of r.removed) bytes += n.length + 2;
    return bytes;
  }

  private respond(sub: DeltaSubscription, r: Omit<OutgoingDeltaResponse, 'nonce'>): OutgoingDeltaResponse {
    const nonce = this.nextNonce();
    sub.recordSent(nonce, r.systemVersion);
    const type = shortTypeName(sub.typeUrl);
    childOf(this.env.metrics.responsesSent, 'type', type).inc();
    childOf(this.env.metrics.resourcesSent, 'type', type).inc(r.resources.length);
    return { ...r, nonce };
  }

  /** Names worth comparing: everything on a full re-check, else what is owed plus what changed. */
  private candidateNames(sub: DeltaSubscription, known: ReadonlyMap<string, string>, pending: 'all' | Set<string> | null): Set<string> {
    const { cache } = this.view!;
    const changed = sub.sentSeq < 0 ? 'all' : cache.changedSince(sub.typeUrl, sub.sentSeq);
    if (pending === 'all' || changed === 'all') {
      const all = new Set<string>(sub.names);
      for (const n of known.keys()) all.add(n);
      if (sub.wildcard) for (const n of cache.entries(sub.typeUrl).keys()) all.add(n);
      return all;
    }
    const out = new Set<string>(pending ?? []);
    for (const n of changed) out.add(n);
    return out;
  }
}

/** The version a client at some step holds of `n`, given what changed since then and the version now. */
function heldAt(at: VersionsAt, n: string, current: string | undefined): string | undefined {
  return at.has(n) ? at.get(n) : current;
}

const NOTHING: ReadonlySet<string> = new Set();
