// The one reconnect loop: opens a ZooKeeper session, hands it to its user, and on failure closes it
// and tries again after a growing backoff. The registry (one per ensemble) and the leader election
// both run their sessions through it, so they back off alike and log alike.
import { setTimeout as timer } from 'node:timers/promises';
import { ZkConnection, type ZkConnectionOptions } from './connection.js';

/** Waits before the n-th retry (the last value repeats). */
export const SESSION_BACKOFF_MS: readonly number[] = [200, 500, 1000, 2000, 5000];

export function backoffFor(attempt: number, schedule: readonly number[] = SESSION_BACKOFF_MS): number {
  return schedule[Math.min(attempt, schedule.length - 1)]!;
}

export interface SessionLoopHooks<C = ZkConnection> {
  /** Checked before each attempt and after each open: true ends the loop. */
  stopped(): boolean;
  /**
   * Uses a newly opened session. Resolves true when the loop's work is done; false to open a new
   * session at once (this one died). Throws to retry on a new session after the backoff; the loop
   * closes the failed session.
   */
  use(conn: C): Promise<boolean>;
  /** A session could not be opened or used; the loop retries in `retryInMs`. */
  onFailure(err: Error, retryInMs: number): void;
}

/** Runs until `use` says done or `stopped()` does. */
export async function runSessions<C extends Pick<ZkConnection, 'close'> = ZkConnection>(
  options: ZkConnectionOptions,
  hooks: SessionLoopHooks<C>,
  open: (options: ZkConnectionOptions, timeoutMs: number) => Promise<C> = ZkConnection.open as unknown as (o: ZkConnectionOptions, t: number) => Promise<C>,
): Promise<void> {
  for (let attempt = 0; !hooks.stopped(); attempt++) {
    let conn: C | undefined;
    try {
      conn = await open(options, options.sessionTimeoutMs);
      if (hooks.stopped()) {
        closeLater(conn);
        return;
      }
      if (await hooks.use(conn)) return;
    } catch (err) {
      const retryInMs = backoffFor(attempt);
      hooks.onFailure(err instanceof Error ? err : new Error(String(err)), retryInMs);
      if (conn) closeLater(conn);
      // Unref'd: a pending retry never keeps the process alive on its own.
      await timer(retryInMs, undefined, { ref: false });
    }
  }
}

/** The binding must not be closed inside one of its own callbacks, which this may be running in. */
function closeLater(conn: Pick<ZkConnection, 'close'>): void {
  setImmediate(() => conn.close());
}
