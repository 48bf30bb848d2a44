// Admission for stream writes, shared by every stream of a server. Three rules:
// - each stream has at most one response handed to the transport and not yet sent (the stream
//   enforces it; the gate counts the bytes): what changes meanwhile coalesces into its next response;
// - over all streams, at most `maxBufferedBytes` wait in the transport: past it, writes are held
//   (not built, not buffered) until bytes leave;
// - first responses (a stream's initial sync, the costly ones in a connection storm) start at most
//   `initialSyncsPerSecond`, in arrival order.
// A response that has not left after `stuckTimeoutMs` means a proxy that stopped reading: its
// stream is handed to onStuck to be closed, which frees what it holds.
import type { Flushable } from './flush-scheduler.js';

export interface WriteGateOptions {
  readonly maxBufferedBytes: number;
  readonly initialSyncsPerSecond: number;
  readonly stuckTimeoutMs: number;
  /** Called to flush a stream that was held and may now write. */
  readonly schedule: (stream: Flushable) => void;
  /** A stream whose write has not left in time. */
  readonly onStuck: (stream: Flushable, heldMs: number) => void;
  /** A stream closed while its response was still in the transport (those bytes are now garbage). */
  readonly onAbandoned?: (bytes: number) => void;
  /** Told whenever the buffered total or the waiting counts change (metrics). */
  readonly onLevels?: (levels: WriteGateLevels) => void;
  readonly now?: () => number;
}

export interface WriteGateLevels {
  readonly bufferedBytes: number;
  readonly heldForBytes: number;
  readonly waitingInitialSync: number;
}

interface InFlight {
  readonly bytes: number;
  readonly since: number;
  /** onStuck was told (once is enough: closing the stream is its business). */
  reported: boolean;
}

export class WriteGate {
  private buffered = 0;
  private readonly inFlight = new Map<Flushable, InFlight>();
  /** Streams held because the buffered total is over the ceiling, in arrival order. */
  private readonly heldForBytes = new Set<Flushable>();
  /** Streams waiting for an initial-sync token, in arrival order; and those granted one. */
  private readonly waitingFirst = new Set<Flushable>();
  private readonly granted = new Set<Flushable>();
  private tokens: number;
  private tokensAt: number;
  private refillTimer: NodeJS.Timeout | null = null;
  private readonly sweeper: NodeJS.Timeout | null;
  private readonly now: () => number;

  constructor(private readonly o: WriteGateOptions) {
    this.now = o.now ?? (() => performance.now());
    this.tokens = this.burst;
    this.tokensAt = this.now();
    this.sweeper = o.stuckTimeoutMs > 0 ? setInterval(() => this.sweep(), Math.min(1000, Math.max(50, o.stuckTimeoutMs / 4))) : null;
    this.sweeper?.unref();
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * May `stream` build and write a response now? `first`: it would be the stream's first response.
   * When not, the stream is remembered and scheduled again once it may.
   */
  mayWrite(stream: Flushable, first: boolean): boolean {
    // The ceiling first: a stream held for bytes must not spend an initial-sync token meanwhile.
    if (this.o.maxBufferedBytes > 0 && this.buffered >= this.o.maxBufferedBytes) {
      this.heldForBytes.add(stream);
      this.report();
      return false;
    }
    return !first || this.admitFirst(stream);
  }

  /** `stream` handed `bytes` to the transport. */
  wrote(stream: Flushable, bytes: number): void {
    this.release(stream);
    this.inFlight.set(stream, { bytes, since: this.now(), reported: false });
    this.buffered += bytes;
    this.report();
  }

  /** What `stream` wrote has left (or the stream is gone). */
  sent(stream: Flushable): void {
    this.release(stream);
    this.wakeHeld();
    this.report();
  }

  /** The stream closed: it holds nothing and waits for nothing. */
  forget(stream: Flushable): void {
    this.heldForBytes.delete(stream);
    this.waitingFirst.delete(stream);
    this.granted.delete(stream);
    const abandoned = this.inFlight.get(stream)?.bytes ?? 0;
    this.sent(stream);
    if (abandoned > 0) this.o.onAbandoned?.(abandoned);
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.refillTimer) clearTimeout(this.refillTimer);
    this.refillTimer = null;
  }

  private release(stream: Flushable): void {
    const f = this.inFlight.get(stream);
    if (!f) return;
    this.inFlight.delete(stream);
    this.buffered -= f.bytes;
  }

  private wakeHeld(): void {
    for (const s of this.heldForBytes) {
      if (this.o.maxBufferedBytes > 0 && this.buffered >= this.o.maxBufferedBytes) break;
      this.heldForBytes.delete(s);
      this.o.schedule(s);
    }
  }

  private get burst(): number {
    // One second's worth: a fleet reconnecting at a steady pace never waits.
    return Math.max(1, this.o.initialSyncsPerSecond);
  }

  private admitFirst(stream: Flushable): boolean {
    if (this.o.initialSyncsPerSecond <= 0) return true;
    if (this.granted.delete(stream)) return true;
    // Earlier arrivals go first: a newcomer does not take a token while others wait.
    if (this.waitingFirst.size === 0) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return true;
      }
    }
    this.waitingFirst.add(stream);
    this.armRefill();
    this.report();
    return false;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.tokensAt) * this.o.initialSyncsPerSecond) / 1000);
    this.tokensAt = now;
  }

  private armRefill(): void {
    if (this.refillTimer) return;
    // Wait for a handful of tokens at a time: one timer per stream would cost more than it saves.
    const batch = Math.max(1, Math.min(this.waitingFirst.size, this.o.initialSyncsPerSecond / 100));
    const waitMs = Math.max(1, Math.ceil(((batch - this.tokens) * 1000) / this.o.initialSyncsPerSecond));
    this.refillTimer = setTimeout(() => {
      this.refillTimer = null;
      this.refill();
      for (const s of this.waitingFirst) {
        if (this.tokens < 1) break;
        this.tokens -= 1;
        this.waitingFirst.delete(s);
        this.granted.add(s);
        this.o.schedule(s);
      }
      if (this.waitingFirst.size > 0) this.armRefill();
      this.report();
    }, waitMs);
  }

  private sweep(): void {
    const now = this.now();
    const stuck: Array<[Flushable, number]> = [];
    // In write order (a stream's entry is re-inserted at each write): stop at the first recent one.
    for (const [s, f] of this.inFlight) {
      if (now - f.since < this.o.stuckTimeoutMs) break;
      if (f.reported) continue;
      f.reported = true;
      stuck.push([s, now - f.since]);
    }
    for (const [s, ms] of stuck) this.o.onStuck(s, ms);
  }

  private report(): void {
    this.o.onLevels?.({ bufferedBytes: this.buffered, heldForBytes: this.heldForBytes.size, waitingInitialSync: this.waitingFirst.size });
  }
}
