// Mirrors the per-service traffic policies at `<policyRoot>/<service>` of one ZooKeeper session
// (the folder itself is mirrored by DocumentFolder).
//
// A policy is accepted or rejected as a whole: an invalid write leaves the last good policy in
// force (and is reported) until it is fixed, so a typo cannot strip a service of its settings.
import { EMPTY_POLICY, parsePolicy, samePolicy, type ServicePolicy } from '../catalog/policy.js';
import type { PolicyError } from '../catalog/registry-problems.js';
import type { ZkConnection } from '../zookeeper/connection.js';
import { DocumentFolder } from './document-folder.js';

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
  private readonly folder: DocumentFolder;
  private stopped = false;

  /**
   * `previous` is the watcher of an expired session: its last known policies stay in force until
   * this one has read the tree, so a session change never drops policies even briefly.
   */
  constructor(
    conn: ZkConnection,
    readonly policyRoot: string,
    private readonly hooks: PolicyWatcherHooks,
    previous?: PolicyWatcher,
  ) {
    // Entries are immutable, so sharing them with the old watcher is safe.
    this.entries = new Map(previous?.entries);
    this.folder = new DocumentFolder(
      conn,
      policyRoot,
      {
        onListing: (children) => {
          const listed = new Set(children);
          for (const service of [...this.entries.keys()]) if (!listed.has(service)) this.forget(service);
        },
        onDocument: (service, data) => (data === null ? this.forget(service) : this.apply(service, data)),
        onReadError: (err, path) => hooks.onReadError(err, path),
      },
      () => this.stopped,
    );
  }

  /** Reads the root and every policy once; resolves after that first full read. */
  async start(): Promise<void> {
    await this.folder.read();
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
}
