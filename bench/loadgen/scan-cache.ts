// Scans the resources of a response once per distinct content, process-wide. Thousands of proxies
// receive byte-identical resource lists (the same 1,000 clusters); comparing bytes (memcmp) is far
// cheaper than scanning them again, and the resulting name -> fact map is shared by all of them.
import { resourceAt, type ResourceList } from './discovery-decode.js';
import { scanAssignment, scanCluster, scanListener, scanRoute, unwrapResource, type ListenerFacts, type XdsType } from './resource-scan.js';

/** What a proxy keeps of each resource type. */
export interface FactOf {
  /** The EDS name the cluster asks for; null when it is not an EDS cluster. */
  CDS: string | null;
  /** LbEndpoints in the assignment. */
  EDS: number;
  LDS: ListenerFacts;
  /** Clusters the route sends the proxy's target to (grpc style; empty otherwise). */
  RDS: readonly string[];
}

export interface ScannedSet<T extends XdsType> {
  /** Resource names in response order (the server's name wins over the one inside, for delta). */
  readonly names: readonly string[];
  /** Shared by every proxy that received the same resources: never modified. */
  readonly map: ReadonlyMap<string, FactOf[T]>;
}

interface Entry {
  readonly form: ResourceList['form'];
  /** A copy of the resources' bytes, compared with one memcmp. */
  readonly region: Buffer;
  readonly scanned: ScannedSet<XdsType>;
}

const PER_KEY = 4;
const MAX_KEYS = 512;

export class ScanCache {
  private readonly byKey = new Map<string, Entry[]>();
  hits = 0;
  misses = 0;

  scan<T extends XdsType>(type: T, list: ResourceList, authority: string | undefined): ScannedSet<T> {
    const { region } = list;
    // Resources not encoded back to back cannot be compared in one go: scanned every time.
    if (!region) return scanAll(type, list, authority);
    const bytes = list.buf.subarray(region.start, region.end);
    const key = `${type}\0${list.form}\0${authority ?? ''}\0${list.starts.length}\0${bytes.length}`;
    const entries = this.byKey.get(key) ?? [];
    const hit = entries.find((e) => e.form === list.form && e.region.equals(bytes));
    this.byKey.delete(key); // re-inserted last: Map order is the LRU order
    if (hit) {
      this.hits++;
      this.byKey.set(key, [hit, ...entries.filter((e) => e !== hit)]);
      return hit.scanned as ScannedSet<T>;
    }
    this.misses++;
    const scanned = scanAll(type, list, authority);
    this.byKey.set(key, [{ form: list.form, region: Buffer.from(bytes), scanned }, ...entries].slice(0, PER_KEY));
    if (this.byKey.size > MAX_KEYS) this.byKey.delete(this.byKey.keys().next().value!);
    return scanned;
  }
}

/** The process-wide cache every simulated proxy shares. */
export const scanCache = new ScanCache();

function scanAll<T extends XdsType>(type: T, list: ResourceList, authority: string | undefined): ScannedSet<T> {
  const names: string[] = [];
  const map = new Map<string, FactOf[T]>();
  for (let i = 0; i < list.starts.length; i++) {
    const entry = resourceAt(list, i);
    // A delta Resource without a body names a resource but carries nothing to hold.
    if (entry.typeUrl === '' && entry.value.length === 0) continue;
    const { bytes, name: wrappedName } = unwrapResource(entry.typeUrl, entry.value);
    const [scannedName, fact] = scanOne(type, bytes, authority);
    const name = intern(entry.name ?? wrappedName ?? scannedName);
    names.push(name);
    map.set(name, fact as FactOf[T]);
  }
  return { names, map };
}

function scanOne(type: XdsType, bytes: Uint8Array, authority: string | undefined): [string, FactOf[XdsType]] {
  switch (type) {
    case 'CDS': {
      const c = scanCluster(bytes);
      return [c.name, c.edsName === null ? null : intern(c.edsName)];
    }
    case 'EDS': {
      const a = scanAssignment(bytes);
      return [a.name, a.endpoints];
    }
    case 'LDS': {
      const l = scanListener(bytes, authority);
      return [l.name, { name: intern(l.name), routeNames: l.routeNames.map(intern), inlineClusters: l.inlineClusters.map(intern) }];
    }
    case 'RDS': {
      const r = scanRoute(bytes, authority);
      return [r.name, r.clusters.map(intern)];
    }
  }
}

/** Names are interned: proxies that missed the cache still share one copy of each string. */
const interned = new Map<string, string>();
function intern(s: string): string {
  const x = interned.get(s);
  if (x !== undefined) return x;
  interned.set(s, s);
  return s;
}
