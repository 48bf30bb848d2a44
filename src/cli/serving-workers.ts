// `serve --workers N`, main side: forks N-1 serving workers (serving-worker.ts), feeds each the
// catalog, the scope book and the warm signal, hands accepted xDS connections round-robin to itself
// and its ready workers, restarts a worker that dies, and asks workers for their metrics and
// proxies for the admin port. ZooKeeper is read once, here; workers only serve.
import { fork, type ChildProcess } from 'node:child_process';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../observability/logger.js';
import type { Service } from '../catalog/model.js';
import type { CatalogStore } from '../catalog/catalog-store.js';
import type { ScopeBook } from '../catalog/scope.js';
import type { WarmGate } from '../xds/warm-gate.js';
import type { OtherProcesses, ProxyRow } from '../admin/debug-routes.js';
import type { ServingConfig } from './serving-part.js';
import { parseWorkerMessage, toEpochMs, type MainMessage } from './worker-messages.js';
import { WorkerRequests } from './worker-requests.js';
import { mergeMetrics, type MetricsJson } from './worker-metrics.js';

const WORKER_ENTRY = fileURLToPath(new URL('./serving-worker.js', import.meta.url));
const RESTART_INITIAL_MS = 500;
const RESTART_MAX_MS = 10_000;
/** A worker that ran this long before dying restarts after the initial delay again. */
const RESTART_RESET_AFTER_MS = 30_000;
/** How often the main asks each worker whether it is alive (any message from it counts too). */
export const LIVENESS_INTERVAL_MS = 1000;
/** A worker silent for this long gets no new connections until it speaks again. */
export const SILENT_NO_HANDOFF_MS = 3000;
/** Default of --worker-hung-timeout-ms. */
export const DEFAULT_HUNG_TIMEOUT_MS = 30_000;
/** What the main process calls itself in /debug/proxies. */
export const MAIN_PROCESS = 'main';

export interface ServingWorkersOptions {
  /** Workers to fork (serving processes besides the main one). */
  readonly count: number;
  /** Only the serving settings (servingConfigOf): nothing secret crosses to a worker. */
  readonly config: ServingConfig;
  readonly logLevel: string;
  readonly log: Logger;
  readonly registry: Registry;
  readonly catalog: CatalogStore;
  readonly book: ScopeBook;
  /** The main's warm gate: workers open theirs when it opens. */
  readonly warm: WarmGate;
  /**
   * A serving (warm) worker that has not answered for this long is killed and started again
   * (0: never). Its event loop is stuck: its proxies get no pushes and its connections are lost.
   */
  readonly hungTimeoutMs?: number;
  /** Module forked (tests); default serving-worker.js beside this file. */
  readonly entry?: string;
}

interface Slot {
  readonly index: number;
  child: ChildProcess | null;
  pid: number | null;
  /** Said it built its serving part: takes connections. */
  ready: boolean;
  /** Opened its warm gate after the main's. */
  warm: boolean;
  restarts: number;
  startedAt: number;
  restartDelayMs: number;
  restartTimer: NodeJS.Timeout | null;
  /** performance.now() of the last message from it (an answer to a liveness question included). */
  lastHeardAt: number;
  requests: WorkerRequests;
  exited: Promise<void>;
}

export interface WorkerReport {
  readonly process: string;
  readonly pid: number | null;
  readonly state: 'starting' | 'ready' | 'warm' | 'restarting';
  readonly restarts: number;
}

/** Round-robin over the main (index 0, always serving) and the workers; `serving[i]` says whether i takes connections. */
export function pickRoundRobin(cursor: number, serving: readonly boolean[]): number {
  for (let step = 0; step < serving.length; step++) {
    const i = (cursor + step) % serving.length;
    if (serving[i]) return i;
  }
  return 0;
}

/** The main's environment less zk-xds's own settings: a worker takes its settings from the IPC config only. */
function workerEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ZKXDS_') && k !== 'KUBECONFIG'));
}

export const processName = (index: number): string => (index === 0 ? MAIN_PROCESS : `worker-${index}`);

/** The counters of worker lifecycles (the chart's alert on restarts names them; its test lists them from here). */
export function servingWorkerCounters(registry: Registry): { restarts: Counter<'worker'>; hangs: Counter<'worker'> } {
  return {
    restarts: new Counter({
      name: 'zkxds_serving_worker_restarts_total',
      help: 'Serving workers (serve --workers) that exited and were started again',
      labelNames: ['worker'],
      registers: [registry],
    }),
    hangs: new Counter({
      name: 'zkxds_serving_worker_hangs_total',
      help: 'Serving workers killed because they had not answered for --worker-hung-timeout-ms (each is then started again)',
      labelNames: ['worker'],
      registers: [registry],
    }),
  };
}

export class ServingWorkers {
  private readonly slots: Slot[];
  private cursor = 0;
  private stopping = false;
  private liveness: NodeJS.Timeout | null = null;
  private readonly restartsTotal: Counter<'worker'>;
  private readonly hungTotal: Counter<'worker'>;

  constructor(private readonly opts: ServingWorkersOptions) {
    this.slots = Array.from({ length: opts.count }, (_, k) => ({
      index: k + 1,
      child: null,
      pid: null,
      ready: false,
      warm: false,
      restarts: 0,
      startedAt: 0,
      restartDelayMs: RESTART_INITIAL_MS,
      restartTimer: null,
      lastHeardAt: 0,
      requests: new WorkerRequests(),
      exited: Promise.resolve(),
    }));
    ({ restarts: this.restartsTotal, hangs: this.hungTotal } = servingWorkerCounters(opts.registry));
    const slots = this.slots;
    new Gauge({
      name: 'zkxds_serving_workers',
      help: 'Serving worker processes by state: ready (takes connections and answers) or not',
      labelNames: ['state'],
      registers: [opts.registry],
      collect() {
        const ready = slots.filter((s) => s.ready && s.warm).length;
        this.set({ state: 'ready' }, ready);
        this.set({ state: 'not_ready' }, slots.length - ready);
      },
    });
    opts.book.onChange(() => this.broadcast({ kind: 'scopes', state: opts.book.state() }));
    opts.warm.onOpen(() => this.broadcast({ kind: 'warm' }));
  }

  start(): void {
    for (const slot of this.slots) this.spawn(slot);
    this.liveness = setInterval(() => this.checkLiveness(), LIVENESS_INTERVAL_MS);
    this.liveness.unref();
  }

  /**
   * Asks every running worker whether it is alive; one silent for too long is restarted. Only once
   * warm: reading the first catalog may keep a worker's event loop busy for seconds.
   */
  private checkLiveness(): void {
    const now = performance.now();
    const hungMs = this.opts.hungTimeoutMs ?? DEFAULT_HUNG_TIMEOUT_MS;
    for (const slot of this.slots) {
      const child = slot.child;
      if (!child?.connected || !slot.ready) continue;
      const silentMs = now - slot.lastHeardAt;
      if (slot.warm && hungMs > 0 && silentMs > hungMs) {
        this.hungTotal.inc({ worker: processName(slot.index) });
        this.opts.log.error(
          { worker: processName(slot.index), pid: slot.pid, silentMs: Math.round(silentMs) },
          'serving worker has not answered for --worker-hung-timeout-ms: killing it to start it again',
        );
        child.kill('SIGKILL');
        continue;
      }
      // The answer itself is not needed: any message from the worker updates lastHeardAt.
      if (slot.requests.open === 0) void slot.requests.ask((m) => this.send(slot, m), { what: 'ping' }, LIVENESS_INTERVAL_MS * 2);
    }
  }

  /** Services the main's catalog took in (hooked where the registry's batches reach the catalog). */
  offer(services: readonly Service[], observedAt: number): void {
    if (services.length > 0) this.broadcast({ kind: 'services', services, observedAtEpochMs: toEpochMs(observedAt) });
  }

  /** XdsServer's hand-off: true when a worker takes the socket, false to serve it in the main. */
  handOff(socket: net.Socket): boolean {
    if (this.stopping) return false;
    const now = performance.now();
    // A worker that has been silent for a while (stopped, or its event loop stuck) gets no new proxies.
    const serving = [true, ...this.slots.map((s) => s.ready && s.child?.connected === true && now - s.lastHeardAt < SILENT_NO_HANDOFF_MS)];
    const target = pickRoundRobin(this.cursor, serving);
    this.cursor = (target + 1) % serving.length;
    if (target === 0) return false;
    const slot = this.slots[target - 1]!;
    try {
      slot.child!.send({ kind: 'connection' } satisfies MainMessage, socket, (err) => {
        if (!err) return;
        // Not delivered: the proxy sees its connection close and reconnects.
        this.opts.log.warn({ worker: processName(slot.index), err: err.message }, 'could not hand a connection to a serving worker; closed it');
        socket.destroy();
      });
    } catch (err) {
      // Its channel closed under us (it is exiting): this process serves the connection instead.
      this.opts.log.debug({ worker: processName(slot.index), err: (err as Error).message }, 'serving worker unreachable; serving the connection here');
      return false;
    }
    return true;
  }

  /** Every worker's state (readiness detail, /debug/proxies). */
  report(): WorkerReport[] {
    return this.slots.map((s) => ({
      process: processName(s.index),
      pid: s.pid,
      state: !s.child ? 'restarting' : !s.ready ? 'starting' : s.warm ? 'warm' : 'ready',
      restarts: s.restarts,
    }));
  }

  /** Ready when every live worker opened its warm gate (a worker waiting to be restarted is not live). */
  readiness(): { ready: boolean; workers: WorkerReport[] } {
    const workers = this.report();
    return { ready: this.slots.every((s) => !s.child || (s.ready && s.warm)), workers };
  }

  /** The main's metrics merged with every worker that answers in time. */
  async metrics(): Promise<string> {
    const answers = await Promise.all(this.live().map((s) => s.requests.ask((m) => this.send(s, m), { what: 'metrics' })));
    const workers = answers.flatMap((a) => (a.answered && Array.isArray(a.body) ? [a.body as MetricsJson] : []));
    const main = (await this.opts.registry.getMetricsAsJSON()) as MetricsJson;
    return mergeMetrics(main, workers).metrics();
  }

  /** Every worker's /debug/proxies rows, each with its process. */
  async proxies(): Promise<OtherProcesses> {
    const live = this.live();
    const answers = await Promise.all(live.map((s) => s.requests.ask((m) => this.send(s, m), { what: 'proxies' })));
    const proxies: Array<ProxyRow & { process: string }> = [];
    const processes: Array<OtherProcesses['processes'][number]> = [{ process: MAIN_PROCESS, pid: process.pid, answered: true }];
    live.forEach((slot, k) => {
      const a = answers[k]!;
      const name = processName(slot.index);
      if (a.answered && Array.isArray(a.body)) {
        for (const row of a.body as ProxyRow[]) proxies.push({ ...row, process: name, streams: row.streams.map((st) => ({ ...st, process: name })) });
        processes.push({ process: name, pid: slot.pid ?? undefined, answered: true });
      } else processes.push({ process: name, pid: slot.pid ?? undefined, answered: false, error: a.answered ? 'malformed answer' : a.error });
    });
    for (const s of this.slots) if (!live.includes(s)) processes.push({ process: processName(s.index), answered: false, error: 'not running (restarting)' });
    return { self: MAIN_PROCESS, proxies, processes };
  }

  /** What a node served by a worker was sent (/debug/config_dump), with the worker's name; null when none serves it. */
  async configDump(node: string, type?: string): Promise<{ process: string; dump: object } | null> {
    const live = this.live();
    const question = { what: 'config-dump', node, ...(type !== undefined ? { type } : {}) } as const;
    const answers = await Promise.all(live.map((s) => s.requests.ask((m) => this.send(s, m), question)));
    const k = answers.findIndex((a) => a.answered && typeof a.body === 'object' && a.body !== null);
    return k < 0 ? null : { process: processName(live[k]!.index), dump: (answers[k] as { body: object }).body };
  }

  /** Stops handing off, asks every worker to end its streams, waits up to `graceMs`, then kills. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    if (this.liveness) clearInterval(this.liveness);
    for (const s of this.slots) if (s.restartTimer) clearTimeout(s.restartTimer);
    const running = this.slots.filter((s) => s.child);
    for (const s of running) this.send(s, { kind: 'shutdown', graceMs });
    const all = Promise.all(running.map((s) => s.exited));
    const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), graceMs + 1000).unref());
    if ((await Promise.race([all, timer])) === 'late') {
      for (const s of running) if (s.child) s.child.kill('SIGKILL');
      await all;
    }
  }

  private live(): Slot[] {
    return this.slots.filter((s) => s.ready && s.child?.connected);
  }

  private broadcast(message: MainMessage): void {
    for (const s of this.slots) if (s.child) this.send(s, message);
  }

  /** False when the channel is gone (the exit handler restarts the worker). */
  private send(slot: Slot, message: MainMessage): boolean {
    const child = slot.child;
    if (!child?.connected) return false;
    try {
      child.send(message, (err) => {
        if (err) this.opts.log.debug({ worker: processName(slot.index), kind: message.kind, err: err.message }, 'message to a serving worker not delivered');
      });
      return true;
    } catch (err) {
      // A value structured clone cannot copy, or a channel that just closed: said, never thrown.
      // A worker that missed part of the catalog or scopes would serve a diverging state: it is
      // restarted, and starts again from the full snapshot.
      const diverges = message.kind === 'services' || message.kind === 'scopes' || message.kind === 'warm';
      this.opts.log.warn(
        { worker: processName(slot.index), kind: message.kind, err: (err as Error).message, restarting: diverges },
        'could not send a message to a serving worker',
      );
      if (diverges) child.kill('SIGKILL');
      return false;
    }
  }

  private spawn(slot: Slot): void {
    slot.restartTimer = null;
    const name = processName(slot.index);
    // Config goes over IPC, never on the command line; stdout and stderr are the main's (one log).
    const child = fork(this.opts.entry ?? WORKER_ENTRY, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: workerEnv() });
    slot.child = child;
    slot.pid = child.pid ?? null;
    slot.ready = false;
    slot.warm = false;
    slot.startedAt = Date.now();
    slot.lastHeardAt = performance.now();
    slot.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('error', (err) => this.opts.log.warn({ worker: name, err: err.message }, 'serving worker process error'));
    child.on('message', (raw) => this.onMessage(slot, raw));
    child.once('exit', (code, signal) => this.onExit(slot, child, code, signal));
    // Fed in order: what it serves with, the catalog so far, the scopes, and warm if it is.
    this.send(slot, { kind: 'config', worker: slot.index, logLevel: this.opts.logLevel, config: this.opts.config });
    const services = [...this.opts.catalog.snapshot().values()];
    if (services.length > 0) this.send(slot, { kind: 'services', services, observedAtEpochMs: toEpochMs(performance.now()) });
    this.send(slot, { kind: 'scopes', state: this.opts.book.state() });
    if (this.opts.warm.isOpen) this.send(slot, { kind: 'warm' });
    this.opts.log.info({ worker: name, pid: slot.pid }, 'serving worker started');
  }

  private onMessage(slot: Slot, raw: unknown): void {
    slot.lastHeardAt = performance.now();
    const m = parseWorkerMessage(raw);
    if ('invalid' in m) {
      this.opts.log.warn({ worker: processName(slot.index), reason: m.invalid }, 'malformed message from a serving worker; dropped');
      return;
    }
    switch (m.kind) {
      case 'ready':
        slot.ready = true;
        slot.pid = m.pid;
        this.opts.log.info({ worker: processName(slot.index), pid: m.pid }, 'serving worker ready: taking connections');
        return;
      case 'warm-ack':
        slot.warm = true;
        return;
      case 'answer':
        slot.requests.answered(m.id, m.body);
        return;
      case 'failed':
        this.opts.log.error({ worker: processName(slot.index), reason: m.reason }, 'serving worker could not start');
        return;
    }
  }

  private onExit(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child !== child) return;
    const name = processName(slot.index);
    slot.child = null;
    slot.ready = false;
    slot.warm = false;
    slot.requests.dropAll('worker exited');
    if (this.stopping) {
      this.opts.log.info({ worker: name, pid: slot.pid, code, signal }, 'serving worker stopped');
      return;
    }
    if (Date.now() - slot.startedAt > RESTART_RESET_AFTER_MS) slot.restartDelayMs = RESTART_INITIAL_MS;
    const delayMs = slot.restartDelayMs;
    slot.restartDelayMs = Math.min(slot.restartDelayMs * 2, RESTART_MAX_MS);
    slot.restarts++;
    this.restartsTotal.inc({ worker: name });
    // Its proxies' connections dropped with it; they reconnect to the port and land on another process.
    this.opts.log.warn({ worker: name, pid: slot.pid, code, signal, restartInMs: delayMs }, 'serving worker exited; starting it again');
    slot.restartTimer = setTimeout(() => {
      if (!this.stopping) this.spawn(slot);
    }, delayMs);
  }
}
