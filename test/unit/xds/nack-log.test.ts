// NACK log lines: one per (node, type, rejected version), error_detail cut, repeats counted.
import { describe, expect, it } from '@jest/globals';
import { NackLog, NACK_DETAIL_CHARS } from '../../../src/xds/nack-log.js';
import type { Logger } from '../../../src/observability/logger.js';

function recordingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const log = { warn: (o: Record<string, unknown>) => lines.push(o) } as unknown as Logger;
  return { log, lines };
}

describe('NackLog', () => {
  it('logs a repeated rejection once, cut to a few hundred characters, and counts the repeats', () => {
    const { log, lines } = recordingLogger();
    let suppressed = 0;
    let now = 0;
    const nacks = new NackLog(
      log,
      () => suppressed++,
      () => now,
    );
    const e = { node: 'envoy-1', type: 'CDS', rejectedVersion: 'v1', nonce: '3', message: 'x'.repeat(65536) };
    for (let i = 0; i < 100; i++) nacks.record(e, 'nack');
    nacks.record({ ...e, node: 'envoy-2' }, 'nack');
    nacks.record({ ...e, rejectedVersion: 'v2' }, 'nack');
    expect(lines.map((l) => [l.node, l.rejectedVersion])).toEqual([
      ['envoy-1', 'v1'],
      ['envoy-2', 'v1'],
      ['envoy-1', 'v2'],
    ]);
    expect(suppressed).toBe(99);
    const error = lines[0]!.error as string;
    expect(error.startsWith('x'.repeat(NACK_DETAIL_CHARS))).toBe(true);
    expect(error).toContain(`(${65536 - NACK_DETAIL_CHARS} more characters)`);
    // Much later the same rejection is logged again, with how often it came meanwhile.
    now += 11 * 60_000;
    nacks.record(e, 'nack');
    expect(lines[3]).toMatchObject({ node: 'envoy-1', rejectedVersion: 'v1', repeatsSinceLastLogged: 99 });
  });
});
