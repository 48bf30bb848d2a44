// Runs the real helm and kubectl that scripts/install-kube-tools.sh puts in .run/bin, with helm's
// cache/config/data in a temporary home so tests touch nothing of the user's.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT } from '../../src/xds/protos.js';

export { PROJECT_ROOT };
export const CHART_DIR = path.join(PROJECT_ROOT, 'charts/zk-xds');
const BIN_DIR = path.join(PROJECT_ROOT, '.run/bin');

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let helmHome: string | undefined;

function tool(name: 'helm' | 'kubectl'): string {
  const bin = path.join(BIN_DIR, name);
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run scripts/install-kube-tools.sh (scripts/install-deps.sh does)`);
  return bin;
}

function run(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): RunResult {
  const r = spawnSync(bin, args, { cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function helm(args: readonly string[]): RunResult {
  // One per test file; helm leaves next to nothing in it (no repositories, no plugins).
  helmHome ??= mkdtempSync(path.join(os.tmpdir(), 'zkxds-helm-'));
  return run(tool('helm'), args, {
    HELM_CACHE_HOME: path.join(helmHome, 'cache'),
    HELM_CONFIG_HOME: path.join(helmHome, 'config'),
    HELM_DATA_HOME: path.join(helmHome, 'data'),
  });
}

export function kubectl(args: readonly string[]): RunResult {
  return run(tool('kubectl'), args);
}

/** A Kubernetes object as YAML gives it: only the type meta is known for certain. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** Every non-empty document of a multi-document YAML stream; throws on a YAML error. */
export function parseObjects(text: string, where: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as KubeObject | null;
    return value === null ? [] : [value];
  });
}

/** `helm template` of the chart with a values file; throws with helm's stderr when it fails. */
export function renderChart(valuesFile: string, release = 'zk-xds', namespace = 'zk-xds', extraArgs: readonly string[] = []): KubeObject[] {
  const r = helm(['template', release, CHART_DIR, '--namespace', namespace, '--values', valuesFile, ...extraArgs]);
  if (r.status !== 0) throw new Error(`helm template -f ${valuesFile} failed: ${r.stderr}`);
  return parseObjects(r.stdout, `helm template -f ${valuesFile}`);
}
