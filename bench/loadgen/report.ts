// What a load run measured: raw per-proxy outcomes (mergeable across worker processes, since all
// times are epoch milliseconds) and the summary report built from them.
import type { XdsType } from './resource-scan.js';

export interface ProxyOutcome {
  readonly index: number;
  readonly target: string | null;
  /** Epoch ms: the server accepted the first stream (response headers). */
  connectedAt: number | null;
  firstResponseAt: number | null;
  /** Epoch ms when the proxy first held everything it subscribed to. */
  syncedAt: number | null;
  /** Epoch ms when it was synced again after the reconnect storm. */
  resyncedAt: number | null;
  responses: number;
  resources: number;
  errors: number;
  /** What it held at the end. */
  clusters: number;
  assignments: number;
  endpoints: number;
  listeners: number;
  routes: number;
}

export type TypeCounts = Record<XdsType, number>;

export const zeroCounts = (): TypeCounts => ({ CDS: 0, EDS: 0, LDS: 0, RDS: 0 });

/** What one process (a whole in-process run, or one worker) measured. */
export interface RawLoadResult {
  readonly startedAt: number;
  readonly stoppedAt: number;
  /** Epoch ms of the reconnect storm, if there was one. */
  readonly disconnectAt: number | null;
  readonly connections: number;
  readonly proxies: readonly ProxyOutcome[];
  readonly responsesByType: TypeCounts;
  readonly resourcesByType: TypeCounts;
  readonly errorSamples: readonly string[];
  /** process.cpuUsage() over the run. */
  readonly cpu: { readonly userMs: number; readonly systemMs: number };
  readonly maxRssMb: number;
}

export interface ReportContext {
  readonly server: string;
  readonly protocol: string;
  readonly style: string;
  readonly proxies: number;
  readonly workers: number;
}

export interface Distribution {
  readonly count: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

export interface LoadReport extends ReportContext {
  readonly startedAt: string;
  readonly durationMs: number;
  readonly connections: number;
  /** Proxies whose stream the server accepted. */
  readonly connected: number;
  /** From the start to each proxy's first response; `firstMs` is the earliest of all. */
  readonly firstResponse: Distribution & { readonly firstMs: number | null };
  /** From the start to each proxy's sync; `allSyncedMs` is when the last one synced (null: not all did). */
  readonly sync: Distribution & { readonly allSyncedMs: number | null };
  /** From the reconnect storm to each proxy's re-sync (only with a storm). */
  readonly resync: (Distribution & { readonly allSyncedMs: number | null }) | null;
  readonly responses: { readonly total: number; readonly byType: TypeCounts };
  readonly resources: { readonly total: number; readonly byType: TypeCounts };
  readonly errors: { readonly count: number; readonly samples: readonly string[] };
  /** The load generator's own CPU (all workers); coreUtilization 1 = one core busy all along. */
  readonly cpu: { readonly userMs: number; readonly systemMs: number; readonly coreUtilization: number };
  readonly maxRssMb: number;
  readonly perProxy?: readonly ProxyOutcome[];
}

export function buildReport(ctx: ReportContext, parts: readonly RawLoadResult[], includePerProxy = false): LoadReport {
  const proxies = parts.flatMap((p) => p.proxies);
  const startedAt = Math.min(...parts.map((p) => p.startedAt));
  const stoppedAt = Math.max(...parts.map((p) => p.stoppedAt));
  const disconnects = parts.map((p) => p.disconnectAt).filter((t): t is number => t !== null);
  const disconnectAt = disconnects.length > 0 ? Math.min(...disconnects) : null;
  const since = (origin: number, ts: Array<number | null>) => ts.filter((t): t is number => t !== null).map((t) => t - origin);
  const firstResponse = distribution(
    since(
      startedAt,
      proxies.map((p) => p.firstResponseAt),
    ),
  );
  const sync = distribution(
    since(
      startedAt,
      proxies.map((p) => p.syncedAt),
    ),
  );
  const resync =
    disconnectAt === null
      ? null
      : distribution(
          since(
            disconnectAt,
            proxies.map((p) => p.resyncedAt),
          ),
        );
  const cpu = { userMs: sum(parts.map((p) => p.cpu.userMs)), systemMs: sum(parts.map((p) => p.cpu.systemMs)) };
  const responsesByType = sumCounts(parts.map((p) => p.responsesByType));
  const resourcesByType = sumCounts(parts.map((p) => p.resourcesByType));
  const durationMs = round(stoppedAt - startedAt);
  return {
    ...ctx,
    startedAt: new Date(startedAt).toISOString(),
    durationMs,
    connections: sum(parts.map((p) => p.connections)),
    connected: proxies.filter((p) => p.connectedAt !== null).length,
    firstResponse: {
      ...firstResponse,
      firstMs:
        firstResponse.count > 0
          ? round(
              Math.min(
                ...since(
                  startedAt,
                  proxies.map((p) => p.firstResponseAt),
                ),
              ),
            )
          : null,
    },
    sync: { ...sync, allSyncedMs: sync.count === ctx.proxies ? sync.max : null },
    resync: resync && { ...resync, allSyncedMs: resync.count === ctx.proxies ? resync.max : null },
    responses: { total: sum(Object.values(responsesByType)), byType: responsesByType },
    resources: { total: sum(Object.values(resourcesByType)), byType: resourcesByType },
    errors: { count: sum(proxies.map((p) => p.errors)), samples: [...new Set(parts.flatMap((p) => p.errorSamples))].slice(0, 10) },
    cpu: { userMs: round(cpu.userMs), systemMs: round(cpu.systemMs), coreUtilization: durationMs > 0 ? round((cpu.userMs + cpu.systemMs) / durationMs, 3) : 0 },
    maxRssMb: Math.max(...parts.map((p) => p.maxRssMb)),
    ...(includePerProxy ? { perProxy: [...proxies].sort((a, b) => a.index - b.index) } : {}),
  };
}

/** Nearest-rank percentiles of durations in ms. */
export function distribution(values: readonly number[]): Distribution {
  if (values.length === 0) return { count: 0, p50: null, p99: null, max: null };
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => round(s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!);
  return { count: s.length, p50: at(50), p99: at(99), max: round(s[s.length - 1]!) };
}

function sumCounts(all: readonly TypeCounts[]): TypeCounts {
  const out = zeroCounts();
  for (const c of all) for (const k of Object.keys(out) as XdsType[]) out[k] += c[k];
  return out;
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
