// Merges what every ensemble and root contributes into mesh-named services.
//
// A "source" is one service node of one root of one ensemble (`main:/dubbo/org.x.Greeter`); it
// contributes instances under one or more identities, each with its mesh name. The same identity
// from several sources is one service: its instances are merged, each keeping its ensemble and
// znode path. Two different identities on one mesh name are a collision: it is reported and the
// identity whose key sorts first is served (deterministic, whatever the order of discovery), the
// other's instances are left out until the collision is resolved.
import type { RegisteredInstance, Service, ServiceIdentity } from '../catalog/model.js';
import type { ServicePolicy } from '../catalog/policy.js';
import type { NameCollision } from '../catalog/registry-problems.js';

export interface NamedEntry {
  readonly name: string;
  readonly identityKey: string;
  readonly identity: ServiceIdentity;
  /** null: the identity is present with no instance (an empty Curator service node). */
  readonly instance: RegisteredInstance | null;
}

export type { NameCollision };

export class ServiceIndex {
  private readonly bySource = new Map<string, readonly NamedEntry[]>();
  private readonly sourcesByName = new Map<string, Set<string>>();
  private readonly collisionsByName = new Map<string, NameCollision>();

  /** Replaces what a source contributes; returns the mesh names whose content may have changed. */
  update(source: string, entries: readonly NamedEntry[]): Set<string> {
    const affected = new Set<string>();
    for (const e of this.bySource.get(source) ?? []) {
      affected.add(e.name);
      this.sourcesByName.get(e.name)?.delete(source);
    }
    if (entries.length === 0) this.bySource.delete(source);
    else this.bySource.set(source, entries);
    for (const e of entries) {
      affected.add(e.name);
      let sources = this.sourcesByName.get(e.name);
      if (!sources) this.sourcesByName.set(e.name, (sources = new Set()));
      sources.add(source);
    }
    for (const name of affected) if (this.sourcesByName.get(name)?.size === 0) this.sourcesByName.delete(name);
    return affected;
  }

  /** Source keys currently contributing, optionally only those starting with `prefix`. */
  sources(prefix = ''): string[] {
    return [...this.bySource.keys()].filter((k) => k.startsWith(prefix));
  }

  names(): string[] {
    return [...this.sourcesByName.keys()];
  }

  collisions(): NameCollision[] {
    return [...this.collisionsByName.values()];
  }

  /**
   * The service served under `name` now. Also refreshes the collision record of the name and
   * says whether it is new, so the caller reports each collision once.
   */
  build(name: string, policy: ServicePolicy): { service: Service; newCollision: NameCollision | null } {
    const byIdentity = new Map<string, { identity: ServiceIdentity; instances: RegisteredInstance[]; where: Set<string> }>();
    for (const source of this.sourcesByName.get(name) ?? []) {
      for (const e of this.bySource.get(source) ?? []) {
        if (e.name !== name) continue;
        let group = byIdentity.get(e.identityKey);
        if (!group) byIdentity.set(e.identityKey, (group = { identity: e.identity, instances: [], where: new Set() }));
        if (e.instance) group.instances.push(e.instance);
        group.where.add(source);
      }
    }
    const keys = [...byIdentity.keys()].sort();
    const served = keys.length > 0 ? byIdentity.get(keys[0]!)! : undefined;
    let newCollision: NameCollision | null = null;
    if (keys.length > 1) {
      const collision: NameCollision = { name, identities: keys, sources: keys.map((k) => [...byIdentity.get(k)!.where].sort()) };
      const old = this.collisionsByName.get(name);
      if (!old || old.identities.join('\n') !== keys.join('\n')) newCollision = collision;
      this.collisionsByName.set(name, collision);
    } else {
      this.collisionsByName.delete(name);
    }
    const instances = (served?.instances ?? []).sort(byOrigin);
    const service: Service = served ? { name, identity: served.identity, instances, policy } : { name, instances, policy };
    return { service, newCollision };
  }
}

/** Sorted by znode path then ensemble, so equal inputs give equal services. */
function byOrigin(a: RegisteredInstance, b: RegisteredInstance): number {
  if (a.source !== b.source) return a.source < b.source ? -1 : 1;
  const ea = a.ensemble ?? '';
  const eb = b.ensemble ?? '';
  if (ea !== eb) return ea < eb ? -1 : 1;
  return a.port - b.port;
}
