// The messages between the main zk-xds process and its serving workers (`serve --workers N`), over
// the IPC channel of child_process.fork with `serialization: 'advanced'` (structured clone: the
// catalog's plain objects, Maps and Dates cross as they are). One place for their shapes and for
// the checks each side runs on what it receives: a malformed message is logged and dropped.
import type { Service } from '../catalog/model.js';
import type { ScopeBookState } from '../catalog/scope.js';
import type { ServingConfig } from './serving-part.js';

/** What a worker is asked and answers (worker-requests.ts pairs them by id). */
export type WorkerQuestion =
  | { readonly what: 'metrics' }
  | { readonly what: 'proxies' }
  /** Liveness (serving-workers.ts): answered at once with null. */
  | { readonly what: 'ping' }
  /** What one node was sent (/debug/config_dump); answered with null when the node is not here. */
  | { readonly what: 'config-dump'; readonly node: string; readonly type?: string };

/** Main -> worker. */
export type MainMessage =
  /** First message: what the worker serves with (nothing secret: see servingConfigOf). */
  | { readonly kind: 'config'; readonly worker: number; readonly logLevel: string; readonly config: ServingConfig }
  /** Services the main's catalog took in (a full snapshot first), with when their change was seen (epoch ms). */
  | { readonly kind: 'services'; readonly services: readonly Service[]; readonly observedAtEpochMs: number }
  /** The main's whole scope book, sent whenever it changes. */
  | { readonly kind: 'scopes'; readonly state: ScopeBookState }
  /** The main's warm gate opened: the worker opens its own. */
  | { readonly kind: 'warm' }
  /** A proxy's connection, as the handle sent with the message (still paused). */
  | { readonly kind: 'connection' }
  | { readonly kind: 'request'; readonly id: number; readonly question: WorkerQuestion }
  /** End streams and exit. */
  | { readonly kind: 'shutdown'; readonly graceMs: number };

/** Worker -> main. */
export type WorkerMessage =
  /** Built its serving part: it may be handed connections. */
  | { readonly kind: 'ready'; readonly pid: number }
  /** Opened its warm gate. */
  | { readonly kind: 'warm-ack' }
  | { readonly kind: 'answer'; readonly id: number; readonly body: unknown }
  /** Could not start (a TLS file it could not read...): it exits after this. */
  | { readonly kind: 'failed'; readonly reason: string };

function isQuestion(value: unknown): value is WorkerQuestion {
  const q = record(value);
  if (!q) return false;
  if (q.what === 'metrics' || q.what === 'proxies' || q.what === 'ping') return true;
  return q.what === 'config-dump' && typeof q.node === 'string' && (q.type === undefined || typeof q.type === 'string');
}

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** `value` as a MainMessage, or a reason it is not one. */
export function parseMainMessage(value: unknown): MainMessage | { readonly invalid: string } {
  const m = record(value);
  if (!m || typeof m.kind !== 'string') return { invalid: 'not an object with a kind' };
  switch (m.kind) {
    case 'config':
      return isCount(m.worker) && typeof m.logLevel === 'string' && record(m.config)
        ? (m as unknown as MainMessage)
        : { invalid: 'config needs worker, logLevel and config' };
    case 'services':
      return Array.isArray(m.services) && typeof m.observedAtEpochMs === 'number' && Number.isFinite(m.observedAtEpochMs)
        ? (m as unknown as MainMessage)
        : { invalid: 'services needs a services list and observedAtEpochMs' };
    case 'scopes': {
      const s = record(m.state);
      return s && Array.isArray(s.explicit) && Array.isArray(s.learned)
        ? (m as unknown as MainMessage)
        : { invalid: 'scopes needs explicit and learned lists' };
    }
    case 'request':
      return isCount(m.id) && isQuestion(m.question) ? (m as unknown as MainMessage) : { invalid: 'request needs an id and a known question' };
    case 'shutdown':
      return isCount(m.graceMs) ? (m as unknown as MainMessage) : { invalid: 'shutdown needs graceMs' };
    case 'warm':
    case 'connection':
      return m as unknown as MainMessage;
    default:
      return { invalid: `unknown kind ${JSON.stringify(m.kind).slice(0, 40)}` };
  }
}

/** `value` as a WorkerMessage, or a reason it is not one. */
export function parseWorkerMessage(value: unknown): WorkerMessage | { readonly invalid: string } {
  const m = record(value);
  if (!m || typeof m.kind !== 'string') return { invalid: 'not an object with a kind' };
  switch (m.kind) {
    case 'ready':
      return isCount(m.pid) ? (m as unknown as WorkerMessage) : { invalid: 'ready needs a pid' };
    case 'warm-ack':
      return m as unknown as WorkerMessage;
    case 'answer':
      return isCount(m.id) ? (m as unknown as WorkerMessage) : { invalid: 'answer needs an id' };
    case 'failed':
      return typeof m.reason === 'string' ? (m as unknown as WorkerMessage) : { invalid: 'failed needs a reason' };
    default:
      return { invalid: `unknown kind ${JSON.stringify(m.kind).slice(0, 40)}` };
  }
}

// Each process has its own performance.now() origin: a change's observation time crosses as epoch
// milliseconds and is turned back into the receiver's clock (change-latency histograms use it).
export function toEpochMs(monotonicMs: number, timeOrigin: number = performance.timeOrigin): number {
  return timeOrigin + monotonicMs;
}

export function fromEpochMs(epochMs: number, timeOrigin: number = performance.timeOrigin): number {
  return epochMs - timeOrigin;
}
