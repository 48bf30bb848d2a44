// One incremental (delta) xDS stream: subscribe/unsubscribe, wildcard, initial_resource_versions,
// per-resource versions, removed_resources, and ACK/NACK per nonce. Only resources whose version
// differs from what the client holds are sent; a NACKed version is not sent again until it changes.
import type { DeltaDiscoveryRequestMessage, OutgoingDeltaResponse } from './delta-messages.js';
import type { EncodedResource } from './resource-encoding.js';
import { shortTypeName } from './resource-types.js';
import { StreamBase } from './stream-base.js';
import { DeltaSubscription } from './delta-subscription.js';

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
      for (const [name, version] of Object.entries(req.initial_resource_versions ?? {})) sub.known.set(this.intern(typeUrl, name), version);
      sub.owe('all');
    }
    if (req.response_nonce) this.recordReply(sub, req);
    sub.update(req.resource_names_subscribe, req.resource_names_unsubscribe, first, (n) => this.intern(typeUrl, n));
    if (sub.pending) this.env.schedule(this);
  }

  onCacheChange(typeUrl: string, changed: ReadonlySet<string>, observedAt: number): void {
    const sub = this.subscriptions.get(typeUrl);
    if (!sub || sub.nonce === null) return;
    let relevant = false;
    for (const n of changed) if (sub.subscribes(n) || sub.known.has(n)) relevant = true;
    if (!relevant) return;
    this.changed(typeUrl, observedAt);
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
      this.env.metrics.nacks.inc({ type });
      this.env.log.warn({ node: this.nodeId, type, rejectedVersion: version, nonce: req.response_nonce, error: nack.message }, 'proxy rejected a delta response (NACK); it is not re-sent, the next change is');
    } else {
      this.env.metrics.acks.inc({ type });
    }
    this.env.onReply?.({ kind: nack ? 'nack' : 'ack', nodeId: this.nodeId, typeUrl: sub.typeUrl, version, at: performance.now() });
  }

  protected buildResponse(sub: DeltaSubscription): OutgoingDeltaResponse | null {
    const { cache } = this.view!;
    const firstResponse = sub.nonce === null;
    const pending = sub.pending;
    sub.pending = null;
    const served = cache.hasType(sub.typeUrl);
    const names = served ? this.candidateNames(sub, pending) : new Set<string>();
    if (served) sub.sentSeq = cache.seq(sub.typeUrl);
    const resources: EncodedResource[] = [];
    const removed: string[] = [];
    for (const name of names) {
      if (!sub.subscribes(name) && !sub.known.has(name)) continue;
      const entry = cache.get(sub.typeUrl, name);
      if (entry && sub.subscribes(name)) {
        if (sub.known.get(name) === entry.version) continue;
        resources.push(entry);
        sub.known.set(name, entry.version);
      } else if (sub.known.has(name) || (sub.names.has(name) && pending !== null && (pending === 'all' || pending.has(name)))) {
        // Gone, or no longer covered by a subscription, or asked for by name and not there: the
        // client learns at once instead of waiting for its does-not-exist timer.
        removed.push(name);
        sub.known.delete(name);
      }
    }
    if (resources.length === 0 && removed.length === 0 && !firstResponse) return null;
    const nonce = this.nextNonce();
    const systemVersion = served ? cache.version(sub.typeUrl) : '';
    sub.recordSent(nonce, systemVersion);
    const type = shortTypeName(sub.typeUrl);
    this.env.metrics.responsesSent.inc({ type });
    this.env.metrics.resourcesSent.inc({ type }, resources.length);
    return { systemVersion, typeUrl: sub.typeUrl, resources, removed, nonce };
  }

  /** Names worth comparing: everything on a full re-check, else what is owed plus what changed. */
  private candidateNames(sub: DeltaSubscription, pending: 'all' | Set<string> | null): Set<string> {
    const { cache } = this.view!;
    const changed = sub.sentSeq < 0 ? 'all' : cache.changedSince(sub.typeUrl, sub.sentSeq);
    if (pending === 'all' || changed === 'all') {
      const all = new Set<string>(sub.names);
      for (const n of sub.known.keys()) all.add(n);
      if (sub.wildcard) for (const n of cache.entries(sub.typeUrl).keys()) all.add(n);
      return all;
    }
    const out = new Set<string>(pending ?? []);
    for (const n of changed) out.add(n);
    return out;
  }
}
