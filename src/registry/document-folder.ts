// Mirrors one ZooKeeper folder of documents: `<path>/<child>`, each child's data. Used by the policy
// watcher (`/zk-xds/policy/<service>`) and the scope watcher (`/zk-xds/scope/<node cluster>`).
//
// Like TreeWatcher, every read sets its one-shot watch in the same request, and a fired watch is
// answered by reading again, which both picks up the change and re-arms the watch. The folder may
// not exist yet or vanish, and documents come and go at any time.
import type { ZkConnection } from '../zookeeper/connection.js';
import { readWithRetry } from '../zookeeper/retry.js';

/** Run inside the read loop: they must not throw. */
export interface DocumentFolderHooks {
  /** The folder's children now (none when the folder does not exist). */
  onListing(children: readonly string[]): void;
  /** A listed child's data as read (its data watch is armed), or null when it was deleted. */
  onDocument(child: string, data: Buffer | null): void;
  /** A read failed for a reason other than "no node" (it is retried). */
  onReadError(err: Error, path: string): void;
}

export class DocumentFolder {
  /** The folder's last listing. */
  private listed = new Set<string>();
  /** Children whose data watch is armed (their last read found the node). */
  private readonly watched = new Set<string>();
  /** Children with a data read in flight. */
  private readonly reading = new Set<string>();

  constructor(
    private readonly conn: ZkConnection,
    readonly path: string,
    private readonly hooks: DocumentFolderHooks,
    private readonly stopped: () => boolean,
  ) {}

  /** Lists the folder and reads every child not yet watched; resolves after that. */
  async read(): Promise<void> {
    if (this.stopped()) return;
    const onChange = () => void this.read();
    const children = await this.retrying(this.path, () => this.conn.getChildren(this.path, onChange));
    if (children === undefined) return;
    if (children === null) {
      // No folder (yet, or any more). A listing of a missing node sets no watch, so watch for its
      // creation instead; if it appeared in between, list it now.
      const exists = await this.retrying(this.path, () => this.conn.exists(this.path, onChange));
      if (exists === undefined) return;
      this.applyListing([]);
      if (exists) await this.read();
      return;
    }
    this.applyListing(children);
    // Read every listed child without a data watch: new ones, ones carried over from a previous
    // session, and ones deleted and re-created between two listings (their read found no node).
    const unread = children.filter((c) => !this.watched.has(c) && !this.reading.has(c));
    await Promise.all(unread.map((c) => this.readChild(c)));
  }

  private applyListing(children: readonly string[]): void {
    this.listed = new Set(children);
    for (const c of [...this.watched]) if (!this.listed.has(c)) this.watched.delete(c);
    this.hooks.onListing(children);
  }

  private async readChild(child: string): Promise<void> {
    const tracked = () => !this.stopped() && this.listed.has(child);
    if (!tracked()) return;
    const path = `${this.path}/${child}`;
    this.reading.add(child);
    const data = await this.retrying(path, () => this.conn.getData(path, () => void this.readChild(child))).finally(() => this.reading.delete(child));
    if (data === undefined || !tracked()) return;
    // Deleted: the folder's child watch will drop it from the listing too.
    if (data === null) this.watched.delete(child);
    else this.watched.add(child);
    this.hooks.onDocument(child, data);
  }

  private retrying<T>(path: string, read: () => Promise<T>): Promise<T | undefined> {
    return readWithRetry(this.conn, path, read, (err, p) => this.hooks.onReadError(err, p), this.stopped);
  }
}
