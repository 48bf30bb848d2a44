// A resource cache with streams on it, without gRPC: what the shared-state tests of SotW and delta
// streams both build. Every cache change reaches every tracked stream, as XdsServer does it.
import { ResourceCache } from '../../src/xds/resource-cache.js';
import { SharedBodies } from '../../src/xds/shared-bodies.js';
import { encodeResource, type EncodedResource } from '../../src/xds/resource-encoding.js';
import { RESOURCE_KINDS, TYPE_URL } from '../../src/xds/resource-types.js';
import type { Sink, StreamEnvironment } from '../../src/xds/stream-base.js';
import { NameSharing } from '../../src/xds/name-sets.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { DeltaDiscoveryRequestMessage } from '../../src/xds/delta-messages.js';

export const EDS = TYPE_URL.endpoint;

/** A one-endpoint ClusterLoadAssignment `name` whose endpoint weighs `weight`. */
export function edsAssignment(name: string, weight: number): EncodedResource {
  return encodeResource(EDS, name, {
    cluster_name: name,
    endpoints: [
      {
        locality: {},
        load_balancing_weight: { value: 1 },
        lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } }, load_balancing_weight: { value: weight } }],
      },
    ],
  });
}

interface CacheListener {
  onCacheChange(typeUrl: string, changed: ReadonlySet<string>, observedAt: number): void;
}

/** A cache holding EDS `a`..`d`, the environment streams run in (flushed at once), and `track`. */
export function streamWorld() {
  const cache = new ResourceCache(RESOURCE_KINDS.map((k) => TYPE_URL[k]));
  cache.apply([{ typeUrl: EDS, upserts: ['a', 'b', 'c', 'd'].map((n) => edsAssignment(n, 1)), removals: [] }]);
  const bodies = new SharedBodies(cache);
  const env: StreamEnvironment = {
    viewFor: () => ({ name: 'sidecar', kind: 'sidecar', cache, bodies }),
    log: silentLogger(),
    metrics: createMetrics({ defaultMetrics: false }),
    schedule: (s) => s.flush(),
    minPushIntervalMs: 0,
    // One server's worth of sharing: the streams of this world share name sets, as a server's do.
    names: new NameSharing(),
  };
  const streams: CacheListener[] = [];
  cache.onChange((changes) => {
    for (const c of changes) for (const s of streams) s.onCacheChange(c.typeUrl, c.changed, c.observedAt);
  });
  /** Sets EDS weights (upserts) and removes `removals`. */
  const set = (weights: Record<string, number>, removals: string[] = []) =>
    cache.apply([{ typeUrl: EDS, upserts: Object.entries(weights).map(([n, w]) => edsAssignment(n, w)), removals }]);
  const track = <S extends CacheListener>(stream: S): S => {
    streams.push(stream);
    return stream;
  };
  return { cache, env, set, track };
}

/** A delta request for EDS (or `fields.type_url`) as the decoder delivers it, every list empty unless given. */
export function deltaRequest(fields: Partial<DeltaDiscoveryRequestMessage> = {}): DeltaDiscoveryRequestMessage {
  return {
    node: null,
    type_url: EDS,
    resource_names_subscribe: [],
    resource_names_unsubscribe: [],
    initial_resource_versions: {},
    response_nonce: '',
    error_detail: null,
    ...fields,
  };
}

/** A transport that records what is written and can push back (a write does not leave) until drain(). */
export function recordingSink<Out>(): { sink: Sink<Out>; sent: Out[]; control: { pushBack: boolean; drain: () => void } } {
  const sent: Out[] = [];
  const control = { pushBack: false, drain: () => {} };
  const sink: Sink<Out> = {
    write: (r, done) => {
      sent.push(r);
      if (!control.pushBack) return done();
      control.drain = () => {
        control.pushBack = false;
        done();
      };
    },
  };
  return { sink, sent, control };
}
