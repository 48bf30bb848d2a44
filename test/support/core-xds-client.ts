// Runs the real gRPC C-core proxyless client (CoreCaller: test/support/python/xds_echo_caller.py on
// Debian's python3-grpcio) against an xDS server for a fixed time, and sums up how it went.
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreCaller, failures } from './continuous-callers.js';

export interface CoreClientRun {
  /** null when the process died by a signal (a C-core crash: SIGSEGV, SIGABRT). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** What the calls did; null when the client died on its own before it was stopped. */
  readonly result: { ok: number; failed: number; backends: Record<string, number>; errors: Record<string, number> } | null;
  readonly stderr: string;
}

/** Calls xds:///target back to back for `seconds`, each call with `deadlineSeconds`, then stops it. */
export async function runCoreXdsClient(opts: {
  xdsServer: string;
  nodeId: string;
  target: string;
  seconds: number;
  deadlineSeconds?: number;
}): Promise<CoreClientRun> {
  const caller = await CoreCaller.start({
    xdsServer: opts.xdsServer,
    nodeId: opts.nodeId,
    target: opts.target,
    deadlineMs: (opts.deadlineSeconds ?? 5) * 1000,
  });
  const died = await Promise.race([caller.exit.then(() => true), sleep(opts.seconds * 1000).then(() => false)]);
  if (!died) await caller.stop();
  const { code, signal } = await caller.exit;
  return { code, signal, result: died ? null : summarize(caller), stderr: caller.output() };
}

function summarize(caller: CoreCaller): NonNullable<CoreClientRun['result']> {
  const backends: Record<string, number> = {};
  for (const r of caller.results) if (r.ok) backends[r.backend] = (backends[r.backend] ?? 0) + 1;
  const { count, messages } = failures(caller.results);
  return { ok: caller.results.length - count, failed: count, backends, errors: messages };
}
