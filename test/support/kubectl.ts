// Runs the real kubectl: the one scripts/install-kube-tools.sh puts in .run/bin when present, else
// $KUBECTL, else kubectl on PATH.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function kubectlBinary(): string {
  const local = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../.run/bin/kubectl');
  try {
    accessSync(local, constants.X_OK);
    return local;
  } catch {
    return process.env.KUBECTL ?? 'kubectl';
  }
}

/** kubectl with this kubeconfig and a private discovery cache; rejects on a non-zero exit. */
export function kubectl(kubeconfig: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const cacheDir = path.join(os.tmpdir(), `kubectl-cache-${process.pid}`);
  return run(kubectlBinary(), ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args], { encoding: 'utf8' });
}
