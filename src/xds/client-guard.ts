// Per-client checks on xDS streams (SotW, delta and MCP alike): how many streams one connection
// holds, how fast one stream sends requests (token bucket), and, with mutual TLS, whether the
// client certificate's identity may claim the node cluster its first request names. A failed
// check ends the stream with a status, a log line and a metric; it never touches other streams.
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { Logger } from '../observability/logger.js';
import type { NodeMessage } from './discovery-messages.js';
import { peerIdentity, type IdentityPolicy, type PeerIdentity } from './peer-identity.js';
import type { SecurityMetrics } from '../observability/security-metrics.js';
import type { StreamLimits } from './stream-limits.js';
import { http2StreamOf } from './call-reset.js';

export interface Refusal {
  readonly code: grpc.status;
  readonly details: string;
}

type ClientLimits = Pick<StreamLimits, 'maxStreamsPerConnection' | 'requestsPerSecond' | 'requestBurst' | 'maxRequestBytes'>;

export interface ClientGuardOptions {
  readonly limits: ClientLimits;
  /** Set when client certificates are required: who may claim which node cluster. */
  readonly identities: IdentityPolicy | null;
  readonly log: Logger;
  readonly metrics: SecurityMetrics;
}

/** What a stream's call offers the guard (a grpc-js ServerDuplexStream). */
export interface GuardedCall {
  getPeer(): string;
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
}

/** Tokens refill continuously at `rate` per second up to `burst`; a request takes one. */
class TokenBucket {
  private tokens: number;
  private last = performance.now();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** The checks of one stream; `release()` when it ends. */
export class StreamGuard {
  private verified: boolean;
  private readonly bucket: TokenBucket | null;
  private released = false;
  /** From the first request that carried the node (later ones do not). */
  private nodeId: string | undefined;

  constructor(
    private readonly owner: ClientGuard,
    private readonly call: GuardedCall,
    private readonly peer: string,
    private readonly api: string,
  ) {
    this.verified = owner.opts.identities === null;
    const { requestsPerSecond, requestBurst } = owner.opts.limits;
    this.bucket = requestsPerSecond > 0 ? new TokenBucket(requestsPerSecond, Math.max(1, requestBurst)) : null;
  }

  /** Checks a request before it is handled; a refusal ends the stream. */
  onRequest(node: NodeMessage | null): Refusal | null {
    const { log, metrics, limits } = this.owner.opts;
    if (node && this.nodeId === undefined) this.nodeId = node.id;
    if (this.bucket && !this.bucket.take()) {
      metrics.clientLimitRefusals.inc({ limit: 'request_rate' });
      log.warn(
        { api: this.api, peer: this.peer, node: this.nodeId, requestsPerSecond: limits.requestsPerSecond, burst: limits.requestBurst },
        'xDS stream ended: requests faster than --requests-per-second',
      );
      return {
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: `more than ${limits.requestsPerSecond} requests per second (burst ${limits.requestBurst}) on one stream`,
      };
    }
    if (!this.verified) {
      const refusal = this.checkIdentity(node);
      if (refusal) return refusal;
      this.verified = true;
    }
    return null;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.owner.released(this.peer);
  }

  private checkIdentity(node: NodeMessage | null): Refusal | null {
    const { log, metrics, identities } = this.owner.opts;
    const identity: PeerIdentity | null = peerIdentity(this.call.getAuthContext().sslPeerCertificate);
    const cluster = node?.cluster ?? '';
    let why: string | null = null;
    if (!identity) why = 'the client certificate names no identity (no URI or DNS SAN, no CN)';
    else if (!node) why = 'the first request carries no node';
    else if (!identities!.allows(identity, cluster)) why = `identity ${identity.id} may not claim node cluster "${cluster}"`;
    if (why === null) return null;
    metrics.identityDenied.inc();
    log.warn({ api: this.api, peer: this.peer, identity: identity?.id ?? null, claimedCluster: cluster, node: node?.id }, `xDS stream denied: ${why}`);
    return { code: grpc.status.PERMISSION_DENIED, details: why };
  }
}

/** The per-client checks of one xDS server. */
export class ClientGuard {
  /** Open streams per client connection (a connection's peer address:port is its own). */
  private readonly perPeer = new Map<string, number>();

  constructor(readonly opts: ClientGuardOptions) {}

  /** A stream opened: its guard, or a refusal when its connection holds the most streams already. */
  admit(call: GuardedCall, api: string): StreamGuard | Refusal {
    const peer = call.getPeer();
    const open = this.perPeer.get(peer) ?? 0;
    const max = this.opts.limits.maxStreamsPerConnection;
    if (max > 0 && open >= max) {
      this.opts.metrics.clientLimitRefusals.inc({ limit: 'streams_per_connection' });
      this.opts.log.warn({ api, peer, streams: open, max }, 'xDS stream refused: the connection holds --max-streams-per-connection');
      return { code: grpc.status.RESOURCE_EXHAUSTED, details: `the connection holds its maximum of ${max} streams` };
    }
    this.perPeer.set(peer, open + 1);
    return new StreamGuard(this, call, peer, api);
  }

  /** @internal */
  released(peer: string): void {
    const open = (this.perPeer.get(peer) ?? 1) - 1;
    if (open <= 0) this.perPeer.delete(peer);
    else this.perPeer.set(peer, open);
  }

  /**
   * A cancelled call: if grpc-js itself ended it because a request was larger than
   * --max-request-bytes (it does so before any handler sees the message, and the handler is only
   * told "cancelled"), log and count it. The status it sent is read from the HTTP/2 stream.
   */
  noteCancelled(call: object, api: string, peer: string, nodeId: string): void {
    const status = sentStatusOf(call);
    if (status?.code !== grpc.status.RESOURCE_EXHAUSTED || !/^Received message/.test(status.details)) return;
    this.opts.metrics.clientLimitRefusals.inc({ limit: 'message_size' });
    this.opts.log.warn(
      { api, peer, node: nodeId || undefined, details: status.details, maxRequestBytes: this.opts.limits.maxRequestBytes },
      'xDS stream ended: request larger than --max-request-bytes',
    );
  }
}

/** The grpc-status a server call sent (trailers, or a trailers-only response), or null. */
function sentStatusOf(call: object): { code: number; details: string } | null {
  const stream = http2StreamOf(call) as { sentTrailers?: Record<string, unknown>; sentHeaders?: Record<string, unknown> } | null;
  const headers = stream?.sentTrailers?.['grpc-status'] !== undefined ? stream.sentTrailers : stream?.sentHeaders;
  const code = headers?.['grpc-status'];
  if (code === undefined) return null;
  return { code: Number(code), details: decodeURI(String(headers?.['grpc-message'] ?? '')) };
}
