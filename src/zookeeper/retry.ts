// Retrying a ZooKeeper read: shared by the watchers, which all re-read on failure once the
// connection is back, and give up when the session dies (the next session re-reads everything).
import type { ZkConnection } from './connection.js';

const RETRY_MS = 500;
/** ZooKeeper's "not authorised" result: retrying cannot help until the ACL or the credentials change. */
export const ZK_NOAUTH = -102;

/**
 * Runs `read` until it succeeds, `stopped()` says so, or the session is dead. Returns undefined
 * when it gave up. Each failure is reported to `onError`, then it waits for the connection. A node
 * the session may not read (NoAuth) is given up at once: it is reported, and read again only by
 * the next session, so a tree the credentials do not cover cannot hold the first full read forever.
 */
export async function readWithRetry<T>(
  conn: ZkConnection,
  path: string,
  read: () => Promise<T>,
  onError: (err: Error, path: string) => void,
  stopped: () => boolean,
): Promise<T | undefined> {
  for (;;) {
    if (stopped() || conn.isDead) return undefined;
    try {
      return await read();
    } catch (err) {
      onError(err instanceof Error ? err : new Error(String(err)), path);
      if (conn.isDead || (err as { code?: unknown }).code === ZK_NOAUTH) return undefined;
      await waitForConnection(conn, RETRY_MS);
    }
  }
}

/** Waits until the connection is up again (or `ms` passes, or it dies). */
function waitForConnection(conn: ZkConnection, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      conn.off('connected', done);
      conn.off('expired', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    conn.once('connected', done);
    conn.once('expired', done);
  });
}
