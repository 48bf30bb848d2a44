// From a registration znode to named catalog entries: the format parsers, then mesh naming. Pure
// apart from a memo of names (every instance of a service then shares one identity object and one
// name string). The ensemble watch adds the side effects: the log line and the metric per rejection.
import { identityKey, meshName, type NamingOptions } from '../catalog/naming.js';
import type { ServiceIdentity } from '../catalog/model.js';
import { parseDubboChild, parseServiceChild } from './parsers/service-entries.js';
import type { NamedEntry } from './service-index.js';

export type ParsedChild = { readonly ok: true; readonly entries: readonly NamedEntry[] } | { readonly ok: false; readonly reason: string };

type Named =
  | { readonly ok: true; readonly identity: ServiceIdentity; readonly key: string; readonly name: string }
  | { readonly ok: false; readonly reason: string };

export class RegistrationReader {
  /** Mesh names by identity key. */
  private readonly names = new Map<string, Named>();

  constructor(
    /** Tags every instance (`ensemble`). */
    private readonly ensemble: string,
    private readonly naming: NamingOptions,
  ) {}

  /**
   * One child znode of a service node. `path` is its full path (chroot included), kept as the
   * instance's source; `dubbo`: the service node is a Dubbo interface (its children are URLs).
   */
  read(path: string, service: string, child: string, data: Buffer | null, dubbo: boolean): ParsedChild {
    const outcome = dubbo ? parseDubboChild(service, child, data) : parseServiceChild(service, child, data);
    if (!outcome.ok) return outcome;
    const entries: NamedEntry[] = [];
    for (const e of outcome.entries) {
      const named = this.named(e.identity);
      if (!named.ok) return { ok: false, reason: named.reason };
      entries.push({
        name: named.name,
        identity: named.identity,
        identityKey: named.key,
        instance: { ...e.instance, source: path, format: e.format, ensemble: this.ensemble },
      });
    }
    return { ok: true, entries };
  }

  /**
   * The entry a (non-Dubbo) service node gives by itself, with no instance: a service node without
   * instances still names its service, which stays served with no endpoints (clients see
   * "unavailable" rather than "unknown service"). Null when its name is not a valid mesh name.
   */
  serviceNodeEntry(service: string): NamedEntry | null {
    const named = this.named({ kind: 'service', name: service });
    return named.ok ? { name: named.name, identity: named.identity, identityKey: named.key, instance: null } : null;
  }

  /** The name to show for a service node: its mesh name, or the node's own name for a Dubbo interface (its group and version are per URL). */
  displayName(service: string, dubbo: boolean): string {
    if (dubbo) return service;
    const named = this.named({ kind: 'service', name: service });
    return named.ok ? named.name : service;
  }

  private named(identity: ServiceIdentity): Named {
    const key = identityKey(identity);
    let known = this.names.get(key);
    if (!known) {
      const name = meshName(identity, this.naming);
      known = name.ok ? { ok: true, identity, key, name: name.name } : name;
      this.names.set(key, known);
    }
    return known;
  }
}
