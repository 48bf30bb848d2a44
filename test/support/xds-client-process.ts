// Parent-side driver of a real proxyless gRPC xDS client (@grpc/grpc-js-xds) for end-to-end tests.
//
// grpc-js-xds registers the xds: scheme process-wide and reads its bootstrap from the environment,
// so every client lives in its own child process (test/support/xds-client-child.mjs, plain JS so
// it runs on bare Node without ts-jest), forked with an IPC channel. The test drives it with call()
// and waitFor(); all traffic is JSON over IPC, so nothing the child prints can corrupt it.
//
// Debugging: set ZKXDS_E2E_TRACE=1 (or a GRPC_TRACE list, e.g. ZKXDS_E2E_TRACE=xds_client,xds_resolver)
// to turn on grpc-js tracing in the child at DEBUG verbosity; GRPC_TRACE / GRPC_VERBOSITY (and the
// GRPC_NODE_* spellings) set in the test's environment pass through as they are. Whenever tracing is
// on, the child's stderr is copied live to the test's stderr; otherwise its tail is kept for errors.
import path from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { ECHO_PROTO_PATH } from './echo-backend.js';
import { PROJECT_ROOT } from '../../src/xds/protos.js';

// From the source tree, so that the compiled copy (dist/, used by the benchmark) finds it too.
const CHILD_PATH = path.join(PROJECT_ROOT, 'test', 'support', 'xds-client-child.mjs');
const STDERR_TAIL_CHARS = 64 * 1024;
const READY_TIMEOUT_MS = 15_000;

export type CallResult = { ok: true; backend: string } | { ok: false; code: number; details: string };

export interface XdsClientStartOptions {
  /** host:port of the ADS server. */
  xdsServer: string;
  /** node.id sent in the first request of each ADS stream. */
  nodeId: string;
  /** Service name, dialled as xds:///target. */
  target: string;
  /** Extra node fields (cluster, metadata, ...) merged into the bootstrap's node block. */
  node?: Record<string, unknown>;
  /** Extra child environment, e.g. GRPC_XDS_EXPERIMENTAL_* flags; an undefined value removes a variable. */
  env?: Record<string, string | undefined>;
  /** Extra top-level bootstrap fields, e.g. `certificate_providers`. */
  bootstrap?: Record<string, unknown>;
  /**
   * Channel credentials: `xds` (XdsChannelCredentials over insecure: mTLS when the Cluster says so,
   * gRFC A29) or `insecure` (default: plaintext whatever the Cluster says).
   */
  credentials?: 'xds' | 'insecure';
}

/** The bootstrap handed to the child in GRPC_XDS_BOOTSTRAP_CONFIG. node.locality is required by grpc-js-xds. */
export function xdsBootstrap(xdsServer: string, nodeId: string, node: Record<string, unknown> = {}): object {
  return {
    xds_servers: [{ server_uri: xdsServer, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: nodeId, locality: {}, ...node },
  };
}

// Children still running when the test process exits are killed (they also exit by themselves
// when the IPC channel closes, which covers a parent killed by a signal).
const LIVE_KEY = Symbol.for('zk-xds.test.xdsClientChildren');
const globals = globalThis as unknown as Record<symbol, Set<ChildProcess> | undefined>;
const live: Set<ChildProcess> = (globals[LIVE_KEY] ??= (() => {
  const set = new Set<ChildProcess>();
  process.once('exit', () => {
    for (const child of set) child.kill('SIGKILL');
  });
  return set;
})());

type ChildMessage = { type: 'ready'; pid: number } | { type: 'result'; id: number; results: CallResult[] } | { type: 'fatal'; message: string };

export class XdsClientProcess {
  /** Date.now() just before the child was forked. */
  readonly startedAt: number;
  private readyAfterMs = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: CallResult[]) => void; reject: (e: Error) => void }>();
  private stderrTail = '';
  private exitInfo: string | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly target: string,
    startedAt: number,
  ) {
    this.startedAt = startedAt;
    const forward = Boolean(process.env.ZKXDS_E2E_TRACE || process.env.GRPC_TRACE || process.env.GRPC_NODE_TRACE);
    const keep = (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
      if (forward) process.stderr.write(chunk.toString('utf8').replace(/^(?=.)/gm, `[xds-client ${child.pid}] `));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('message', (msg: ChildMessage) => {
      if (msg.type === 'result') {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        p?.resolve(msg.results);
      } else if (msg.type === 'fatal') {
        this.exitInfo = `child failed: ${msg.message}`;
      }
    });
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        this.exitInfo ??= `child exited (code ${code}, signal ${signal})`;
        const err = this.error(this.exitInfo);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        resolve();
      });
    });
  }

  /** ms from fork until the child had loaded grpc-js-xds and created its channel. */
  get readyMs(): number {
    return this.readyAfterMs;
  }

  static async start(opts: XdsClientStartOptions): Promise<XdsClientProcess> {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.GRPC_XDS_BOOTSTRAP; // the file variant wins over GRPC_XDS_BOOTSTRAP_CONFIG in grpc-js-xds
    for (const k of ['grpc_proxy', 'https_proxy', 'http_proxy']) delete env[k]; // loopback traffic only
    // jest runs with --experimental-vm-modules; the child needs no flags (and would only warn).
    const nodeOptions = (env.NODE_OPTIONS ?? '').replace(/--experimental-vm-modules/g, '').trim();
    if (nodeOptions) env.NODE_OPTIONS = nodeOptions;
    else delete env.NODE_OPTIONS;
    const trace = process.env.ZKXDS_E2E_TRACE;
    if (trace) {
      env.GRPC_TRACE = trace === '1' || trace === 'true' ? 'all' : trace;
      env.GRPC_VERBOSITY = 'DEBUG';
    }
    env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({ ...xdsBootstrap(opts.xdsServer, opts.nodeId, opts.node), ...opts.bootstrap });
    env.ZKXDS_CHILD_CREDENTIALS = opts.credentials ?? 'insecure';
    for (const [k, v] of Object.entries(opts.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }

    const startedAt = Date.now();
    const child = fork(CHILD_PATH, [opts.target, ECHO_PROTO_PATH], {
      env,
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    live.add(child);
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready message within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      const onMessage = (msg: ChildMessage) => {
        if (msg.type !== 'ready') return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve();
      };
      child.on('message', onMessage);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error('child exited before it was ready'));
      });
    });
    const proc = new XdsClientProcess(child, opts.target, startedAt);
    try {
      await ready;
    } catch (e) {
      child.kill('SIGKILL');
      await proc.exited;
      throw proc.error(`xds client child did not start: ${(e as Error).message}; ${proc.exitInfo ?? ''}`);
    }
    proc.readyAfterMs = Date.now() - startedAt;
    return proc;
  }

  /** n sequential zkxds.demo.v1.Echo/Who calls on the child's one xds:///target channel. */
  async call(n: number, opts: { deadlineMs?: number; waitForReady?: boolean } = {}): Promise<CallResult[]> {
    if (this.exitInfo !== undefined) throw this.error(this.exitInfo);
    const deadlineMs = opts.deadlineMs ?? 5000;
    const id = this.nextId++;
    return new Promise<CallResult[]>((resolve, reject) => {
      // A safety net only: the child's own deadlines end every call long before this.
      const guardMs = n * deadlineMs + 10_000;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(this.error(`no answer from the child for ${n} calls within ${guardMs} ms`));
      }, guardMs);
      this.pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ op: 'call', id, n, deadlineMs, waitForReady: opts.waitForReady ?? false });
    });
  }

  /**
   * Probes with rounds of `probeCalls` calls (default 10) until `pred` holds over the set of
   * backends that answered in one round; resolves with the elapsed ms, rejects after timeoutMs.
   */
  async waitFor(
    pred: (backends: Set<string>) => boolean,
    opts: { timeoutMs: number; probeCalls?: number; deadlineMs?: number; intervalMs?: number },
  ): Promise<number> {
    const start = Date.now();
    const probeCalls = opts.probeCalls ?? 10;
    let last: CallResult[] = [];
    for (;;) {
      const left = opts.timeoutMs - (Date.now() - start);
      const deadlineMs = Math.max(50, Math.min(opts.deadlineMs ?? 1000, left));
      last = await this.call(probeCalls, { deadlineMs });
      const backends = new Set(last.flatMap((r) => (r.ok ? [r.backend] : [])));
      if (pred(backends)) return Date.now() - start;
      if (Date.now() - start >= opts.timeoutMs) {
        throw this.error(`waitFor: predicate still false after ${Date.now() - start} ms; last round: ${summarize(last)}`);
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
    }
  }

  /** The last 64 KiB the child wrote to stdout/stderr (grpc-js logs, traces when enabled). */
  output(): string {
    return this.stderrTail;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.connected) {
      this.child.send({ op: 'exit' });
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
      await this.exited;
      clearTimeout(timer);
    } else if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  private error(message: string): Error {
    const tail = this.stderrTail.trim().split('\n').slice(-20).join('\n');
    return new Error(tail ? `${message}\n--- xds client child output (tail) ---\n${tail}` : message);
  }
}

/** e.g. "a×7, b×3, code 14 'no healthy upstream'×2" */
export function summarize(results: CallResult[]): string {
  const counts = new Map<string, number>();
  for (const r of results) {
    const key = r.ok ? r.backend : `code ${r.code} '${r.details}'`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${k}×${n}`).join(', ') || '(no calls)';
}
