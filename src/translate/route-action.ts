// Service policy -> envoy.config.route.v3.RouteAction: the cluster (or the weighted subsets of a
// traffic split), request timeout, retries and the hash policy for ring hash / Maglev, without
// what the client's capabilities leave out (client-capabilities.ts).
import type { Service } from '../catalog/model.js';
import { compact, durationMs, uint32, type Audience } from './envoy-json.js';
import type { RetryPolicy, RouteAction, RouteClusterWeight, RouteHashPolicy } from './envoy-types.js';
import { resourceNamesFor } from './resource-names.js';
import { protocolOf, subsetsOf } from './service-shape.js';
import { defaultCapabilities, effectiveLbPolicy, isGrpcRetryCondition, leftOut, type ClientCapabilities, type PolicyFeature } from './client-capabilities.js';

const DEFAULT_RETRY_ON = { http: '5xx,connect-failure,refused-stream', grpc: 'unavailable,cancelled,connect-failure,refused-stream' } as const;

export function routeActionFor(service: Service, audience: Audience, caps: ClientCapabilities = defaultCapabilities(audience)): RouteAction {
  const p = service.policy;
  const omit = leftOut(service, caps);
  const subsets = subsetsOf(service);
  // gRPC: no max_stream_duration means no limit, the same as 0, and one field fewer to mishandle.
  const noTimeout = p.requestTimeoutMs === undefined || omit.has('requestTimeoutMs') || (audience === 'proxyless' && p.requestTimeoutMs === 0);
  const timeout = noTimeout ? undefined : durationMs(p.requestTimeoutMs!);
  const target: Pick<RouteAction, 'cluster' | 'weighted_clusters'> =
    subsets.length > 0
      ? { weighted_clusters: { clusters: subsets.map((s): RouteClusterWeight => ({ name: s.cluster, weight: { value: s.weight } })) } }
      : { cluster: resourceNamesFor(service.name).cluster };
  return compact<RouteAction>({
    ...target,
    // gRPC clients honour max_stream_duration, Envoy honours timeout.
    timeout: audience === 'sidecar' ? timeout : undefined,
    max_stream_duration: audience === 'proxyless' && timeout ? { max_stream_duration: timeout } : undefined,
    retry_policy: retryPolicy(service, audience, omit),
    hash_policy: hashPolicy(service, omit),
  });
}

function retryPolicy(service: Service, audience: Audience, omit: ReadonlySet<PolicyFeature>): RetryPolicy | undefined {
  const r = service.policy.retries;
  if (!r || omit.has('retries')) return undefined;
  const protocol = protocolOf(service) === 'grpc' || audience === 'proxyless' ? 'grpc' : 'http';
  let tokens = r.retryOn ?? DEFAULT_RETRY_ON[protocol].split(',');
  // gRPC clients drop the HTTP conditions (also those of the default list) rather than NACK them.
  const grpcOnly = audience === 'proxyless' || omit.has('retries retryOn HTTP conditions');
  if (grpcOnly) tokens = tokens.filter(isGrpcRetryCondition);
  if (grpcOnly && tokens.length === 0) return undefined;
  return compact<RetryPolicy>({
    retry_on: tokens.join(','),
    num_retries: uint32(r.attempts),
    per_try_timeout: r.perTryTimeoutMs === undefined || omit.has('retries perTryTimeoutMs') ? undefined : durationMs(r.perTryTimeoutMs),
  });
}

/** Only under a hashing policy the client gets (a ring hash left out takes its hash policy along). */
function hashPolicy(service: Service, omit: ReadonlySet<PolicyFeature>): RouteHashPolicy[] | undefined {
  const hashOn = service.policy.loadBalancing?.hashOn;
  if (!hashOn || !['RING_HASH', 'MAGLEV'].includes(effectiveLbPolicy(service, omit))) return undefined;
  if ('header' in hashOn) return [{ header: { header_name: hashOn.header } }];
  return omit.has('hashOn sourceIp') ? undefined : [{ connection_properties: { source_ip: true } }];
}
