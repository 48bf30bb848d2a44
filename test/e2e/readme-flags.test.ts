// The README's flag table is what operators read: every environment variable `zk-xds serve`
// accepts (from the real CLI's --help) must have its row there, and no row may name one it lacks.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cliEnvVars } from '../helm/cli-env.js';
import { PROJECT_ROOT } from '../../src/xds/protos.js';

function readmeFlagTable(): Set<string> {
  const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Running zk-xds'), readme.indexOf('\n## ', readme.indexOf('## Running zk-xds') + 1));
  return new Set([...section.matchAll(/^\| `--[a-z0-9-]+` \| `(ZKXDS_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!));
}

describe('README flag table', () => {
  it('lists every environment variable of zk-xds serve, and only those', () => {
    const documented = readmeFlagTable();
    const accepted = cliEnvVars();
    expect([...accepted].filter((v) => !documented.has(v)).sort()).toEqual([]);
    expect([...documented].filter((v) => !accepted.has(v)).sort()).toEqual([]);
  });
});
