// What /readyz answers. Ready means "what this replica serves is the truth as far as ZooKeeper can
// tell": every ensemble finished a complete first read and no configured root is refused. A replica
// that lost ZooKeeper after that stays ready (its last state is the best anyone has), and says how
// stale that state may be.

/** The part of the registry's status readiness depends on (the ZooKeeper registry's status has it). */
export interface ReadinessStatus {
  readonly staleSeconds: number;
  readonly ensembles: readonly {
    readonly name: string;
    readonly state: string;
    readonly initialSyncDone: boolean;
    readonly unreadableRoots: readonly { readonly kind: string; readonly path: string; readonly since: string; readonly reason: string }[];
  }[];
}

export interface NotReadyReason {
  readonly ensemble: string;
  /** The configured root (full path, chroot included) when the reason is about one. */
  readonly root?: string;
  readonly reason: string;
}

export interface RegistryReadiness {
  readonly ready: boolean;
  /** Why not ready (empty when ready). */
  readonly notReady: readonly NotReadyReason[];
  /** Same figure as zkxds_catalog_stale_seconds. */
  readonly catalogStaleSeconds: number;
}

export function registryReadiness(status: ReadinessStatus): RegistryReadiness {
  const notReady: NotReadyReason[] = [];
  for (const e of status.ensembles) {
    for (const r of e.unreadableRoots) notReady.push({ ensemble: e.name, root: r.path, reason: `${r.kind} root unreadable since ${r.since}: ${r.reason}` });
    if (!e.initialSyncDone && e.unreadableRoots.length === 0) {
      notReady.push({ ensemble: e.name, reason: `first complete read of ZooKeeper not done yet (session ${e.state}); xDS requests are held until it is` });
    }
  }
  return { ready: notReady.length === 0, notReady, catalogStaleSeconds: Number(status.staleSeconds.toFixed(1)) };
}
