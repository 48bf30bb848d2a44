// Service policy -> envoy.config.route.v3.RouteAction: the cluster (or the weighted subsets of a
// traffic split), request timeout, retries and the hash policy for ring hash / Maglev.
import type { Service } from '../catalog/model.js';
import { compact, durationMs, uint32, type Audience, type Json } from './envoy-json.js';
import { resourceNamesFor } from './resource-names.js';
import { protocolOf, subsetsOf } from './service-shape.js';

/** gRPC status conditions: what gRPC's xDS client understands in retry_on. */
const GRPC_RETRY_ON = new Set(['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable']);
const DEFAULT_RETRY_ON = { http: '5xx,connect-failure,refused-stream', grpc: 'unavailable,cancelled,connect-failure,refused-stream' } as const;

export function routeActionFor(service: Service, audience: Audience): Json {
  const p = service.policy;
  const subsets = subsetsOf(service);
  const timeout = p.requestTimeoutMs === undefined ? undefined : durationMs(p.requestTimeoutMs);
  return compact({
    ...(subsets.length > 0
      ? { weighted_clusters: { clusters: subsets.map((s) => ({ name: s.cluster, weight: { value: s.weight } })) } }
      : { cluster: resourceNamesFor(service.name).cluster }),
    // gRPC clients honour max_stream_duration, Envoy honours timeout.
    timeout: audience === 'sidecar' ? timeout : undefined,
    max_stream_duration: audience === 'proxyless' && timeout ? { max_stream_duration: timeout } : undefined,
    retry_policy: retryPolicy(service, audience),
    hash_policy: hashPolicy(service),
  });
}

function retryPolicy(service: Service, audience: Audience): Json | undefined {
  const r = service.policy.retries;
  if (!r) return undefined;
  const protocol = protocolOf(service) === 'grpc' || audience === 'proxyless' ? 'grpc' : 'http';
  let tokens = r.retryOn ?? DEFAULT_RETRY_ON[protocol].split(',');
  if (audience === 'proxyless') tokens = tokens.filter((t) => GRPC_RETRY_ON.has(t));
  if (audience === 'proxyless' && tokens.length === 0) return undefined;
  return compact({
    retry_on: tokens.join(','),
    num_retries: uint32(r.attempts),
    per_try_timeout: r.perTryTimeoutMs === undefined ? undefined : durationMs(r.perTryTimeoutMs),
  });
}

function hashPolicy(service: Service): Json[] | undefined {
  const hashOn = service.policy.loadBalancing?.hashOn;
  if (!hashOn) return undefined;
  return 'header' in hashOn ? [{ header: { header_name: hashOn.header } }] : [{ connection_properties: { source_ip: true } }];
}
