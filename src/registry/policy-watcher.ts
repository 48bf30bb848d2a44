// Mirrors the per-service traffic policies at `<policyRoot>/<service>` of one ZooKeeper session.
//
// Like TreeWatcher, every read sets its one-shot watch in the same request, and a fired watch is
// answered by reading again, which both picks up the change and re-arms the watch. The root may
// not exist yet or vanish, and policy nodes come and go at any time.
//
// A policy is accepted or rejected as a whole: an invalid write leaves the last good policy in
// force (and is reported) until it is fixed, so a typo cannot strip a service of its settings.
import { EMPTY_POLICY, parsePolicy, samePolicy, type ServicePolicy } from '../catalog/policy.js';
import type { PolicyError } from '../catalog/registry-problems.js';
import type { ZkConnection } from '../zookeeper/connection.js';
import { readWithRetry } from '../zookeeper/retry.js';

export type { PolicyError };

/** Hooks run inside the watcher's read loop: they must not throw. */
export interface PolicyWatcherHooks {
  /** The policy in force for `service` changed (new valid policy, or the node was deleted). */
  onPolicyChanged(service: string): void;
  /** Invalid data was written; the previous good policy stays in force. */
  onInvalid(err: PolicyError): void;
  /** A read failed for a reason other than "no node" (it is retried). */
  onReadError(err: Error, path: string): void;
}

/** What is known about one policy node that exists. */
interface PolicyEntry {
  /** The data last read, so a rewrite of the same bytes costs no parse and raises nothing. */
  readonly data: Buffer;
  /** The policy in force: the last valid one, or EMPTY_POLICY if none was ever valid. */
  readonly good: ServicePolicy;
  readonly error: PolicyError | null;
}

export class PolicyWatcher {
  private readonly entries: Map<string, PolicyEntry>;
  /** The root's last listing. */
  private listed = new Set<string>();
  /** Services whose data watch this watcher has armed (their last read found the node). */
  private readonly watched = new Set<string>();
  /** Services with a data read in flight. */
  private readonly reading = new Set<string>();
  private stopped = false;

  /**
   * `previous` is the watcher of an expired session: its last known policies stay in force until
   * this one has read the tree, so a session change never drops policies even briefly.
   */
  constructor(
    private readonly conn: ZkConnection,
    readonly policyRoot: string,
    private readonly hooks: PolicyWatcherHooks,
    previous?: PolicyWatcher,
  ) {
    // Entries are immutable, so sharing them with the old watcher is safe.
    this.entries = new Map(previous?.entries);
  }

  /** Reads the root and every policy once; resolves after that first full read. */
  async start(): Promise<void> {
    await this.readRoot();
  }

  stop(): void {
    this.stopped = true;
  }

  /** The last good policy of `service` (EMPTY_POLICY when it has none). */
  policyOf(service: string): ServicePolicy {
    return this.entries.get(service)?.good ?? EMPTY_POLICY;
  }

  /** Policies whose current data is invalid (their previous good policy is in force). */
  errors(): PolicyError[] {
    return [...this.entries.values()].flatMap((e) => (e.error ? [e.error] : [])).sort((a, b) => a.service.localeCompare(b.service));
  }

  /** Services that have a policy node, sorted. */
  services(): string[] {
    return [...this.entries.keys()].sort();
  }

  private pathOf(service: string): string {
    return `${this.policyRoot}/${service}`;
  }

  private async readRoot(): Promise<void> {
    if (this.stopped) return;
    const onChange = () => void this.readRoot();
    const children = await this.retrying(this.policyRoot, () => this.conn.getChildren(this.policyRoot, onChange));
    if (children === undefined) return;
    if (children === null) {
      // No root (yet, or any more). A listing of a missing node sets no watch, so watch for its
      // creation instead; if it appeared in between, list it now.
      const exists = await this.retrying(this.policyRoot, () => this.conn.exists(this.policyRoot, onChange));
      if (exists === undefined) return;
      this.applyListing([]);
      if (exists) await this.readRoot();
      return;
    }
    this.applyListing(children);
    // Read every listed policy without a data watch: new ones, ones carried over from a previous
    // session, and ones deleted and re-created between two listings (their read found no node).
    const unread = children.filter((s) => !this.watched.has(s) && !this.reading.has(s));
    await Promise.all(unread.map((s) => this.readPolicy(s)));
  }

  private applyListing(children: string[]): void {
    this.listed = new Set(children);
    for (const service of [...this.entries.keys()]) if (!this.listed.has(service)) this.forget(service);
    for (const service of [...this.watched]) if (!this.listed.has(service)) this.watched.delete(service);
  }

  private async readPolicy(service: string): Promise<void> {
    const tracked = () => !this.stopped && this.listed.has(service);
    if (!tracked()) return;
    const path = this.pathOf(service);
    this.reading.add(service);
    const data = await this.retrying(path, () => this.conn.getData(path, () => void this.readPolicy(service))).finally(() => this.reading.delete(service));
    if (data === undefined || !tracked()) return;
    if (data === null) {
      // Deleted: the root's child watch will drop it from the listing too.
      this.watched.delete(service);
      this.forget(service);
      return;
    }
    this.watched.add(service);
    this.apply(service, data);
  }

  private apply(service: string, data: Buffer): void {
    const entry = this.entries.get(service);
    if (entry?.data.equals(data)) return;
    const inForce = entry?.good ?? EMPTY_POLICY;
    const parsed = parsePolicy(data);
    if (parsed.ok) {
      this.entries.set(service, { data, good: parsed.policy, error: null });
      if (!samePolicy(inForce, parsed.policy)) this.hooks.onPolicyChanged(service);
      return;
    }
    const error: PolicyError = { service, path: this.pathOf(service), errors: parsed.errors, at: new Date().toISOString() };
    this.entries.set(service, { data, good: inForce, error });
    this.hooks.onInvalid(error);
  }

  /** The node is gone: its service falls back to EMPTY_POLICY and its error, if any, is cleared. */
  private forget(service: string): void {
    const entry = this.entries.get(service);
    if (!entry) return;
    this.entries.delete(service);
    if (!samePolicy(entry.good, EMPTY_POLICY)) this.hooks.onPolicyChanged(service);
  }

  private retrying<T>(path: string, read: () => Promise<T>): Promise<T | undefined> {
    return readWithRetry(
      this.conn,
      path,
      read,
      (err, p) => this.hooks.onReadError(err, p),
      () => this.stopped,
    );
  }
}
