// Service -> envoy.config.cluster.v3.Cluster(s): an EDS cluster over ADS for the service, one per
// traffic-split subset, with the policy's load balancing, timeouts, circuit breakers, outlier
// detection and upstream TLS. Each client gets only what it handles safely (client-capabilities.ts).
import type { Service } from '../catalog/model.js';
import type { LoadBalancing, ServicePolicy } from '../catalog/policy.js';
import { ADS_CONFIG_SOURCE, ANY_TYPE, compact, durationMs, typedAny, uint32, type Audience } from './envoy-json.js';
import type { CircuitBreakers, Cluster, LbPolicy, OutlierDetection, TransportSocket } from './envoy-types.js';
import { resourceNamesFor } from './resource-names.js';
import { upstreamMtlsFor } from './upstream-tls.js';
import { protocolOf, subsetsOf } from './service-shape.js';
import {
  CONSECUTIVE_5XX_AS_FAILURE_PERCENTAGE,
  defaultCapabilities,
  effectiveLbPolicy,
  leftOut,
  type ClientCapabilities,
  type PolicyFeature,
} from './client-capabilities.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export function clustersFor(service: Service, audience: Audience, caps: ClientCapabilities = defaultCapabilities(audience)): Cluster[] {
  const main = resourceNamesFor(service.name).cluster;
  const omit = leftOut(service, caps);
  return [main, ...subsetsOf(service).map((s) => s.cluster)].map((name) => clusterNamed(name, service, audience, omit));
}

/** The service's main cluster (the one without a subset). */
export function clusterFor(service: Service, audience: Audience = 'proxyless', caps: ClientCapabilities = defaultCapabilities(audience)): Cluster {
  return clusterNamed(resourceNamesFor(service.name).cluster, service, audience, leftOut(service, caps));
}

function clusterNamed(name: string, service: Service, audience: Audience, omit: ReadonlySet<PolicyFeature>): Cluster {
  const p = service.policy;
  return compact<Cluster>({
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_CONFIG_SOURCE, service_name: name },
    connect_timeout:
      omit.has('connectTimeoutMs') || (audience === 'proxyless' && p.connectTimeoutMs === undefined)
        ? undefined
        : durationMs(p.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS),
    ...loadBalancing(effectiveLbPolicy(service, omit), p.loadBalancing),
    circuit_breakers: circuitBreakers(p, omit),
    outlier_detection: outlierDetection(p, audience, omit),
    // mTLS (policy mtls STRICT) wins over plain TLS origination (policy tls, sidecars only).
    transport_socket: upstreamMtlsFor(service, audience) ?? (audience === 'sidecar' && !omit.has('tls') ? upstreamTls(service) : undefined),
    // Deprecated in favour of an extension Envoy's own trees carry but gRPC's do not; still honoured.
    http2_protocol_options: audience === 'sidecar' && protocolOf(service) === 'grpc' ? {} : undefined,
  });
}

function loadBalancing(policy: LbPolicy, lb: LoadBalancing | undefined): Pick<Cluster, 'lb_policy' | 'ring_hash_lb_config' | 'least_request_lb_config'> {
  switch (policy) {
    case 'RING_HASH':
      return {
        lb_policy: 'RING_HASH',
        ring_hash_lb_config: compact<NonNullable<Cluster['ring_hash_lb_config']>>({
          minimum_ring_size: uint32(lb?.ringMinSize),
          maximum_ring_size: uint32(lb?.ringMaxSize),
        }),
      };
    case 'LEAST_REQUEST':
      return {
        lb_policy: 'LEAST_REQUEST',
        least_request_lb_config: compact<NonNullable<Cluster['least_request_lb_config']>>({ choice_count: uint32(lb?.choiceCount) }),
      };
    default:
      return { lb_policy: policy };
  }
}

function circuitBreakers(p: ServicePolicy, omit: ReadonlySet<PolicyFeature>): CircuitBreakers | undefined {
  const cb = p.circuitBreakers;
  if (!cb) return undefined;
  const others = !omit.has('circuitBreakers maxConnections, maxPendingRequests, maxRetries');
  const threshold = compact<NonNullable<CircuitBreakers['thresholds']>[number]>({
    priority: 'DEFAULT',
    max_connections: others ? uint32(cb.maxConnections) : undefined,
    max_pending_requests: others ? uint32(cb.maxPendingRequests) : undefined,
    max_requests: omit.has('circuitBreakers maxRequests') ? undefined : uint32(cb.maxRequests),
    max_retries: others ? uint32(cb.maxRetries) : undefined,
  });
  const everythingLeftOut = Object.keys(threshold).length === 1 && Object.values(cb).some((v) => v !== undefined);
  return everythingLeftOut ? undefined : { thresholds: [threshold] };
}

// Envoy's defaults for the two ejection algorithms, which gRPC documents too (gRFC A50).
const SUCCESS_RATE_DEFAULTS = { enforcingPercent: 100, minimumHosts: 5, requestVolume: 100, stdevFactor: 1900 } as const;
const FAILURE_PERCENTAGE_DEFAULTS = { enforcingPercent: 100, threshold: 85, minimumHosts: 5, requestVolume: 50 } as const;

/**
 * Envoy gets the policy as written (its own defaults fill the rest). gRPC clients get every
 * ejection field explicitly: grpc-js 1.14 replaces its defaults with the unset fields and its
 * process dies at the first check of an algorithm whose fields were left unset ("Reduce of empty
 * array with no initial value"). consecutive5xx, which gRPC does not implement, goes to gRPC as
 * failure-percentage ejection unless the policy sets failurePercentage itself.
 */
function outlierDetection(p: ServicePolicy, audience: Audience, omit: ReadonlySet<PolicyFeature>): OutlierDetection | undefined {
  const od = p.outlierDetection;
  if (!od) return undefined;
  const common: OutlierDetection = {
    interval: od.intervalMs === undefined ? undefined : durationMs(od.intervalMs),
    base_ejection_time: od.baseEjectionTimeMs === undefined ? undefined : durationMs(od.baseEjectionTimeMs),
    max_ejection_percent: uint32(od.maxEjectionPercent),
  };
  const sr = od.successRate;
  const fp = od.failurePercentage;
  if (audience === 'sidecar') {
    return compact<OutlierDetection>({
      consecutive_5xx: omit.has('outlierDetection consecutive5xx') ? undefined : uint32(od.consecutive5xx),
      ...common,
      enforcing_success_rate: uint32(sr?.enforcingPercent),
      success_rate_minimum_hosts: uint32(sr?.minimumHosts),
      success_rate_request_volume: uint32(sr?.requestVolume),
      success_rate_stdev_factor: uint32(sr?.stdevFactor),
      enforcing_failure_percentage: fp ? uint32(fp.enforcingPercent ?? FAILURE_PERCENTAGE_DEFAULTS.enforcingPercent) : undefined,
      failure_percentage_threshold: uint32(fp?.threshold),
      failure_percentage_minimum_hosts: uint32(fp?.minimumHosts),
      failure_percentage_request_volume: uint32(fp?.requestVolume),
    });
  }
  const successRate = { ...SUCCESS_RATE_DEFAULTS, ...definedOnly(sr) };
  const approximated = !fp && od.consecutive5xx !== undefined && !omit.has('outlierDetection consecutive5xx');
  const failure = fp
    ? { ...FAILURE_PERCENTAGE_DEFAULTS, ...definedOnly(fp) }
    : approximated
      ? { enforcingPercent: 100, ...CONSECUTIVE_5XX_AS_FAILURE_PERCENTAGE, requestVolume: od.consecutive5xx! }
      : undefined;
  return compact<OutlierDetection>({
    ...common,
    enforcing_success_rate: uint32(successRate.enforcingPercent),
    success_rate_minimum_hosts: uint32(successRate.minimumHosts),
    success_rate_request_volume: uint32(successRate.requestVolume),
    success_rate_stdev_factor: uint32(successRate.stdevFactor),
    // Off unless set: written as 0 so no client has to fill in the rest.
    enforcing_failure_percentage: uint32(failure?.enforcingPercent ?? 0),
    failure_percentage_threshold: uint32(failure?.threshold),
    failure_percentage_minimum_hosts: uint32(failure?.minimumHosts),
    failure_percentage_request_volume: uint32(failure?.requestVolume),
  });
}

function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** TLS origination for sidecars; gRPC clients take their TLS from channel credentials instead. */
function upstreamTls(service: Service): TransportSocket | undefined {
  const tls = service.policy.tls;
  if (!tls) return undefined;
  return { name: 'envoy.transport_sockets.tls', typed_config: typedAny(ANY_TYPE.upstreamTls, { sni: tls.sni ?? service.name }) };
}
