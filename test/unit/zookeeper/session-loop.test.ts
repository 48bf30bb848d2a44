import { describe, expect, it } from '@jest/globals';
import { backoffFor, runSessions, SESSION_BACKOFF_MS } from '../../../src/zookeeper/session-loop.js';

const OPTIONS = { connect: '127.0.0.1:1', sessionTimeoutMs: 1000 };

class FakeSession {
  closed = false;
  constructor(readonly n: number) {}
  close(): void {
    this.closed = true;
  }
}

describe('runSessions, the one reconnect loop', () => {
  it('backs off along the schedule and then stays at its last step', () => {
    expect([0, 1, 2, 3, 4, 5, 9].map((a) => backoffFor(a))).toEqual([200, 500, 1000, 2000, 5000, 5000, 5000]);
    expect(SESSION_BACKOFF_MS[0]).toBe(200);
  });

  it('retries a failed open after a backoff, reopens at once when a session dies, and stops when its user is done', async () => {
    const events: string[] = [];
    const sessions: FakeSession[] = [];
    let opens = 0;
    await runSessions(
      OPTIONS,
      {
        stopped: () => false,
        use: async (s) => {
          events.push(`use ${s.n}`);
          if (s.n === 2) throw new Error('create failed');
          return s.n === 4; // 3: the session died during use; 4: done
        },
        onFailure: (err, retryInMs) => events.push(`failure ${err.message} ${retryInMs}`),
      },
      async () => {
        opens++;
        if (opens === 1) throw new Error('connection refused');
        const s = new FakeSession(opens);
        sessions.push(s);
        return s;
      },
    );
    expect(events).toEqual(['failure connection refused 200', 'use 2', 'failure create failed 500', 'use 3', 'use 4']);
    await new Promise((r) => setImmediate(r));
    // Only the session whose use threw is closed by the loop; a dead one is its user's, a done one is kept.
    expect(sessions.map((s) => s.closed)).toEqual([true, false, false]);
  });

  it('closes a session that opened after it was stopped, without using it', async () => {
    let stopped = false;
    const opened: FakeSession[] = [];
    let used = 0;
    await runSessions(
      OPTIONS,
      {
        stopped: () => stopped,
        use: async () => {
          used++;
          return true;
        },
        onFailure: () => undefined,
      },
      async () => {
        stopped = true;
        const s = new FakeSession(1);
        opened.push(s);
        return s;
      },
    );
    await new Promise((r) => setImmediate(r));
    expect(used).toBe(0);
    expect(opened[0]!.closed).toBe(true);
  });
});
