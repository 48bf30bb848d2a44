// The flush scheduler bounds the push work done per turn of the event loop (by a time budget on a
// clock the test drives), keeps one place per stream, and reaches every stream in the end.
import { FlushScheduler, type Flushable } from '../../../src/xds/flush-scheduler.js';

/** A clock that moves only when a stream flushes: each flush "costs" `costMs`. */
function harness(costMs: number, opts: { sliceBudgetMs?: number; maxPerSlice?: number } = {}) {
  let clock = 0;
  const deferred: Array<() => void> = [];
  const log: string[] = [];
  const scheduler = new FlushScheduler<Flushable>({ ...opts, now: () => clock, defer: (run) => deferred.push(run) });
  const stream = (name: string, onFlush?: () => void): Flushable => ({
    flush: () => {
      clock += costMs;
      log.push(name);
      onFlush?.();
    },
  });
  /** Runs one deferred slice (one turn of the event loop). */
  const turn = () => deferred.shift()!();
  return { scheduler, stream, log, deferred, turn };
}

test('a slice stops once its time budget is spent, and the next turn carries on in order', () => {
  const h = harness(1, { sliceBudgetMs: 3 });
  const streams = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((n) => h.stream(n));
  for (const s of streams) h.scheduler.schedule(s);
  expect(h.log).toEqual([]); // nothing runs inside schedule()
  h.turn();
  expect(h.log).toEqual(['a', 'b', 'c']);
  expect(h.deferred).toHaveLength(1);
  h.turn();
  h.turn();
  expect(h.log).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  expect(h.deferred).toHaveLength(0);
  expect(h.scheduler.waiting).toBe(0);
});

test('a stream whose flush alone exceeds the budget still gets flushed, one per slice', () => {
  const h = harness(50, { sliceBudgetMs: 4 });
  for (const n of ['a', 'b', 'c']) h.scheduler.schedule(h.stream(n));
  h.turn();
  expect(h.log).toEqual(['a']);
  h.turn();
  h.turn();
  expect(h.log).toEqual(['a', 'b', 'c']);
});

test('the count limit still applies when flushes are cheap', () => {
  const h = harness(0, { sliceBudgetMs: 4, maxPerSlice: 2 });
  for (const n of ['a', 'b', 'c', 'd', 'e']) h.scheduler.schedule(h.stream(n));
  h.turn();
  expect(h.log).toEqual(['a', 'b']);
});

test('a stream scheduled again while it waits is flushed once, in its first place (latest state, not a queue)', () => {
  const h = harness(1, { sliceBudgetMs: 2 });
  const a = h.stream('a');
  const b = h.stream('b');
  const c = h.stream('c');
  h.scheduler.schedule(a);
  h.scheduler.schedule(b);
  h.scheduler.schedule(c);
  for (let i = 0; i < 10; i++) {
    h.scheduler.schedule(c);
    h.scheduler.schedule(a);
  }
  while (h.deferred.length > 0) h.turn();
  expect(h.log).toEqual(['a', 'b', 'c']);
});

test('a stream scheduled again after its flush is flushed again later (changes during a round are not lost)', () => {
  const h = harness(1, { sliceBudgetMs: 2 });
  const b = h.stream('b');
  let again = true;
  const a = h.stream('a', () => {
    if (again) h.scheduler.schedule(b);
  });
  h.scheduler.schedule(a);
  h.scheduler.schedule(b);
  h.turn(); // a (which re-marks b: still queued, keeps its place), b
  expect(h.log).toEqual(['a', 'b']);
  again = false;
  h.scheduler.schedule(a);
  while (h.deferred.length > 0) h.turn();
  expect(h.log).toEqual(['a', 'b', 'a']);
});

test('forgotten streams are not flushed', () => {
  const h = harness(1, { sliceBudgetMs: 10 });
  const a = h.stream('a');
  const b = h.stream('b');
  h.scheduler.schedule(a);
  h.scheduler.schedule(b);
  h.scheduler.forget(a);
  h.turn();
  expect(h.log).toEqual(['b']);
});

test('with the real event loop, I/O queued during a long round runs before the round ends', async () => {
  // Each flush costs 1 ms on the test's clock; the budget is 4 ms: a round of 40 streams takes ten
  // turns of the loop. Something the first flush queues (as a ZooKeeper callback would be) must run
  // before the last stream is flushed, not after all of them.
  let clock = 0;
  const log: string[] = [];
  const scheduler = new FlushScheduler<Flushable>({ sliceBudgetMs: 4, now: () => clock });
  const done = new Promise<void>((resolve) => {
    for (let i = 0; i < 40; i++) {
      scheduler.schedule({
        flush: () => {
          clock += 1;
          log.push(`flush ${i}`);
          if (i === 0) setImmediate(() => log.push('registry'));
          if (i === 39) resolve();
        },
      });
    }
  });
  await done;
  const at = log.indexOf('registry');
  expect(at).toBeGreaterThan(0);
  expect(at).toBeLessThan(log.indexOf('flush 39'));
  expect(log.filter((l) => l.startsWith('flush'))).toHaveLength(40);
});
