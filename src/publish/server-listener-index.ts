// Which services have registered instances at each ip:port, so that the server Listener of an
// address (translate/server-listener.ts) is rebuilt when a service registered there changes its
// instances or its mtls/authorization policy. The publisher feeds it every upserted service and
// stages the Listeners of the addresses it reports dirty, into the proxyless views.
//
// A Listener stays served after the last instance at its address left: a gRPC server that is told
// its Listener does not exist stops serving at once, so a registration that blips (a ZooKeeper
// session expiring and the registrar writing it again) must not take the server down with it.
import type { Service } from '../catalog/model.js';
import { protocolOf } from '../translate/service-shape.js';
import type { InboundTarget } from '../translate/sidecar-inbound.js';
import {
  parseHostPort,
  serverAddressesOf,
  serverFilterChain,
  serverListenerHead,
  serverListenerName,
  serverSecurityOf,
  type ServerSecurity,
} from '../translate/server-listener.js';
import { inboundChainsFor, inboundClustersFor, inboundListenerHead, INBOUND_LISTENER, sortTargets } from '../translate/sidecar-inbound.js';
import type { Cluster } from '../translate/envoy-types.js';
import type { EncodedResource } from '../xds/resource-encoding.js';
import { encodeFilterChainField, encodeSplicedListener } from './spliced-listener.js';

/** Distinct server filter chains kept encoded; beyond this the memo starts over (policies are few). */
const MAX_MEMOIZED_CHAINS = 4096;

/** The key of what a server Listener depends on in one service. */
function securityKey(service: Service): string {
  return JSON.stringify([service.policy.mtls ?? null, service.policy.authorization ?? null]);
}

export class ServerListenerIndex {
  /** "ip:port" -> the services with an instance there, by name. */
  private readonly servicesAt = new Map<string, Map<string, Service>>();
  private readonly tracked = new Map<string, { addresses: readonly string[]; key: string }>();
  /** Addresses whose services disagree, with the reason (the server refuses every call). */
  readonly conflicts = new Map<string, string>();
  /** Encoded server filter chains by security (every address with the same policy shares one). */
  private readonly serverChains = new Map<string, Uint8Array>();
  /** Encoded sidecar inbound chains by address, with what they were built from. */
  private readonly inboundChains = new Map<string, { key: string; fields: Uint8Array[] }>();

  /** Records a service's current addresses; adds those whose Listener may have changed to `dirty`. */
  track(service: Service, dirty: Set<string>): void {
    const addresses = serverAddressesOf(service);
    const key = securityKey(service);
    const before = this.tracked.get(service.name);
    for (const a of before?.addresses ?? []) {
      if (addresses.includes(a)) continue;
      this.servicesAt.get(a)?.delete(service.name);
      dirty.add(a);
    }
    for (const a of addresses) {
      if (!this.servicesAt.has(a)) this.servicesAt.set(a, new Map());
      this.servicesAt.get(a)!.set(service.name, service);
      if (!before?.addresses.includes(a) || before.key !== key) dirty.add(a);
    }
    // Services without server Listeners (no security section) are not remembered at all.
    if (addresses.length === 0) this.tracked.delete(service.name);
    else this.tracked.set(service.name, { addresses, key });
  }

  /** What the server at `address` enforces, undefined when no service is registered there (now). */
  securityAt(address: string): ServerSecurity | undefined {
    const services = [...(this.servicesAt.get(address)?.values() ?? [])];
    return services.length === 0 ? undefined : serverSecurityOf(services);
  }

  /**
   * What Envoy sidecars' inbound listener serves: every address with a registered instance of a
   * service with a security policy (only those are tracked; none: no inbound listener, sidecars
   * stay as before).
   */
  inboundTargets(): InboundTarget[] {
    return [...this.servicesAt.entries()].flatMap(([address, services]) => {
      const security = this.securityAt(address);
      if (!security) return [];
      const { ip, port } = parseHostPort(address);
      const grpc = [...services.values()].some((s) => protocolOf(s) === 'grpc');
      return [{ ip, port, grpc, settings: security.settings, authorization: security.authorization }];
    });
  }

  /** The addresses a service has registered instances at (sorted). */
  addressesOf(service: string): readonly string[] {
    return this.tracked.get(service)?.addresses ?? [];
  }

  /**
   * The encoded Listener of `address`, or undefined when nobody is registered there any more (the
   * last Listener then stays in the caches). Updates `conflicts`. Throws ResourceEncodingError.
   */
  encode(address: string): EncodedResource | undefined {
    const security = this.securityAt(address);
    if (!security) return undefined;
    if (security.conflict) this.conflicts.set(address, security.conflict);
    else this.conflicts.delete(address);
    const { ip, port } = parseHostPort(address);
    const key = JSON.stringify(security);
    let chain = this.serverChains.get(key);
    if (!chain) {
      if (this.serverChains.size >= MAX_MEMOIZED_CHAINS) this.serverChains.clear();
      chain = encodeFilterChainField(serverFilterChain(security));
      this.serverChains.set(key, chain);
    }
    return encodeSplicedListener(serverListenerName(ip, port), serverListenerHead(ip, port), [chain]);
  }

  /**
   * Envoy sidecars' inbound listener, encoded (only the chains of changed addresses are encoded
   * again), and its local clusters; undefined when there is none (inboundTargets is empty).
   */
  encodeInbound(): { listener: EncodedResource; clusters: Cluster[] } | undefined {
    const targets = sortTargets(this.inboundTargets());
    const live = new Set<string>();
    const fields: Uint8Array[] = [];
    for (const t of targets) {
      const address = `${t.ip}:${t.port}`;
      live.add(address);
      const key = JSON.stringify(t);
      let entry = this.inboundChains.get(address);
      if (entry?.key !== key) {
        entry = { key, fields: inboundChainsFor(t).map(encodeFilterChainField) };
        this.inboundChains.set(address, entry);
      }
      fields.push(...entry.fields);
    }
    for (const address of [...this.inboundChains.keys()]) if (!live.has(address)) this.inboundChains.delete(address);
    if (targets.length === 0) return undefined;
    return { listener: encodeSplicedListener(INBOUND_LISTENER, inboundListenerHead(), fields), clusters: inboundClustersFor(targets) };
  }
}
