// One state-of-the-world xDS stream (ADS or a single-type service): request handling (subscribe,
// ACK, NACK, stale nonces) and building responses from the shared cache.
import type { EncodedResource } from './resource-encoding.js';
import { encodeResponseBody, type DiscoveryRequestMessage, type OutgoingDiscoveryResponse } from './discovery-messages.js';
import { isFullStateType, shortTypeName } from './resource-types.js';
import { TypeSubscription } from './type-subscription.js';
import { StreamBase } from './stream-base.js';
import { truncateDetail } from './nack-log.js';
import { intersects } from './name-sets.js';
import { ALL_SUBSCRIBED, EVERY_NAME, type PickedBody } from './shared-bodies.js';
import { childOf } from './metric-children.js';
import { frameOf } from './response-frames.js';
import { GRPC_FRAME } from './grpc-preframed.js';

export class SotwStream extends StreamBase<TypeSubscription, OutgoingDiscoveryResponse> {
  onRequest(req: DiscoveryRequestMessage): void {
    this.adopt(req.node);
    const typeUrl = req.type_url || this.onlyType || '';
    if (this.onlyType && typeUrl !== this.onlyType) {
      this.env.log.warn({ node: this.nodeId, typeUrl, api: this.info.api }, 'request for another type on a single-type stream ignored');
      return;
    }
    if (!typeUrl) {
      this.env.log.warn({ node: this.nodeId }, 'request without type_url on an aggregated stream ignored');
      return;
    }
    const type = shortTypeName(typeUrl);
    let sub = this.subscriptions.get(typeUrl);
    if (!sub) {
      // First request for this type on this stream: always answered, whatever its nonce or
      // version_info (istiod sends a foreign nonce; a client back from a server restart sends an old version).
      sub = new TypeSubscription(typeUrl);
      this.subscriptions.set(typeUrl, sub);
      sub.updateFromRequest(req, (n) => this.intern(typeUrl, n), this.names.sotw);
      sub.owe('all');
      this.env.schedule(this);
      return;
    }
    if (sub.nonce !== null && req.response_nonce !== sub.nonce) {
      // Answers a response that has since been superseded; the newer one will be ACKed or NACKed.
      childOf(this.env.metrics.staleRequests, 'type', type).inc();
      // Still, an ACK of it says its changes arrived (change -> ACK timing).
      if (!req.error_detail) this.acknowledged(typeUrl, req.response_nonce);
      return;
    }
    if (sub.nonce !== null && req.error_detail) {
      // Kept for the admin pages; cut so a proxy sending megabytes of detail cannot grow us.
      sub.lastNack = { nonce: sub.nonce, version: sub.sentVersion, message: truncateDetail(req.error_detail.message, 4096), at: new Date() };
      this.rejected(typeUrl, req.response_nonce);
      childOf(this.env.metrics.nacks, 'type', type).inc();
      this.env.onReply?.({ kind: 'nack', nodeId: this.nodeId, typeUrl, version: sub.sentVersion, at: performance.now() });
      const nack = {
        node: this.nodeId,
        type,
        rejectedVersion: sub.sentVersion,
        nonce: req.response_nonce,
        message: req.error_detail.message,
        fields: { keptVersion: req.version_info },
      };
      const msg = 'proxy rejected a response (NACK); it is not re-sent, the next change will be';
      if (this.env.nackLog) this.env.nackLog.record(nack, msg);
      else
        this.env.log.warn(
          { ...nack.fields, node: nack.node, type, rejectedVersion: nack.rejectedVersion, nonce: nack.nonce, error: truncateDetail(nack.message) },
          msg,
        );
    } else if (sub.nonce !== null) {
      sub.ackedVersion = req.version_info;
      sub.ackedSeq = Math.max(sub.ackedSeq, sub.nonceSeq);
      childOf(this.env.metrics.acks, 'type', type).inc();
      this.acknowledged(typeUrl, req.response_nonce);
      this.env.onReply?.({ kind: 'ack', nodeId: this.nodeId, typeUrl, version: req.version_info, at: performance.now() });
    }
    const added = sub.updateFromRequest(req, (n) => this.intern(typeUrl, n), this.names.sotw);
    if (added === 'all' || added.size > 0) {
      sub.owe(added);
      this.env.schedule(this);
    }
  }

  /** Cache changed: schedule a flush if a subscribed resource of these types changed. */
  onCacheChange(typeUrl: string, changed: ReadonlySet<string>, observedAt: number): void {
    const sub = this.subscriptions.get(typeUrl);
    if (!sub || sub.nonce === null) return;
    if (!sub.wildcard && !this.names.touches(changed, sub.names)) return;
    this.changed(typeUrl, observedAt);
  }

  protected buildResponse(sub: TypeSubscription): OutgoingDiscoveryResponse | null {
    const { cache, bodies } = this.view!;
    if (!cache.hasType(sub.typeUrl)) {
      // A type we do not serve: answer each request with an empty set so the client can move on.
      if (!sub.pending) return null;
      sub.pending = null;
      return this.respond(sub, { body: encodeResponseBody('', sub.typeUrl, []), count: 0, version: '' });
    }
    const seq = cache.seq(sub.typeUrl);
    const version = cache.version(sub.typeUrl);
    const changed = sub.sentSeq < 0 ? 'all' : cache.changedSince(sub.typeUrl, sub.sentSeq);
    const pending = sub.pending;
    const relevant = changed === 'all' || (sub.wildcard ? changed.size > 0 : intersects(changed, sub.names));
    if (!pending && !relevant) {
      sub.sentSeq = seq;
      return null;
    }
    const entries = cache.entries(sub.typeUrl);
    let body: Uint8Array;
    let count: number;
    if (sub.wildcard && (isFullStateType(sub.typeUrl) || pending === 'all' || changed === 'all')) {
      body = bodies.allOf(sub.typeUrl);
      count = entries.size;
    } else {
      const everySubscribed = isFullStateType(sub.typeUrl) || pending === 'all' || changed === 'all';
      const pick = (): PickedBody => {
        const picked = everySubscribed
          ? this.subscribedEntries(sub, entries)
          : this.changedEntries(sub, entries, changed as ReadonlySet<string>, pending as Set<string> | null);
        return {
          body: encodeResponseBody(
            version,
            sub.typeUrl,
            picked.map((e) => e.anyBytes),
          ),
          count: picked.length,
        };
      };
      // Streams with the same names (one shared set) at the same step get the same body: built once.
      // Names owed on top of the changes (a subscription just grew) make a body of this stream's own.
      const shareable = (sub.wildcard || sub.sharesNames) && (everySubscribed || pending === null);
      ({ body, count } = shareable
        ? bodies.picked(sub.typeUrl, sub.wildcard ? EVERY_NAME : sub.names, everySubscribed ? ALL_SUBSCRIBED : sub.sentSeq, pick)
        : pick());
    }
    sub.pending = null;
    sub.sentSeq = seq;
    if (count === 0 && !pending && !isFullStateType(sub.typeUrl)) return null;
    return this.respond(sub, { body, count, version });
  }

  protected rebase(): void {
    // The next response of each type is the full state of the new view (a full-state type replaces
    // what the proxy holds; routes and endpoints it holds outside the new view simply stay unused).
    for (const sub of this.subscriptions.values()) sub.rebase();
  }

  protected sizeOf(r: OutgoingDiscoveryResponse): number {
    return r.body.length + r.nonce.length + 16;
  }

  private respond(sub: TypeSubscription, r: { body: Uint8Array; count: number; version: string }): OutgoingDiscoveryResponse {
    // A body shared with other streams is framed once for all of them (response-frames.ts).
    const { nonce, frame } = frameOf(r.body, sub.nonce === null ? 0 : Number(sub.nonce));
    sub.nonce = String(nonce);
    sub.nonceSeq = sub.sentSeq;
    sub.sentVersion = r.version;
    const type = shortTypeName(sub.typeUrl);
    childOf(this.env.metrics.responsesSent, 'type', type).inc();
    childOf(this.env.metrics.resourcesSent, 'type', type).inc(r.count);
    return { body: r.body, nonce: sub.nonce, [GRPC_FRAME]: frame };
  }

  private subscribedEntries(sub: TypeSubscription, entries: ReadonlyMap<string, EncodedResource>): EncodedResource[] {
    if (sub.wildcard) return [...entries.values()];
    const out: EncodedResource[] = [];
    for (const n of sub.names) {
      const e = entries.get(n);
      if (e) out.push(e);
    }
    return out;
  }

  /** Route/endpoint responses: only resources that changed since the last response, plus those owed. */
  private changedEntries(
    sub: TypeSubscription,
    entries: ReadonlyMap<string, EncodedResource>,
    changed: ReadonlySet<string>,
    owed: Set<string> | null,
  ): EncodedResource[] {
    const names = new Set<string>();
    for (const n of smaller(changed, sub.names, sub.wildcard)) if (sub.subscribes(n)) names.add(n);
    if (owed) for (const n of owed) if (sub.subscribes(n)) names.add(n);
    const out: EncodedResource[] = [];
    for (const n of names) {
      const e = entries.get(n);
      if (e) out.push(e);
    }
    return out;
  }
}

function smaller(changed: ReadonlySet<string>, names: ReadonlySet<string>, wildcard: boolean): Iterable<string> {
  return wildcard || changed.size <= names.size ? changed : names;
}
