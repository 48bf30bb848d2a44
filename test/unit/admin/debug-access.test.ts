// Who may read /debug: loopback always; others only with the bearer token of the token file (read
// again when the file changes), and nobody else without a token file.
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DebugAccess, isLoopback } from '../../../src/admin/debug-access.js';
import { silentLogger } from '../../../src/observability/logger.js';

describe('isLoopback', () => {
  it('takes 127.0.0.0/8 and ::1 (also IPv4-mapped), and nothing else', () => {
    for (const a of ['127.0.0.1', '127.0.0.6', '127.255.1.2', '::1', '::ffff:127.0.0.1']) expect(isLoopback(a)).toBe(true);
    for (const a of ['192.0.2.2', '10.0.0.1', '::ffff:10.0.0.1', 'fd00::2', '128.0.0.1', '1127.0.0.1', '::', '0.0.0.0', undefined, ''])
      expect(isLoopback(a)).toBe(false);
  });
});

describe('DebugAccess', () => {
  it('without a token file answers loopback only, refusing others with 403 and a reason', () => {
    const access = new DebugAccess(undefined, silentLogger());
    expect(access.check('127.0.0.1', undefined)).toBeUndefined();
    expect(access.check('::1', undefined)).toBeUndefined();
    const denied = access.check('192.0.2.2', 'Bearer anything');
    expect(denied).toEqual({ status: 403, reason: expect.stringContaining('loopback') });
    expect(denied!.reason).not.toContain('\n');
  });

  it('with a token file wants the bearer token from non-loopback connections (401 otherwise), and follows a rotated file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zkxds-token-'));
    try {
      const file = path.join(dir, 'token');
      writeFileSync(file, 'first-token\n');
      const access = new DebugAccess(file, silentLogger());
      expect(access.check('127.0.0.1', undefined)).toBeUndefined();
      expect(access.check('192.0.2.2', undefined)).toMatchObject({ status: 401 });
      expect(access.check('192.0.2.2', 'Bearer wrong')).toMatchObject({ status: 401 });
      expect(access.check('192.0.2.2', 'Basic Zmlyc3QtdG9rZW4=')).toMatchObject({ status: 401 });
      expect(access.check('192.0.2.2', 'Bearer first-token')).toBeUndefined();
      expect(access.check('::ffff:10.1.1.1', 'bearer first-token')).toBeUndefined();
      // A Kubernetes Secret update swaps the file (a new inode behind the symlink).
      writeFileSync(path.join(dir, 'token.new'), 'second-token');
      renameSync(path.join(dir, 'token.new'), file);
      expect(access.check('192.0.2.2', 'Bearer first-token')).toMatchObject({ status: 401 });
      expect(access.check('192.0.2.2', 'Bearer second-token')).toBeUndefined();
      for (const d of [access.check('192.0.2.2', 'Bearer first-token'), access.check('192.0.2.2', undefined)]) {
        expect(d!.reason).not.toContain('second-token');
        expect(d!.reason).not.toContain('first-token');
      }
      // A missing or empty file closes /debug to non-loopback connections instead of opening it.
      rmSync(file);
      expect(access.check('192.0.2.2', 'Bearer second-token')).toMatchObject({ status: 403 });
      writeFileSync(file, '\n');
      expect(access.check('192.0.2.2', 'Bearer second-token')).toMatchObject({ status: 403 });
      expect(access.check('127.0.0.1', undefined)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
