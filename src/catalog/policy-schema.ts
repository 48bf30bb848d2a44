// The JSON Schema (draft-07, as ajv 8 checks it by default) of one service's traffic policy.
// It is plain data so it can also be published for operators and editors. Checks that relate
// two fields to each other live in policy.ts, because the schema cannot say them clearly.
//
// `additionalProperties: false` on every object: a misspelt field (`conectTimeoutMs`) would
// otherwise be ignored silently and the operator would believe a setting is in force that is not.

/** Policies are a few hundred bytes; anything this large is a mistake or an attack. */
export const MAX_POLICY_BYTES = 64 * 1024;

/**
 * Upper bound for every duration. Envoy takes far longer ones, but a day-long connect or retry
 * timeout is a unit mistake (microseconds or nanoseconds typed as milliseconds), not a wish.
 */
export const MAX_DURATION_MS = 86_400_000;

/** Envoy's ring hash refuses rings larger than 8M entries. */
export const MAX_RING_SIZE = 8_388_608;

/** Envoy thresholds are uint32. */
const MAX_UINT32 = 4_294_967_295;

export const PROTOCOLS = ['http', 'grpc', 'tcp'] as const;
export const LB_POLICIES = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'] as const;

/** Envoy `retry_on` tokens (HTTP ones first, then the gRPC status ones) that a policy may use. */
export const RETRY_ON_TOKENS = [
  '5xx',
  'gateway-error',
  'reset',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const;

/**
 * Patterns, each with the words used in error messages instead of the raw regular expression.
 * Header names: an RFC 9110 token, optionally a pseudo-header such as `:authority`.
 * Subset labels and values end up in Envoy resource and metadata names, so they are kept to
 * the characters that are safe there (labels may also use `/`, as in `app.kubernetes.io/version`).
 * SNI: a DNS host name without a trailing dot (RFC 6066 forbids it).
 */
export const PATTERNS = {
  headerName: { regex: "^:?[!#$%&'*+.^_`|~0-9A-Za-z-]+$", means: 'an HTTP header name' },
  subsetLabel: { regex: '^[A-Za-z0-9][A-Za-z0-9._/-]*$', means: 'letters, digits and . _ / - (starting with a letter or digit)' },
  subsetValue: { regex: '^[A-Za-z0-9][A-Za-z0-9._-]*$', means: 'letters, digits and . _ - (starting with a letter or digit)' },
  hostName: {
    regex: '^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$',
    means: 'a DNS host name',
  },
  instanceName: { regex: '^[A-Za-z0-9][A-Za-z0-9._:/-]*$', means: 'a name of letters, digits and . _ : / - (starting with a letter or digit)' },
  spiffeId: { regex: '^spiffe://[A-Za-z0-9._-]+(/[^\\s]*)?$', means: 'a SPIFFE ID (spiffe://<trust domain>/<path>)' },
  grpcMethod: { regex: '^[A-Za-z_][A-Za-z0-9_.]*/([A-Za-z_][A-Za-z0-9_]*|\\*)$', means: 'a gRPC method "package.Service/Method" or "package.Service/*"' },
  httpPath: { regex: '^/[^\\s]*$', means: 'a request path starting with /' },
} as const;

const durationMs = (minimum: 'positive' | 'zero-or-more', description: string) =>
  ({
    type: 'integer',
    ...(minimum === 'positive' ? { exclusiveMinimum: 0 } : { minimum: 0 }),
    maximum: MAX_DURATION_MS,
    description,
  }) as const;

const count = (minimum: number, maximum: number, description: string) => ({ type: 'integer', minimum, maximum, description }) as const;

const loadBalancing = {
  type: 'object',
  additionalProperties: false,
  required: ['policy'],
  properties: {
    policy: { enum: LB_POLICIES },
    // One object with exactly one of two fields, rather than a oneOf of two schemas: oneOf
    // reports every branch's failures, which reads as noise to an operator.
    hashOn: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      maxProperties: 1,
      properties: {
        header: { type: 'string', maxLength: 256, pattern: PATTERNS.headerName.regex },
        sourceIp: { const: true },
      },
      description: 'What RING_HASH / MAGLEV hash on: {"header": "x-user-id"} or {"sourceIp": true}',
    },
    ringMinSize: count(1, MAX_RING_SIZE, 'RING_HASH only'),
    ringMaxSize: count(1, MAX_RING_SIZE, 'RING_HASH only'),
    choiceCount: count(2, 100, 'LEAST_REQUEST only: hosts sampled per pick (Envoy default 2)'),
  },
} as const;

const retries = {
  type: 'object',
  additionalProperties: false,
  required: ['attempts'],
  properties: {
    attempts: count(0, 10, 'retries after the first try; 0 disables retries'),
    perTryTimeoutMs: durationMs('positive', 'at most requestTimeoutMs when that is set and not 0'),
    retryOn: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: RETRY_ON_TOKENS } },
  },
} as const;

const circuitBreakers = {
  type: 'object',
  additionalProperties: false,
  properties: {
    // 0 would refuse every connection or request, which is never what an operator means.
    maxConnections: count(1, MAX_UINT32, 'concurrent upstream connections'),
    maxPendingRequests: count(1, MAX_UINT32, 'requests queued waiting for a connection'),
    maxRequests: count(1, MAX_UINT32, 'concurrent requests'),
    // 0 is meaningful here: no retries may be in flight at all.
    maxRetries: count(0, MAX_UINT32, 'concurrent retries'),
  },
} as const;

const outlierDetection = {
  type: 'object',
  additionalProperties: false,
  properties: {
    consecutive5xx: count(1, MAX_UINT32, 'consecutive errors before a host is ejected'),
    intervalMs: durationMs('positive', 'how often hosts are evaluated'),
    baseEjectionTimeMs: durationMs('positive', 'ejection time, multiplied by the times ejected'),
    maxEjectionPercent: count(0, 100, 'share of hosts that may be ejected at once'),
    // The two algorithms gRPC implements (gRFC A50) besides Envoy; unset fields take Envoy's defaults.
    successRate: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enforcingPercent: count(0, 100, 'chance that a host found an outlier is ejected; 0 turns success-rate ejection off (default 100)'),
        minimumHosts: count(1, MAX_UINT32, 'hosts with enough requests needed before any is judged (default 5)'),
        requestVolume: count(1, MAX_UINT32, 'requests a host needs in an interval to be judged (default 100)'),
        stdevFactor: count(1, MAX_UINT32, 'ejects hosts below mean - stdev * stdevFactor / 1000 (default 1900)'),
      },
    },
    failurePercentage: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enforcingPercent: count(0, 100, 'chance that a host over the threshold is ejected; 0 turns it off (default 100 when this object is set)'),
        threshold: count(0, 100, 'failure percentage above which a host is ejected (default 85)'),
        minimumHosts: count(1, MAX_UINT32, 'hosts with enough requests needed before any is judged (default 5)'),
        requestVolume: count(1, MAX_UINT32, 'requests a host needs in an interval to be judged (default 50)'),
      },
    },
  },
} as const;

const tls = {
  type: 'object',
  additionalProperties: false,
  properties: {
    sni: { type: 'string', minLength: 1, maxLength: 253, pattern: PATTERNS.hostName.regex },
  },
  description: 'Originate TLS to the upstream; {} uses the service name as SNI',
} as const;

const trafficSplit = {
  type: 'object',
  additionalProperties: false,
  required: ['label', 'subsets'],
  properties: {
    label: { type: 'string', minLength: 1, maxLength: 128, pattern: PATTERNS.subsetLabel.regex },
    subsets: {
      type: 'array',
      minItems: 1,
      maxItems: 20,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['value', 'weight'],
        properties: {
          value: { type: 'string', minLength: 1, maxLength: 63, pattern: PATTERNS.subsetValue.regex },
          weight: count(1, 100, 'percent of requests; all weights add up to 100'),
        },
      },
    },
  },
  description: 'Split by an instance metadata label, e.g. version v1 90 / v2 10',
} as const;

export const MTLS_MODES = ['DISABLE', 'PERMISSIVE', 'STRICT'] as const;
export const RBAC_ACTIONS = ['ALLOW', 'DENY'] as const;

/** Certificate provider instance and SDS secret names: what bootstraps and SDS agents use. */
const instanceName = { type: 'string', minLength: 1, maxLength: 128, pattern: PATTERNS.instanceName.regex } as const;

/** {"exact": "..."} or {"prefix": "..."}: one object with exactly one field, like hashOn (see there why). */
const stringMatcher = (pattern: string, what: string) =>
  ({
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    properties: {
      exact: { type: 'string', minLength: 1, maxLength: 512, pattern },
      prefix: { type: 'string', minLength: 1, maxLength: 512, pattern },
    },
    description: `${what}: {"exact": "..."} or {"prefix": "..."}`,
  }) as const;

const spiffeMatcher = stringMatcher(PATTERNS.spiffeId.regex, 'a SPIFFE ID (URI SAN)');

const mtls = {
  type: 'object',
  additionalProperties: false,
  required: ['mode'],
  properties: {
    mode: { enum: MTLS_MODES },
    // Proxyless gRPC (gRFC A29/A36): names of certificate_providers in the node's bootstrap.
    certificateProviders: {
      type: 'object',
      additionalProperties: false,
      properties: { identity: instanceName, ca: instanceName },
      description: 'bootstrap certificate provider instances: identity (own certificate and key) and ca (roots); both default to "default"',
    },
    // Envoy: SDS secret names served by a local agent (SPIRE, Istio's agent); zk-xds is no CA.
    sdsSecrets: {
      type: 'object',
      additionalProperties: false,
      properties: { certificate: instanceName, validationContext: instanceName, sdsCluster: instanceName },
      description:
        'SDS secrets of the sidecar: certificate (default "default"), validationContext (default "ROOTCA"), from the cluster sdsCluster in Envoy\'s bootstrap (default "spire_agent")',
    },
    serverIdentities: {
      type: 'array',
      minItems: 1,
      maxItems: 32,
      uniqueItems: true,
      items: spiffeMatcher,
      description: 'SANs a caller accepts from the server',
    },
  },
} as const;

const authorizationRule = {
  type: 'object',
  additionalProperties: false,
  required: ['action'],
  properties: {
    action: { enum: RBAC_ACTIONS },
    from: {
      type: 'object',
      additionalProperties: false,
      required: ['principals'],
      properties: { principals: { type: 'array', minItems: 1, maxItems: 64, uniqueItems: true, items: spiffeMatcher } },
      description: 'callers by certificate identity; any one matches',
    },
    to: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        methods: { type: 'array', minItems: 1, maxItems: 64, uniqueItems: true, items: { type: 'string', maxLength: 512, pattern: PATTERNS.grpcMethod.regex } },
        paths: { type: 'array', minItems: 1, maxItems: 64, uniqueItems: true, items: stringMatcher(PATTERNS.httpPath.regex, 'a request path') },
        headers: {
          type: 'array',
          minItems: 1,
          maxItems: 16,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name'],
            minProperties: 2,
            maxProperties: 2,
            properties: {
              name: { type: 'string', maxLength: 256, pattern: PATTERNS.headerName.regex },
              exact: { type: 'string', maxLength: 1024 },
              prefix: { type: 'string', minLength: 1, maxLength: 1024 },
              present: { const: true },
            },
          },
        },
      },
      description: 'what is called: methods or paths (any one matches) and headers (all must match)',
    },
  },
} as const;

const authorization = {
  type: 'object',
  additionalProperties: false,
  required: ['rules'],
  properties: { rules: { type: 'array', maxItems: 64, items: authorizationRule } },
  description: 'RBAC: DENY rules first; then, if any ALLOW rule exists, only what an ALLOW rule matches',
} as const;

export const POLICY_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'zk-xds service policy',
  type: 'object',
  additionalProperties: false,
  properties: {
    protocol: { enum: PROTOCOLS },
    port: count(1, 65535, 'port sidecars listen on for this service'),
    loadBalancing,
    connectTimeoutMs: durationMs('positive', 'TCP (and TLS) connect timeout'),
    requestTimeoutMs: durationMs('zero-or-more', 'whole request timeout; 0 = none'),
    retries,
    circuitBreakers,
    outlierDetection,
    tls,
    trafficSplit,
    mtls,
    authorization,
  },
} as const;
