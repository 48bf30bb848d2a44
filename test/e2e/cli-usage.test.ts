// How the real compiled `zk-xds` behaves when it is called wrongly or asked who it is: usage errors
// exit 2 (distinct from `validate`'s 1 for "rejections found") with the error and a one-line hint
// to --help instead of the whole help, and --version prints the package's version.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CliProcess } from '../support/cli-process.js';
import { PROJECT_ROOT } from '../../src/xds/protos.js';

const VERSION = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('zk-xds command line usage', () => {
  it('--version prints the package version and exits 0', async () => {
    for (const flag of ['--version', '-V']) {
      const res = await CliProcess.run([flag]);
      expect(res).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    }
  });

  it.each([
    [['serve', '--no-such-flag'], "error: unknown option '--no-such-flag'", 'zk-xds serve --help'],
    [['validate', '--zk'], "error: option '--zk <connect>' argument missing", 'zk-xds validate --help'],
    [['status', '-o', 'yaml'], "error: option '-o, --output <format>' argument 'yaml' is invalid", 'zk-xds status --help'],
    [['inspect'], "error: missing required argument 'service'", 'zk-xds inspect --help'],
    [['frobnicate'], "error: unknown command 'frobnicate'", 'zk-xds --help'],
  ])('%j is a usage error: exit 2, the error and a one-line hint, not the whole help', async (args, error, hint) => {
    const res = await CliProcess.run(args);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    const lines = res.stderr.trim().split('\n');
    expect(lines[0]).toContain(error);
    expect(lines).toEqual([lines[0], `(run "${hint}" for usage)`]);
  });

  it('--help still prints the help and exits 0', async () => {
    const res = await CliProcess.run(['status', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Usage: zk-xds status [options]');
  });
});
