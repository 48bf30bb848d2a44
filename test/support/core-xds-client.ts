// Runs a real gRPC C-core proxyless client (test/support/python/core_xds_client.py on Debian's
// python3-grpcio, installed by scripts/install-deps.sh) against an xDS server for a while.
import path from 'node:path';
import { spawn } from 'node:child_process';
import { PROJECT_ROOT } from '../../src/xds/protos.js';
import { xdsBootstrap } from './xds-client-process.js';

const SCRIPT = path.join(PROJECT_ROOT, 'test', 'support', 'python', 'core_xds_client.py');

export interface CoreClientRun {
  /** null when the process died by a signal (a C-core crash: SIGSEGV, SIGABRT). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The script's summary line; null when it died before printing it. */
  readonly result: { ok: number; failed: number; backends: Record<string, number>; errors: Record<string, number> } | null;
  readonly stderr: string;
}

/** Calls xds:///target back to back for `seconds`, each call with `deadlineSeconds`, then exits. */
export function runCoreXdsClient(opts: { xdsServer: string; nodeId: string; target: string; seconds: number; deadlineSeconds?: number }): Promise<CoreClientRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(xdsBootstrap(opts.xdsServer, opts.nodeId)) };
  delete env.GRPC_XDS_BOOTSTRAP;
  for (const k of ['grpc_proxy', 'https_proxy', 'http_proxy']) delete env[k];
  const child = spawn('/usr/bin/python3', [SCRIPT, opts.target, String(opts.seconds), String(opts.deadlineSeconds ?? 5)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-16_384)));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      resolve({ code, signal, result: line.startsWith('{') ? (JSON.parse(line) as CoreClientRun['result']) : null, stderr });
    });
  });
}
