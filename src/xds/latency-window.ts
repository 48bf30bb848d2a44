// The last few change -> ACK latencies of one stream, for per-proxy p50/p99 on /debug/proxies and
// `zk-xds status`: a fixed ring, so a stream holds the same few KB however long it lives.

export interface LatencySummary {
  /** Samples the figures are over (at most the window's capacity). */
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export const LATENCY_WINDOW = 128;

export class LatencyWindow {
  private readonly ring = new Float64Array(LATENCY_WINDOW);
  private added = 0;

  add(ms: number): void {
    this.ring[this.added % LATENCY_WINDOW] = ms;
    this.added++;
  }

  /** The samples held, oldest first. */
  samples(): number[] {
    const n = Math.min(this.added, LATENCY_WINDOW);
    const start = this.added - n;
    return Array.from({ length: n }, (_, k) => this.ring[(start + k) % LATENCY_WINDOW]!);
  }
}

/** p50/p99 of samples (nearest rank); null when there are none. */
export function summarize(samples: readonly number[]): LatencySummary | null {
  if (samples.length === 0) return null;
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  return { count: s.length, p50Ms: round(q(0.5)), p99Ms: round(q(0.99)) };
}

const round = (ms: number) => Math.round(ms * 10) / 10;
