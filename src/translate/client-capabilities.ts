// Which policy features each kind of xDS client implements, ignores, rejects or mishandles, and
// which of a service's policy features are therefore left out (or approximated) for it. Pure data
// and pure functions: the translators take a profile's capabilities and leave out what the client
// cannot handle safely; the admin pages and the CLI show the same list as "not applied for <client>".
// docs/clients.md is the readable version of this table (a test keeps the two equal).
import type { Service } from '../catalog/model.js';
import type { LbPolicyName } from '../catalog/policy.js';
import type { Audience } from './envoy-json.js';

/** The policy features whose treatment differs between clients. */
export const POLICY_FEATURES = [
  'loadBalancing RING_HASH',
  'loadBalancing LEAST_REQUEST',
  'loadBalancing RANDOM',
  'loadBalancing MAGLEV',
  'hashOn sourceIp',
  'connectTimeoutMs',
  'requestTimeoutMs',
  'retries',
  'retries perTryTimeoutMs',
  'retries retryOn HTTP conditions',
  'circuitBreakers maxRequests',
  'circuitBreakers maxConnections, maxPendingRequests, maxRetries',
  'outlierDetection consecutive5xx',
  'outlierDetection successRate',
  'outlierDetection failurePercentage',
  'tls',
  'trafficSplit',
] as const;
export type PolicyFeature = (typeof POLICY_FEATURES)[number];

export type Support =
  | { readonly status: 'implements' }
  /** Sent differently (e.g. consecutive5xx as failure-percentage ejection for gRPC). */
  | { readonly status: 'approximates'; readonly why: string }
  /**
   * Not sent: the client would ignore it, NACK the resource, or break. `belowMs` narrows it to
   * durations shorter than that (longer ones are sent).
   */
  | { readonly status: 'ignores' | 'rejects' | 'mishandles'; readonly why: string; readonly belowMs?: number };

export type ClientCapabilities = Readonly<Record<PolicyFeature, Support>>;

/** The profiles zk-xds serves: one resource view each (src/xds/client-profile.ts picks one per proxy). */
export type ClientProfile = 'envoy' | 'grpc' | 'grpc-core-1.51';

export interface ProfileDescription {
  /** Who the profile is for, as "not applied for <label>" names it. */
  readonly label: string;
  readonly capabilities: ClientCapabilities;
}

const YES: Support = { status: 'implements' };

const ENVOY: ClientCapabilities = Object.fromEntries(POLICY_FEATURES.map((f) => [f, YES])) as Record<PolicyFeature, Support>;

/** What every gRPC xDS client implements, by gRFC (A27, A28, A31, A32, A42, A44, A50). */
const GRPC: ClientCapabilities = {
  ...ENVOY,
  'loadBalancing LEAST_REQUEST': {
    status: 'rejects',
    why: 'gRPC takes only ROUND_ROBIN and RING_HASH in Cluster.lb_policy (other values are NACKed); sent ROUND_ROBIN',
  },
  'loadBalancing RANDOM': {
    status: 'rejects',
    why: 'gRPC takes only ROUND_ROBIN and RING_HASH in Cluster.lb_policy (other values are NACKed); sent ROUND_ROBIN',
  },
  'loadBalancing MAGLEV': {
    status: 'rejects',
    why: 'gRPC takes only ROUND_ROBIN and RING_HASH in Cluster.lb_policy (other values are NACKed); sent ROUND_ROBIN',
  },
  'hashOn sourceIp': { status: 'ignores', why: 'gRPC ring hash hashes headers only (gRFC A42); without a header each call hashes at random' },
  connectTimeoutMs: { status: 'ignores', why: 'gRPC ignores Cluster.connect_timeout (it uses its own connection backoff)' },
  'retries perTryTimeoutMs': { status: 'ignores', why: 'gRPC ignores per_try_timeout (gRFC A44)' },
  'retries retryOn HTTP conditions': {
    status: 'ignores',
    why: 'gRPC retries on gRPC status codes only (cancelled, deadline-exceeded, internal, resource-exhausted, unavailable)',
  },
  'circuitBreakers maxConnections, maxPendingRequests, maxRetries': { status: 'ignores', why: 'gRPC implements max_requests only (gRFC A32)' },
  'outlierDetection consecutive5xx': {
    status: 'approximates',
    why: 'gRPC has no consecutive-5xx ejection (gRFC A50); sent as failure-percentage ejection: more than 85% of at least consecutive5xx calls failed in an interval, with 2 hosts or more',
  },
  tls: { status: 'ignores', why: 'gRPC clients take TLS from their channel credentials (xDS security, gRFC A29), not from this policy' },
};

/**
 * gRPC C-core 1.51 (Debian bookworm's python3-grpcio), measured on this project's machines against
 * a minimal reference server too: a RING_HASH cluster segfaults the process at its first call, and
 * route timeouts (max_stream_duration) below about 3 s fail calls at once or far too early.
 */
const GRPC_CORE_1_51: ClientCapabilities = {
  ...GRPC,
  'loadBalancing RING_HASH': { status: 'mishandles', why: 'gRPC C-core 1.51 crashes (segfault) at the first call on a RING_HASH cluster; sent ROUND_ROBIN' },
  requestTimeoutMs: {
    status: 'mishandles',
    why: 'gRPC C-core 1.51 fails calls at once (0.5-1.2 s) or after ~0.1-0.3 s (2 s) under route timeouts below 3 s; sent without a timeout',
    belowMs: 3000,
  },
};

export const CLIENT_PROFILES: Readonly<Record<ClientProfile, ProfileDescription>> = {
  envoy: { label: 'Envoy', capabilities: ENVOY },
  grpc: { label: 'gRPC', capabilities: GRPC },
  'grpc-core-1.51': { label: 'gRPC C-core 1.51', capabilities: GRPC_CORE_1_51 },
};

/** The capabilities an audience gets when no client profile is named: Envoy for sidecars, gRPC otherwise. */
export function defaultCapabilities(audience: Audience): ClientCapabilities {
  return CLIENT_PROFILES[audience === 'sidecar' ? 'envoy' : 'grpc'].capabilities;
}

/** The load-balancing policy a client gets: the policy's, unless left out for it (then ROUND_ROBIN). */
export function effectiveLbPolicy(service: Service, omit: ReadonlySet<PolicyFeature>): LbPolicyName {
  const policy = service.policy.loadBalancing?.policy ?? 'ROUND_ROBIN';
  return omit.has(`loadBalancing ${policy}` as PolicyFeature) ? 'ROUND_ROBIN' : policy;
}

/** Failure-percentage settings that stand for consecutive5xx with gRPC (see GRPC above). */
export const CONSECUTIVE_5XX_AS_FAILURE_PERCENTAGE = { threshold: 85, minimumHosts: 2 } as const;

/** One policy feature of a service that a client gets differently from what the policy says. */
export interface Adjustment {
  readonly feature: PolicyFeature;
  /** left out: not sent at all; approximated: sent as the closest thing the client implements. */
  readonly outcome: 'left out' | 'approximated';
  readonly why: string;
}

/**
 * The features of a service's policy that a client with `caps` does not get as written. The
 * translators consult only this list (through `leftOut`), so two profiles with the same list
 * get byte-identical resources for the service.
 */
export function adjustmentsFor(service: Service, caps: ClientCapabilities): Adjustment[] {
  const out: Adjustment[] = [];
  for (const feature of featuresUsed(service)) {
    const support = caps[feature.name];
    if (support.status === 'implements') continue;
    if (support.status === 'approximates') {
      // The policy's own failurePercentage wins over the approximation: consecutive5xx is then simply not sent.
      if (feature.name === 'outlierDetection consecutive5xx' && service.policy.outlierDetection?.failurePercentage) {
        out.push({
          feature: feature.name,
          outcome: 'left out',
          why: "gRPC has no consecutive-5xx ejection (gRFC A50); the policy's failurePercentage is sent instead",
        });
      } else {
        out.push({ feature: feature.name, outcome: 'approximated', why: support.why });
      }
      continue;
    }
    if (support.belowMs !== undefined && (feature.ms === undefined || feature.ms >= support.belowMs)) continue;
    out.push({ feature: feature.name, outcome: 'left out', why: support.why });
  }
  return out;
}

/** The features a translator must not emit for this service and client. */
export function leftOut(service: Service, caps: ClientCapabilities): ReadonlySet<PolicyFeature> {
  return new Set(
    adjustmentsFor(service, caps)
      .filter((a) => a.outcome === 'left out')
      .map((a) => a.feature),
  );
}

/** Same adjustments, same resources: lets the publisher share encoded bytes between profiles. */
export function sameAdjustments(a: readonly Adjustment[], b: readonly Adjustment[]): boolean {
  return a.length === b.length && a.every((x, i) => x.feature === b[i]!.feature && x.outcome === b[i]!.outcome);
}

const GRPC_RETRY_STATUSES: ReadonlySet<string> = new Set(['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable']);

/** retry_on tokens a gRPC client understands. */
export function isGrpcRetryCondition(token: string): boolean {
  return GRPC_RETRY_STATUSES.has(token);
}

/** The features a service's policy uses, in POLICY_FEATURES order, with a duration where one matters. */
function featuresUsed(service: Service): Array<{ name: PolicyFeature; ms?: number }> {
  const p = service.policy;
  const used: Array<{ name: PolicyFeature; ms?: number }> = [];
  const lb = p.loadBalancing;
  if (lb && lb.policy !== 'ROUND_ROBIN') used.push({ name: `loadBalancing ${lb.policy}` });
  if (lb?.hashOn && 'sourceIp' in lb.hashOn) used.push({ name: 'hashOn sourceIp' });
  if (p.connectTimeoutMs !== undefined) used.push({ name: 'connectTimeoutMs' });
  // 0 means no timeout: nothing for a client to mishandle.
  if (p.requestTimeoutMs !== undefined && p.requestTimeoutMs > 0) used.push({ name: 'requestTimeoutMs', ms: p.requestTimeoutMs });
  if (p.retries) {
    used.push({ name: 'retries' });
    if (p.retries.perTryTimeoutMs !== undefined) used.push({ name: 'retries perTryTimeoutMs' });
    if (p.retries.retryOn?.some((t) => !isGrpcRetryCondition(t))) used.push({ name: 'retries retryOn HTTP conditions' });
  }
  const cb = p.circuitBreakers;
  if (cb?.maxRequests !== undefined) used.push({ name: 'circuitBreakers maxRequests' });
  if (cb && (cb.maxConnections !== undefined || cb.maxPendingRequests !== undefined || cb.maxRetries !== undefined)) {
    used.push({ name: 'circuitBreakers maxConnections, maxPendingRequests, maxRetries' });
  }
  const od = p.outlierDetection;
  if (od?.consecutive5xx !== undefined) used.push({ name: 'outlierDetection consecutive5xx' });
  if (od?.successRate) used.push({ name: 'outlierDetection successRate' });
  if (od?.failurePercentage) used.push({ name: 'outlierDetection failurePercentage' });
  if (p.tls) used.push({ name: 'tls' });
  if (p.trafficSplit) used.push({ name: 'trafficSplit' });
  return used;
}
