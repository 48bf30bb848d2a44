// Real proxyless gRPC clients that call without pause while a test changes things, and record every
// call: gRPC C-core (Debian's python3-grpcio, test/support/python/xds_echo_caller.py) and grpc-js-xds
// (the XdsClientProcess child, driven in a loop). Tests read `results` to count failed calls and to
// see when calls reach a new backend. Plus an Envoy-like delta sidecar that checks its routes never
// name a cluster it does not hold.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/xds/protos.js';
import { CLOSE_INHERITED_FDS } from './zookeeper-server.js';
import { type XdsClientProcess, xdsBootstrap } from './xds-client-process.js';
import { DeltaClient, type DeltaResponse } from './delta-client.js';
import { TYPE_URL } from '../../src/xds/resource-types.js';

const CORE_SCRIPT = path.join(PROJECT_ROOT, 'test', 'support', 'python', 'xds_echo_caller.py');
const READY_TIMEOUT_MS = 30_000;

export type CallRecord = { ok: true; backend: string } | { ok: false; code: string; details: string };

export interface ContinuousCaller {
  readonly label: string;
  /** Every call so far, in order. */
  readonly results: readonly CallRecord[];
  stop(): Promise<void>;
}

/** Failed calls among `results` from index `from`, summarised by message ("code: details" x count). */
export function failures(results: readonly CallRecord[], from = 0): { count: number; messages: Record<string, number> } {
  const messages: Record<string, number> = {};
  let count = 0;
  for (const r of results.slice(from)) {
    if (r.ok) continue;
    count++;
    const key = `${r.code}: ${r.details}`;
    messages[key] = (messages[key] ?? 0) + 1;
  }
  return { count, messages };
}

/** Whether the last `n` calls (all after index `from`) all reached a backend `pred` accepts. */
export function lastCallsReach(results: readonly CallRecord[], from: number, n: number, pred: (backend: string) => boolean): boolean {
  if (results.length - from < n) return false;
  return results.slice(-n).every((r) => r.ok && pred(r.backend));
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** gRPC C-core: /usr/bin/python3 with Debian's grpcio (not the pyenv python3 on PATH). */
export class CoreCaller implements ContinuousCaller {
  readonly label = 'c-core';
  readonly results: CallRecord[] = [];
  private stderr = '';
  /** How the process ended: `signal` set when C-core crashed it (SIGSEGV, SIGABRT). */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly exited: Promise<string>;

  private constructor(private readonly child: ChildProcess) {
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.exited = this.exit.then(({ code, signal }) => signal ?? `exit ${code}`);
    const traceFile = process.env.ZKXDS_CORE_TRACE_FILE;
    child.stderr?.on('data', (c: Buffer) => {
      this.stderr = (this.stderr + c.toString('utf8')).slice(-16_000);
      if (traceFile) appendFileSync(traceFile, c);
    });
    child.stdin?.on('error', () => undefined);
  }

  static async start(opts: { xdsServer: string; nodeId: string; target: string; deadlineMs?: number }): Promise<CoreCaller> {
    const env: NodeJS.ProcessEnv = { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(xdsBootstrap(opts.xdsServer, opts.nodeId)) };
    delete env.GRPC_XDS_BOOTSTRAP;
    for (const k of ['grpc_proxy', 'https_proxy', 'http_proxy']) delete env[k];
    // Debugging: ZKXDS_CORE_TRACE=xds_client,... turns on C-core tracing; its stderr goes to ZKXDS_CORE_TRACE_FILE.
    if (process.env.ZKXDS_CORE_TRACE) Object.assign(env, { GRPC_TRACE: process.env.ZKXDS_CORE_TRACE, GRPC_VERBOSITY: 'DEBUG' });
    const args = [CORE_SCRIPT, opts.target, String(opts.deadlineMs ?? 5000)];
    const child = spawn('/bin/bash', ['-c', `${CLOSE_INHERITED_FDS}\nexec "$@"`, 'c-core', '/usr/bin/python3', ...args], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    const caller = new CoreCaller(child);
    await caller.readLines();
    return caller;
  }

  /** Parses stdout lines into results; resolves at the ready line. */
  private readLines(): Promise<void> {
    return new Promise((resolve, reject) => {
      let buffered = '';
      let ready = false;
      const timer = setTimeout(() => fail(`no ready line within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
      const fail = (why: string) => {
        this.child.kill('SIGKILL');
        reject(new Error(`c-core caller: ${why}\n${this.stderr}`));
      };
      this.child.stdout?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          const msg = JSON.parse(line) as { ready?: true; ok?: boolean; backend?: string; code?: string; details?: string };
          if (msg.ready) {
            ready = true;
            clearTimeout(timer);
            resolve();
          } else if (msg.ok) this.results.push({ ok: true, backend: msg.backend ?? '' });
          else this.results.push({ ok: false, code: msg.code ?? '?', details: msg.details ?? '' });
        }
      });
      void this.exited.then((how) => {
        clearTimeout(timer);
        if (!ready) fail(`exited (${how}) before it was ready`);
      });
    });
  }

  /** The tail of what the client wrote to stderr (gRPC's own logs). */
  output(): string {
    return this.stderr;
  }

  async stop(): Promise<void> {
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** grpc-js-xds: an XdsClientProcess called in rounds of `batch` sequential calls until stop(). */
export class JsCaller implements ContinuousCaller {
  readonly label = 'grpc-js';
  readonly results: CallRecord[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  /** waitForReady: calls wait while the channel has no ready connection (gRPC's wait-for-ready). */
  constructor(
    readonly client: XdsClientProcess,
    batch = 10,
    deadlineMs = 5000,
    waitForReady = false,
  ) {
    this.loop = (async () => {
      while (this.running) {
        for (const r of await client.call(batch, { deadlineMs, waitForReady })) {
          this.results.push(r.ok ? r : { ok: false, code: String(r.code), details: r.details });
        }
      }
    })();
  }

  /** Stops calling (the client process stays: its owner stops it). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/**
 * An Envoy-like sidecar on delta ADS (user agent envoy: the sidecar view) subscribed to every
 * cluster and route, ACKing each response after applying it. After each response it checks what
 * Envoy would need: every cluster its routes name is one it holds. `dangling` lists the breaks.
 */
export class SidecarObserver {
  readonly dangling: string[] = [];
  readonly clusters = new Set<string>();
  private readonly routes = new Map<string, Set<string>>();
  private readonly client: DeltaClient;
  private checking = false;
  private seen = 0;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(address: string, nodeId: string, cluster?: string) {
    const client = new DeltaClient(address);
    this.client = client;
    client.send({ typeUrl: TYPE_URL.cluster, node: { id: nodeId, userAgent: 'envoy', ...(cluster !== undefined ? { cluster } : {}) } });
    client.send({ typeUrl: TYPE_URL.route });
    this.loop = (async () => {
      while (this.running && !client.ended) {
        let r: DeltaResponse;
        try {
          r = await client.next(undefined, 1000, this.seen);
        } catch {
          continue; // nothing within the second: look again
        }
        this.seen++;
        this.apply(r);
        client.ack(r);
      }
    })();
  }

  /** From now on, a route naming a cluster not held counts as a break. */
  startChecking(): void {
    this.checking = true;
  }

  /** Cluster names the routes name now. */
  routedClusters(): Set<string> {
    return new Set([...this.routes.values()].flatMap((s) => [...s]));
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.client.close();
  }

  private apply(r: DeltaResponse): void {
    if (r.typeUrl === TYPE_URL.cluster) {
      for (const res of r.resources) this.clusters.add(res.name);
      for (const n of r.removed) this.clusters.delete(n);
    } else if (r.typeUrl === TYPE_URL.route) {
      for (const res of r.resources) this.routes.set(res.name, clusterNames(res.object));
      for (const n of r.removed) this.routes.delete(n);
    }
    if (!this.checking) return;
    for (const c of this.routedClusters())
      if (!this.clusters.has(c)) this.dangling.push(`after ${r.typeUrl.split('.').pop()} nonce ${r.nonce}: route names ${c}, not held`);
  }
}

/** Every cluster a RouteConfiguration (decoded) names: route.cluster and weighted cluster names. */
function clusterNames(o: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(o)) for (const x of o) clusterNames(x, out);
  else if (o && typeof o === 'object') {
    const obj = o as Record<string, unknown>;
    if (typeof obj.cluster === 'string') out.add(obj.cluster);
    const weighted = (obj.weighted_clusters ?? obj.weightedClusters) as { clusters?: Array<{ name?: string }> } | undefined;
    for (const c of weighted?.clusters ?? []) if (c.name) out.add(c.name);
    for (const v of Object.values(obj)) clusterNames(v, out);
  }
  return out;
}
