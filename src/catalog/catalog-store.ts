// The current catalog. Registries offer services; only real changes (instances or policy) pass on to listeners, so a
// full re-read of ZooKeeper (after a session expiry) pushes only what differs.
import type { Catalog, CatalogChange, RegisteredInstance, Service } from './model.js';
import { samePolicy } from './policy.js';

export type CatalogListener = (change: CatalogChange, observedAt: number) => void;

export class CatalogStore {
  private readonly services = new Map<string, Service>();
  private readonly listeners: CatalogListener[] = [];

  onChange(listener: CatalogListener): void {
    this.listeners.push(listener);
  }

  /** The current catalog: a live read-only view (copy it to keep a point in time). */
  snapshot(): Catalog {
    return this.services;
  }

  get(name: string): Service | undefined {
    return this.services.get(name);
  }

  /** Applies offered services; returns the ones that actually changed (and tells listeners). */
  offer(services: Iterable<Service>, observedAt: number = performance.now()): Service[] {
    const upserts: Service[] = [];
    for (const s of services) {
      const old = this.services.get(s.name);
      if (old && sameInstances(old.instances, s.instances) && samePolicy(old.policy, s.policy)) continue;
      this.services.set(s.name, s);
      upserts.push(s);
    }
    if (upserts.length > 0) for (const l of this.listeners) l({ upserts }, observedAt);
    return upserts;
  }
}

function sameInstances(a: readonly RegisteredInstance[], b: readonly RegisteredInstance[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameInstance(a[i]!, b[i]!)) return false;
  return true;
}

function sameInstance(a: RegisteredInstance, b: RegisteredInstance): boolean {
  return (
    a.source === b.source &&
    a.ensemble === b.ensemble &&
    a.id === b.id &&
    a.address === b.address &&
    a.port === b.port &&
    a.weight === b.weight &&
    a.healthy === b.healthy &&
    a.format === b.format &&
    a.locality.region === b.locality.region &&
    a.locality.zone === b.locality.zone &&
    a.locality.subZone === b.locality.subZone &&
    sameRecord(a.metadata, b.metadata) &&
    (a.notes ?? []).join('\n') === (b.notes ?? []).join('\n')
  );
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}
