// Spreads the proxies over K child processes (forks of the CLI), so the generator can use more than
// one core. Two phases: every worker loads and reports ready, then all start together from one
// origin time, so worker start-up does not count as server time. Results come back over IPC and
// merge exactly (per-proxy outcomes in epoch ms).
import { fork, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { EdsRecorder } from './eds-recorder.js';
import { epochNow, runLoadRaw, type LoadOptions } from './run.js';
import type { RawLoadResult } from './report.js';
import { preloadProtos } from './xds-stream.js';

/** LoadOptions that can cross a process boundary (no callbacks). */
export type PlainLoadOptions = Omit<LoadOptions, 'onResponse' | 'progress'>;

export interface WorkerTask {
  readonly workerIndex: number;
  readonly options: PlainLoadOptions;
  /** NDJSON file this worker writes its EDS receipts to. */
  readonly recordEds: string | null;
  readonly progress: boolean;
}

type ToWorker = { kind: 'task'; task: WorkerTask } | { kind: 'start'; startedAt: number };
type FromWorker = { kind: 'ready' } | { kind: 'result'; result: RawLoadResult } | { kind: 'failed'; message: string };

const WORKER_ENV = 'ZKXDS_LOADGEN_WORKER';

export function isWorkerProcess(): boolean {
  return process.env[WORKER_ENV] === '1' && typeof process.send === 'function';
}

/** Runs `options.proxies` proxies split over `workers` forks of `script`; EDS receipts go to `recordEds`. */
export async function runWorkers(
  script: string,
  options: PlainLoadOptions,
  workers: number,
  recordEds: string | null,
  progress: boolean,
): Promise<RawLoadResult[]> {
  const first = options.firstIndex ?? 0;
  const tasks: WorkerTask[] = [];
  for (let k = 0, offset = 0; k < workers; k++) {
    const count = Math.floor(options.proxies / workers) + (k < options.proxies % workers ? 1 : 0);
    tasks.push({
      workerIndex: k,
      options: { ...options, proxies: count, firstIndex: first + offset },
      recordEds: recordEds && `${recordEds}.part${k}`,
      progress,
    });
    offset += count;
  }
  const children = tasks.map((task) => {
    const child = fork(script, [], { env: { ...process.env, [WORKER_ENV]: '1' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    send(child, { kind: 'task', task });
    return child;
  });
  await Promise.all(children.map((c) => nextMessage(c, 'ready')));
  const startedAt = epochNow();
  for (const c of children) send(c, { kind: 'start', startedAt });
  const results = await Promise.all(children.map((c) => nextMessage(c, 'result')));
  if (recordEds) {
    writeFileSync(recordEds, '');
    for (const t of tasks) {
      appendFileSync(recordEds, readFileSync(t.recordEds!));
      rmSync(t.recordEds!);
    }
  }
  return results.map((m) => m.result);
}

/** The body of a worker process: wait for a task, report ready, run on 'start', send the result. */
export async function workerMain(): Promise<void> {
  const task = await new Promise<WorkerTask>((resolve) => process.once('message', (m: ToWorker) => m.kind === 'task' && resolve(m.task)));
  preloadProtos();
  process.send!({ kind: 'ready' } satisfies FromWorker);
  const startedAt = await new Promise<number>((resolve) => process.once('message', (m: ToWorker) => m.kind === 'start' && resolve(m.startedAt)));
  const recorder = task.recordEds ? new EdsRecorder(task.recordEds) : null;
  try {
    const result = await runLoadRaw({
      ...task.options,
      startedAt,
      ...(recorder ? { onResponse: recorder.onResponse } : {}),
      ...(task.progress ? { progress: (line: string) => process.stderr.write(`[loadgen w${task.workerIndex}] ${line}\n`) } : {}),
    });
    await recorder?.close();
    reply({ kind: 'result', result });
  } catch (err) {
    reply({ kind: 'failed', message: (err as Error).message });
  }
}

/** Sends the last message, then exits (a lingering handle must not keep the worker alive). */
function reply(m: FromWorker): void {
  process.send!(m, () => process.exit(0));
}

function send(child: ChildProcess, m: ToWorker): void {
  child.send(m);
}

function nextMessage<K extends FromWorker['kind']>(child: ChildProcess, kind: K): Promise<Extract<FromWorker, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromWorker) => {
      if (m.kind === kind) {
        cleanup();
        resolve(m as Extract<FromWorker, { kind: K }>);
      } else if (m.kind === 'failed') {
        cleanup();
        reject(new Error(`load generator worker failed: ${m.message}`));
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`load generator worker exited (code ${code}) before '${kind}'`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}
