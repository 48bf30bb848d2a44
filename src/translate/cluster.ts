// Service -> envoy.config.cluster.v3.Cluster(s): an EDS cluster over ADS for the service, one per
// traffic-split subset, with the policy's load balancing, timeouts, circuit breakers, outlier
// detection and upstream TLS. Proxyless gRPC gets only what gRPC implements.
import type { Service } from '../catalog/model.js';
import type { LoadBalancing, ServicePolicy } from '../catalog/policy.js';
import { ADS_CONFIG_SOURCE, ANY_TYPE, compact, durationMs, uint32, type Audience, type Json } from './envoy-json.js';
import { resourceNamesFor } from './resource-names.js';
import { protocolOf, subsetsOf } from './service-shape.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** Load-balancing policies gRPC's xDS client accepts; others fall back to ROUND_ROBIN for it. */
const PROXYLESS_LB = new Set(['ROUND_ROBIN', 'RING_HASH']);

export function clustersFor(service: Service, audience: Audience): Json[] {
  const main = resourceNamesFor(service.name).cluster;
  return [main, ...subsetsOf(service).map((s) => s.cluster)].map((name) => clusterNamed(name, service, audience));
}

/** The service's main cluster (the one without a subset). */
export function clusterFor(service: Service, audience: Audience = 'proxyless'): Json {
  return clusterNamed(resourceNamesFor(service.name).cluster, service, audience);
}

function clusterNamed(name: string, service: Service, audience: Audience): Json {
  const p = service.policy;
  return compact({
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_CONFIG_SOURCE, service_name: name },
    connect_timeout: durationMs(p.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS),
    ...loadBalancing(p.loadBalancing, audience),
    circuit_breakers: circuitBreakers(p),
    outlier_detection: outlierDetection(p),
    transport_socket: audience === 'sidecar' ? upstreamTls(service) : undefined,
    // Deprecated in favour of an extension Envoy's own trees carry but gRPC's do not; still honoured.
    http2_protocol_options: audience === 'sidecar' && protocolOf(service) === 'grpc' ? {} : undefined,
  });
}

function loadBalancing(lb: LoadBalancing | undefined, audience: Audience): Record<string, unknown> {
  const policy = lb?.policy ?? 'ROUND_ROBIN';
  if (audience === 'proxyless' && !PROXYLESS_LB.has(policy)) return { lb_policy: 'ROUND_ROBIN' };
  switch (policy) {
    case 'RING_HASH':
      return { lb_policy: 'RING_HASH', ring_hash_lb_config: compact({ minimum_ring_size: uint32(lb?.ringMinSize), maximum_ring_size: uint32(lb?.ringMaxSize) }) };
    case 'LEAST_REQUEST':
      return { lb_policy: 'LEAST_REQUEST', least_request_lb_config: compact({ choice_count: uint32(lb?.choiceCount) }) };
    default:
      return { lb_policy: policy };
  }
}

function circuitBreakers(p: ServicePolicy): Json | undefined {
  const cb = p.circuitBreakers;
  if (!cb) return undefined;
  return {
    thresholds: [
      compact({
        priority: 'DEFAULT',
        max_connections: uint32(cb.maxConnections),
        max_pending_requests: uint32(cb.maxPendingRequests),
        max_requests: uint32(cb.maxRequests),
        max_retries: uint32(cb.maxRetries),
      }),
    ],
  };
}

function outlierDetection(p: ServicePolicy): Json | undefined {
  const od = p.outlierDetection;
  if (!od) return undefined;
  return compact({
    consecutive_5xx: uint32(od.consecutive5xx),
    interval: od.intervalMs === undefined ? undefined : durationMs(od.intervalMs),
    base_ejection_time: od.baseEjectionTimeMs === undefined ? undefined : durationMs(od.baseEjectionTimeMs),
    max_ejection_percent: uint32(od.maxEjectionPercent),
  });
}

/** TLS origination for sidecars; gRPC clients take their TLS from channel credentials instead. */
function upstreamTls(service: Service): Json | undefined {
  const tls = service.policy.tls;
  if (!tls) return undefined;
  return { name: 'envoy.transport_sockets.tls', typed_config: { '@type': ANY_TYPE.upstreamTls, sni: tls.sni ?? service.name } };
}
