// Table-driven: what each client profile gets of a policy, what is left out or approximated for
// it and why, and that whatever a profile gets still satisfies the protos' constraints.
import { describe, expect, it } from '@jest/globals';
import type { ServicePolicy } from '../../../src/catalog/policy.js';
import { adjustmentsFor, CLIENT_PROFILES, type ClientProfile } from '../../../src/translate/client-capabilities.js';
import { clustersFor } from '../../../src/translate/cluster.js';
import type { Cluster, RouteConfiguration } from '../../../src/translate/envoy-types.js';
import { proxylessResourceSet } from '../../../src/translate/service-resources.js';
import { portRouteFor } from '../../../src/translate/sidecar-route.js';
import { service } from '../../support/catalog-fixtures.js';
import { checkMessage } from '../../support/proto-constraints.js';

type Obj = Record<string, unknown>;
const PROFILES: readonly ClientProfile[] = ['envoy', 'grpc', 'grpc-core-1.51'];

/** The main cluster and the route action the profile's clients get, each checked against its proto. */
function translate(profile: ClientProfile, policy: ServicePolicy): { cluster: Obj; action: Obj } {
  const svc = service('svc', 2, policy);
  const caps = CLIENT_PROFILES[profile].capabilities;
  let cluster: Cluster;
  let route: RouteConfiguration;
  if (profile === 'envoy') {
    cluster = clustersFor(svc, 'sidecar', caps)[0]!;
    route = portRouteFor(8080, [svc], '');
  } else {
    const set = proxylessResourceSet(svc, caps);
    cluster = set.cluster[0]!;
    route = set.route[0]!;
  }
  expect(checkMessage('envoy.config.cluster.v3.Cluster', cluster)).toEqual([]);
  expect(checkMessage('envoy.config.route.v3.RouteConfiguration', route)).toEqual([]);
  const action = (route as { virtual_hosts: Array<{ routes: Array<{ route: Obj }> }> }).virtual_hosts[0]!.routes[0]!.route;
  return { cluster: cluster as Obj, action };
}

const timeoutOf = (profile: ClientProfile, action: Obj): unknown =>
  profile === 'envoy' ? action.timeout : (action.max_stream_duration as Obj | undefined)?.max_stream_duration;

describe('ring hash', () => {
  const policy: ServicePolicy = { loadBalancing: { policy: 'RING_HASH', hashOn: { header: 'x-user' } } };
  /** [profile, lb_policy, hash_policy kept] */
  const cases: [ClientProfile, string, boolean][] = [
    ['envoy', 'RING_HASH', true],
    ['grpc', 'RING_HASH', true],
    // C-core 1.51 segfaults on its first call on a ring-hash cluster: round robin, and no hash policy either.
    ['grpc-core-1.51', 'ROUND_ROBIN', false],
  ];
  it.each(cases)('%s: lb_policy %s, hash policy kept: %s', (profile, lb, hashKept) => {
    const { cluster, action } = translate(profile, policy);
    expect(cluster.lb_policy).toBe(lb);
    expect('ring_hash_lb_config' in cluster).toBe(lb === 'RING_HASH');
    expect('hash_policy' in action).toBe(hashKept);
  });
});

describe('request timeouts', () => {
  /** [profile, requestTimeoutMs, kept] */
  const cases: [ClientProfile, number, boolean][] = [
    ['envoy', 500, true],
    ['envoy', 1000, true],
    ['grpc', 500, true],
    ['grpc', 1000, true],
    ['grpc', 2999, true],
    // C-core 1.51 fails calls at once or far too early under timeouts below ~3 s.
    ['grpc-core-1.51', 500, false],
    ['grpc-core-1.51', 1000, false],
    ['grpc-core-1.51', 2000, false],
    ['grpc-core-1.51', 2999, false],
    ['grpc-core-1.51', 3000, true],
    ['grpc-core-1.51', 15000, true],
  ];
  it.each(cases)('%s: %i ms kept: %s', (profile, requestTimeoutMs, kept) => {
    const { action } = translate(profile, { requestTimeoutMs });
    const expected = { seconds: Math.floor(requestTimeoutMs / 1000), nanos: (requestTimeoutMs % 1000) * 1e6 };
    expect(timeoutOf(profile, action)).toEqual(kept ? expected : undefined);
  });
});

describe('outlier detection', () => {
  it.each(PROFILES)('%s: consecutive5xx kept for Envoy only; gRPC gets failure percentage over at least N calls', (profile) => {
    const { cluster } = translate(profile, { outlierDetection: { consecutive5xx: 5, intervalMs: 1000 } });
    const od = cluster.outlier_detection as Obj;
    if (profile === 'envoy') {
      expect(od).toEqual({ consecutive_5xx: { value: 5 }, interval: { seconds: 1, nanos: 0 } });
    } else {
      expect(od).not.toHaveProperty('consecutive_5xx');
      expect(od).toMatchObject({
        enforcing_failure_percentage: { value: 100 },
        failure_percentage_request_volume: { value: 5 },
        enforcing_success_rate: { value: 100 },
      });
    }
  });
});

describe('adjustmentsFor: what "not applied for <client>" says', () => {
  const everything: ServicePolicy = {
    loadBalancing: { policy: 'RING_HASH', hashOn: { header: 'x-user' } },
    connectTimeoutMs: 1000,
    requestTimeoutMs: 1000,
    retries: { attempts: 2, perTryTimeoutMs: 500, retryOn: ['5xx', 'unavailable'] },
    circuitBreakers: { maxConnections: 10, maxRequests: 100 },
    outlierDetection: { consecutive5xx: 5 },
    tls: {},
  };
  const gRPC = [
    'connectTimeoutMs',
    'retries perTryTimeoutMs',
    'retries retryOn HTTP conditions',
    'circuitBreakers maxConnections, maxPendingRequests, maxRetries',
    'outlierDetection consecutive5xx',
    'tls',
  ];
  /** [profile, features adjusted, in order] */
  const cases: [ClientProfile, string[]][] = [
    ['envoy', []],
    ['grpc', gRPC],
    ['grpc-core-1.51', ['loadBalancing RING_HASH', 'connectTimeoutMs', 'requestTimeoutMs', ...gRPC.slice(1)]],
  ];
  it.each(cases)('%s', (profile, features) => {
    const adjustments = adjustmentsFor(service('svc', 1, everything), CLIENT_PROFILES[profile].capabilities);
    expect(adjustments.map((a) => a.feature)).toEqual(features);
    for (const a of adjustments) expect(a.why.length).toBeGreaterThan(20);
    expect(adjustments.find((a) => a.feature === 'outlierDetection consecutive5xx')?.outcome).toBe(profile === 'envoy' ? undefined : 'approximated');
  });

  it('a policy without the features a client lacks has nothing to say for it', () => {
    for (const profile of PROFILES)
      expect(adjustmentsFor(service('svc', 1, { requestTimeoutMs: 5000, retries: { attempts: 1 } }), CLIENT_PROFILES[profile].capabilities)).toEqual([]);
  });

  it('Envoy implements every feature', () => {
    expect(Object.values(CLIENT_PROFILES.envoy.capabilities).every((s) => s.status === 'implements')).toBe(true);
  });
});
