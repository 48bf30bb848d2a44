// The programmatic load generator: N simulated proxies against one xDS server address, in this
// process. startLoad() hands back the running proxies (for a driver that changes the catalog while
// they are connected); runLoad() runs to completion and returns the report. The CLI (main.ts) uses
// these, and forks workers that each run a slice of the proxies.
import { ConnectionPool } from './connection-pool.js';
import type { Protocol } from './protocol.js';
import type { Style } from './proxy-state.js';
import { buildReport, zeroCounts, type LoadReport, type RawLoadResult } from './report.js';
import { SimulatedProxy, type ResponseRecord } from './simulated-proxy.js';
import { preloadProtos } from './xds-stream.js';

export type { Protocol, Style, ResponseRecord, LoadReport, RawLoadResult };

/** grpc style: proxy i dials `${prefix}${i % count}`, the number zero-padded to `digits`. */
export interface TargetSpec {
  readonly prefix: string;
  readonly count: number;
  readonly digits: number;
}

export interface LoadOptions {
  /** host:port of any xDS server. */
  readonly server: string;
  readonly proxies: number;
  readonly protocol: Protocol;
  readonly style: Style;
  /** Required for the grpc style. */
  readonly targets?: TargetSpec;
  /** ADS streams per HTTP/2 connection (default 100). */
  readonly proxiesPerConnection?: number;
  /** Global index of this run's first proxy (workers carry slices); default 0. */
  readonly firstIndex?: number;
  /** Node id of proxy i: `{i}` is replaced by its index (default `loadgen-{i}`). */
  readonly nodeIdTemplate?: string;
  /** Node cluster of proxy i: `{i}` is replaced by its index (default `loadgen`; sidecar scopes key on it). */
  readonly nodeClusterTemplate?: string;
  /** Stop this long after the start; without it, stop once everything synced (and re-synced). */
  readonly durationS?: number;
  /** Without durationS: give up after this long (default 300 s). */
  readonly timeoutS?: number;
  /** Reconnect storm: every proxy drops its stream at this offset from the start... */
  readonly disconnectAtS?: number;
  /** ...and opens a new one at once. */
  readonly reconnect?: boolean;
  /** Epoch ms all offsets count from (workers share the parent's); default: now. */
  readonly startedAt?: number;
  /** Every response, as it arrives. Keep it cheap: it runs on the receiving path. */
  readonly onResponse?: (record: ResponseRecord) => void;
  /** HTTP/2 flow-control window per stream and connection (default 16 MiB). */
  readonly flowControlWindowBytes?: number;
  /** Progress lines (e.g. to stderr), every progressEveryMs (default 2000). */
  readonly progress?: (line: string) => void;
  readonly progressEveryMs?: number;
}

export interface LoadRun {
  readonly proxies: readonly SimulatedProxy[];
  readonly startedAt: number;
  /** Proxies synced on their current stream. */
  syncedCount(): number;
  /** Resolves once every proxy synced, and after a storm with reconnect, re-synced. */
  settled(): Promise<void>;
  stop(): RawLoadResult;
}

export const epochNow = (): number => performance.timeOrigin + performance.now();

const ERROR_SAMPLES = 10;
const CONNECT_BATCH = 50;

export function startLoad(o: LoadOptions): LoadRun {
  if (o.style === 'grpc' && !o.targets) throw new Error('the grpc style needs targets');
  preloadProtos();
  const startedAt = o.startedAt ?? epochNow();
  const cpuAtStart = process.cpuUsage();
  const pool = new ConnectionPool({
    address: o.server,
    proxiesPerConnection: o.proxiesPerConnection ?? 100,
    flowControlWindowBytes: o.flowControlWindowBytes ?? 16 << 20,
  });
  const responsesByType = zeroCounts();
  const resourcesByType = zeroCounts();
  const errorSamples = new Set<string>();
  let synced = 0;
  let stormState: 'none' | 'pending' | 'done' = o.disconnectAtS === undefined ? 'none' : 'pending';
  let disconnectAt: number | null = null;
  let maxRss = 0;
  let settle: () => void = () => {};
  const settledPromise = new Promise<void>((resolve) => (settle = resolve));
  const checkSettled = () => {
    const stormOver = stormState !== 'pending';
    if (stormOver && (synced === o.proxies || (stormState === 'done' && !o.reconnect))) settle();
  };

  const env = {
    now: epochNow,
    onResponse: (r: ResponseRecord) => {
      responsesByType[r.type]++;
      resourcesByType[r.type] += r.count;
      o.onResponse?.(r);
    },
    onSyncChange: (_p: SimulatedProxy, nowSynced: boolean) => {
      synced += nowSynced ? 1 : -1;
      if (nowSynced) checkSettled();
    },
    onError: (_p: SimulatedProxy, err: Error) => {
      if (errorSamples.size < ERROR_SAMPLES) errorSamples.add(err.message);
    },
  };
  const first = o.firstIndex ?? 0;
  const template = o.nodeIdTemplate ?? 'loadgen-{i}';
  const proxies = Array.from({ length: o.proxies }, (_, slot) => {
    const index = first + slot;
    const target = o.targets && `${o.targets.prefix}${String(index % o.targets.count).padStart(o.targets.digits, '0')}`;
    const config = {
      index,
      nodeId: template.replaceAll('{i}', String(index)),
      nodeCluster: (o.nodeClusterTemplate ?? 'loadgen').replaceAll('{i}', String(index)),
      protocol: o.protocol,
      style: o.style,
      ...(o.style === 'grpc' ? { target } : {}),
    };
    return new SimulatedProxy(config, pool.clientFor(slot), env);
  });
  // In batches, yielding to I/O between them: opening 2,000 grpc-js calls takes about a second of
  // this thread, and responses to the first proxies should not wait behind the last ones' setup.
  const connectFrom = (k: number) => {
    for (const p of proxies.slice(k, k + CONNECT_BATCH)) p.connect();
    if (k + CONNECT_BATCH < proxies.length) setImmediate(() => connectFrom(k + CONNECT_BATCH));
  };
  connectFrom(0);

  const timers: NodeJS.Timeout[] = [];
  if (o.disconnectAtS !== undefined) {
    timers.push(
      setTimeout(
        () => {
          disconnectAt = epochNow();
          stormState = 'done';
          o.progress?.(`reconnect storm: ${proxies.length} proxies drop their streams${o.reconnect ? ' and reconnect' : ''}`);
          for (const p of proxies) p.drop(o.reconnect ?? false);
          checkSettled();
        },
        Math.max(0, startedAt + o.disconnectAtS * 1000 - epochNow()),
      ),
    );
  }
  const tick = () => {
    maxRss = Math.max(maxRss, process.memoryUsage.rss());
    const connected = proxies.filter((p) => p.outcome.connectedAt !== null).length;
    const responses = Object.values(responsesByType).reduce((a, b) => a + b, 0);
    const resources = Object.values(resourcesByType).reduce((a, b) => a + b, 0);
    o.progress?.(
      `${((epochNow() - startedAt) / 1000).toFixed(1)}s connected ${connected}/${proxies.length} synced ${synced} responses ${responses} resources ${resources}`,
    );
  };
  timers.push(setInterval(tick, o.progressEveryMs ?? 2000));
  checkSettled();

  return {
    proxies,
    startedAt,
    syncedCount: () => synced,
    settled: () => settledPromise,
    stop: () => {
      for (const t of timers) clearTimeout(t);
      for (const p of proxies) p.stop();
      const stoppedAt = epochNow();
      maxRss = Math.max(maxRss, process.memoryUsage.rss());
      const cpu = process.cpuUsage(cpuAtStart);
      const connections = pool.connections;
      pool.close();
      return {
        startedAt,
        stoppedAt,
        disconnectAt,
        connections,
        proxies: proxies.map((p) => ({ ...p.outcome })),
        responsesByType,
        resourcesByType,
        errorSamples: [...errorSamples],
        cpu: { userMs: cpu.user / 1000, systemMs: cpu.system / 1000 },
        maxRssMb: Math.round(maxRss / (1 << 20)),
      };
    },
  };
}

/** Runs a load to completion (see durationS) and returns its raw result. */
export async function runLoadRaw(o: LoadOptions): Promise<RawLoadResult> {
  const run = startLoad(o);
  if (o.durationS !== undefined) await sleepUntil(run.startedAt + o.durationS * 1000);
  else await Promise.race([run.settled(), sleepUntil(run.startedAt + (o.timeoutS ?? 300) * 1000)]);
  return run.stop();
}

export async function runLoad(o: LoadOptions & { readonly includePerProxy?: boolean }): Promise<LoadReport> {
  const raw = await runLoadRaw(o);
  return buildReport({ server: o.server, protocol: o.protocol, style: o.style, proxies: o.proxies, workers: 1 }, [raw], o.includePerProxy);
}

function sleepUntil(epochMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, epochMs - epochNow())));
}
