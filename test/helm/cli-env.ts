// The environment variables the real, compiled CLI accepts, read from `zk-xds serve --help`
// (commander prints "env: ZKXDS_..." for every option), so that a manifest naming a variable the
// CLI does not know fails a test instead of being silently ignored in a pod.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './kube-tools.js';

export const CLI_MAIN = path.join(PROJECT_ROOT, 'dist/src/cli/main.js');

let cached: Set<string> | undefined;

/** The ZKXDS_* variables of `zk-xds serve`. */
export function cliEnvVars(): Set<string> {
  if (cached) return cached;
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run \`npm run build\` first (make test does)`);
  const r = spawnSync(process.execPath, [CLI_MAIN, 'serve', '--help'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  if (r.status !== 0) throw new Error(`zk-xds serve --help failed: ${r.stderr}`);
  cached = new Set([...r.stdout.matchAll(/env:\s+(ZKXDS_[A-Z0-9_]+)/g)].map((m) => m[1]!));
  if (cached.size === 0) throw new Error('zk-xds serve --help lists no env: ZKXDS_* variables: has the help format changed?');
  return cached;
}
