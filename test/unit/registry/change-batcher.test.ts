import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ChangeBatcher, type BatcherOptions } from '../../../src/registry/change-batcher.js';

// Fake timers also fake performance.now(), so batch times and firstSeenAt are exact.
beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

/** Something that happens at a time (ms after the start of the case). */
type Event = { readonly at: number } & ({ readonly add: string } | { readonly flush: true } | { readonly clear: true });

/** A batch as the handler saw it, times relative to the start of the case. */
interface Batch {
  readonly at: number;
  readonly keys: readonly string[];
  readonly firstSeenAt: number;
}

const add = (at: number, key: string): Event => ({ at, add: key });
const flush = (at: number): Event => ({ at, flush: true });
const clear = (at: number): Event => ({ at, clear: true });

/** Runs events in order on fake time, then lets every timer fire; returns the batches sent. */
function run(opts: BatcherOptions, events: readonly Event[]): Batch[] {
  const start = performance.now();
  const batches: Batch[] = [];
  const batcher = new ChangeBatcher(opts, (keys, firstSeenAt) => {
    batches.push({ at: performance.now() - start, keys: [...keys].sort(), firstSeenAt: firstSeenAt - start });
  });
  for (const e of events) {
    const wait = start + e.at - performance.now();
    if (wait < 0) throw new Error(`events out of order at ${e.at}`);
    jest.advanceTimersByTime(wait);
    if ('add' in e) batcher.add(e.add);
    else if ('flush' in e) batcher.flush();
    else batcher.clear();
  }
  jest.advanceTimersByTime(10 * (opts.debounceMs + opts.maxDelayMs));
  return batches;
}

/** Adds `key-i` every `every` ms from `from` until before `until`. */
function stream(from: number, until: number, every: number): Event[] {
  const out: Event[] = [];
  for (let t = from, i = 0; t < until; t += every, i++) out.push(add(t, `k${i}`));
  return out;
}

const keysOf = (events: readonly Event[]): string[] => events.flatMap((e) => ('add' in e ? [e.add] : [])).sort();

const OPTS: BatcherOptions = { debounceMs: 50, maxDelayMs: 200 };

describe('ChangeBatcher', () => {
  it.each<[string, Event[], Batch[]]>([
    ['nothing added: nothing sent', [], []],
    ['one change closes after the quiet time', [add(0, 'a')], [{ at: 50, keys: ['a'], firstSeenAt: 0 }]],
    ['a change that starts later: times follow it', [add(1000, 'a')], [{ at: 1050, keys: ['a'], firstSeenAt: 1000 }]],
    ['each change restarts the quiet time', [add(0, 'a'), add(40, 'b'), add(80, 'c')], [{ at: 130, keys: ['a', 'b', 'c'], firstSeenAt: 0 }]],
    [
      'a gap longer than the quiet time starts a new batch',
      [add(0, 'a'), add(60, 'b')],
      [
        { at: 50, keys: ['a'], firstSeenAt: 0 },
        { at: 110, keys: ['b'], firstSeenAt: 60 },
      ],
    ],
    [
      'a change exactly at the quiet time is after the batch closed',
      [add(0, 'a'), add(50, 'b')],
      [
        { at: 50, keys: ['a'], firstSeenAt: 0 },
        { at: 100, keys: ['b'], firstSeenAt: 50 },
      ],
    ],
    ['keys are deduplicated within a batch', [add(0, 'a'), add(10, 'b'), add(20, 'a'), add(30, 'a')], [{ at: 80, keys: ['a', 'b'], firstSeenAt: 0 }]],
    [
      'the same key in two batches is sent twice',
      [add(0, 'a'), add(100, 'a')],
      [
        { at: 50, keys: ['a'], firstSeenAt: 0 },
        { at: 150, keys: ['a'], firstSeenAt: 100 },
      ],
    ],
    [
      'a continuous stream is still flushed at maxDelayMs after its first change',
      stream(0, 200, 30), // 0, 30, ..., 180: never 50 ms quiet
      [{ at: 200, keys: keysOf(stream(0, 200, 30)), firstSeenAt: 0 }],
    ],
    [
      'a stream that goes on makes one batch per maxDelayMs window',
      [...stream(0, 200, 30), add(210, 'x'), add(240, 'y'), add(270, 'z')],
      [
        { at: 200, keys: keysOf(stream(0, 200, 30)), firstSeenAt: 0 },
        { at: 320, keys: ['x', 'y', 'z'], firstSeenAt: 210 },
      ],
    ],
    [
      'the max-delay flush leaves no stray debounce flush behind',
      [add(0, 'a'), add(40, 'b'), add(80, 'c'), add(120, 'd'), add(160, 'e'), add(199, 'f')],
      [{ at: 200, keys: ['a', 'b', 'c', 'd', 'e', 'f'], firstSeenAt: 0 }],
    ],
    ['flush() sends at once', [add(0, 'a'), add(10, 'b'), flush(20)], [{ at: 20, keys: ['a', 'b'], firstSeenAt: 0 }]],
    [
      'changes after a flush() start a new batch with its own timers',
      [add(0, 'a'), flush(20), add(30, 'b')],
      [
        { at: 20, keys: ['a'], firstSeenAt: 0 },
        { at: 80, keys: ['b'], firstSeenAt: 30 },
      ],
    ],
    ['flush() with nothing pending sends nothing', [flush(0), add(10, 'a'), flush(20), flush(30)], [{ at: 20, keys: ['a'], firstSeenAt: 10 }]],
    ['clear() drops what is pending', [add(0, 'a'), add(10, 'b'), clear(20)], []],
    [
      'after clear() a new change starts a fresh batch (fresh firstSeenAt, fresh max delay)',
      [add(0, 'a'), clear(20), ...stream(100, 300, 30)], // 100, 130, ..., 280
      [{ at: 300, keys: keysOf(stream(100, 300, 30)), firstSeenAt: 100 }],
    ],
    ['flush() after clear() sends nothing', [add(0, 'a'), clear(10), flush(20)], []],
  ])('%s', (_title, events, expected) => {
    expect(run(OPTS, events)).toEqual(expected);
  });

  it.each<[BatcherOptions, number]>([
    [{ debounceMs: 0, maxDelayMs: 100 }, 0],
    [{ debounceMs: 10, maxDelayMs: 1000 }, 10],
    [{ debounceMs: 500, maxDelayMs: 100 }, 100],
    [{ debounceMs: 100, maxDelayMs: 100 }, 100],
  ])('options %j: a single change goes out after %i ms', (opts, at) => {
    expect(run(opts, [add(0, 'a')])).toEqual([{ at, keys: ['a'], firstSeenAt: 0 }]);
  });

  it('debounceMs 0: a batch closes at the end of the turn its changes arrived in, without a timer', async () => {
    jest.useRealTimers();
    const batches: string[][] = [];
    const batcher = new ChangeBatcher({ debounceMs: 0, maxDelayMs: 100 }, (keys) => batches.push([...keys].sort()));
    batcher.add('a');
    batcher.add('b');
    expect(batches).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([['a', 'b']]);
    batcher.add('c');
    batcher.clear();
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([['a', 'b']]);
    batcher.add('d');
    batcher.flush();
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([['a', 'b'], ['d']]);
  });

  it('hands the handler a set it owns: later changes do not mutate it', () => {
    const received: Set<string>[] = [];
    const batcher = new ChangeBatcher(OPTS, (keys) => received.push(keys));
    batcher.add('a');
    batcher.flush();
    batcher.add('b');
    batcher.flush();
    expect(received.map((s) => [...s])).toEqual([['a'], ['b']]);
    expect(received[0]).not.toBe(received[1]);
  });

  it('firstSeenAt is performance.now() of the first change, before the batch goes out', () => {
    const calls: [number, number][] = [];
    const batcher = new ChangeBatcher(OPTS, (_keys, firstSeenAt) => calls.push([firstSeenAt, performance.now()]));
    const before = performance.now();
    batcher.add('a');
    jest.advanceTimersByTime(30);
    batcher.add('b');
    jest.advanceTimersByTime(1000);
    expect(calls).toHaveLength(1);
    const [firstSeenAt, sentAt] = calls[0]!;
    expect(firstSeenAt).toBe(before);
    expect(sentAt - firstSeenAt).toBe(80);
  });
});

describe('change origins (issue 14: latency counts from when a change came to exist)', () => {
  it('a batch carries the earliest origin of its changes, not the time they were added', () => {
    const seen: number[] = [];
    const batcher = new ChangeBatcher({ debounceMs: 5, maxDelayMs: 50 }, (_keys, firstSeenAt) => seen.push(firstSeenAt));
    const t0 = performance.now();
    jest.advanceTimersByTime(100);
    batcher.add('a', t0 + 40); // its znode was written 60 ms before we read it
    batcher.add('b', t0 + 10); // an earlier change, read later
    batcher.add('c'); // no origin known: now
    jest.advanceTimersByTime(10);
    expect(seen).toEqual([t0 + 10]);
  });

  it('an origin in the future (clock skew) counts as now', () => {
    const seen: number[] = [];
    const batcher = new ChangeBatcher({ debounceMs: 5, maxDelayMs: 50 }, (_keys, firstSeenAt) => seen.push(firstSeenAt));
    const now = performance.now();
    batcher.add('a', now + 5000);
    jest.advanceTimersByTime(10);
    expect(seen).toEqual([now]);
  });
});
