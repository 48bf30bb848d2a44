// The write gate: buffered-bytes ceiling, initial syncs at a bounded rate in arrival order, stuck
// streams reported after the timeout, and abandoned bytes reported when a stream closes.
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { WriteGate, type WriteGateOptions } from '../../../src/xds/write-gate.js';
import type { Flushable } from '../../../src/xds/flush-scheduler.js';

const stream = (): Flushable => ({ flush: () => {} });
let gates: WriteGate[] = [];
afterEach(() => {
  for (const g of gates) g.close();
  gates = [];
  jest.useRealTimers();
});

function gate(o: Partial<WriteGateOptions> = {}) {
  const scheduled: Flushable[] = [];
  const stuck: Flushable[] = [];
  const abandoned: number[] = [];
  const g = new WriteGate({
    maxBufferedBytes: 0,
    initialSyncsPerSecond: 0,
    stuckTimeoutMs: 0,
    schedule: (s) => scheduled.push(s),
    onStuck: (s) => stuck.push(s),
    onAbandoned: (b) => abandoned.push(b),
    ...o,
  });
  gates.push(g);
  return { g, scheduled, stuck, abandoned };
}

describe('WriteGate', () => {
  it('holds writes while the buffered bytes are over the ceiling and wakes the held streams in order as bytes leave', () => {
    const { g, scheduled } = gate({ maxBufferedBytes: 100 });
    const [a, b, c, d] = [stream(), stream(), stream(), stream()];
    expect(g.mayWrite(a, false)).toBe(true);
    g.wrote(a, 80);
    expect(g.mayWrite(b, false)).toBe(true);
    g.wrote(b, 80);
    expect(g.bufferedBytes).toBe(160);
    expect(g.mayWrite(c, false)).toBe(false);
    expect(g.mayWrite(d, false)).toBe(false);
    g.sent(a);
    // 80 left, under the ceiling: c goes first, and d with it (the check is before each write).
    expect(scheduled).toEqual([c, d]);
    g.sent(b);
    expect(g.bufferedBytes).toBe(0);
  });

  it('admits first responses at the configured rate, in arrival order, and never delays later writes', () => {
    jest.useFakeTimers();
    let now = 0;
    const { g, scheduled } = gate({ initialSyncsPerSecond: 2, now: () => now });
    const streams = Array.from({ length: 5 }, stream);
    const admitted = streams.filter((s) => g.mayWrite(s, true));
    expect(admitted).toEqual(streams.slice(0, 2));
    // A stream's later writes are not rate limited.
    expect(g.mayWrite(streams[0]!, false)).toBe(true);
    now += 1000;
    jest.advanceTimersByTime(1000);
    expect(scheduled).toEqual(streams.slice(2, 4));
    // Granted streams pass when they come back; a newcomer waits behind the queue.
    expect(g.mayWrite(streams[2]!, true)).toBe(true);
    expect(g.mayWrite(stream(), true)).toBe(false);
    now += 1000;
    jest.advanceTimersByTime(1000);
    expect(scheduled[2]).toBe(streams[4]);
  });

  it('reports a stream whose write has not left after the timeout, and the bytes a closed stream abandoned', () => {
    jest.useFakeTimers();
    let now = 0;
    const { g, stuck, abandoned } = gate({ stuckTimeoutMs: 1000, now: () => now });
    const [slow, quick] = [stream(), stream()];
    g.wrote(slow, 500);
    g.wrote(quick, 10);
    now += 200;
    g.sent(quick);
    now += 1000;
    jest.advanceTimersByTime(1000);
    expect(stuck).toEqual([slow]);
    g.forget(slow);
    expect(abandoned).toEqual([500]);
    expect(g.bufferedBytes).toBe(0);
  });
});
