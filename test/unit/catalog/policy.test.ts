import { describe, expect, it } from '@jest/globals';
import { EMPTY_POLICY, parsePolicy, samePolicy, type PolicyParse, type ServicePolicy } from '../../../src/catalog/policy.js';
import { MAX_POLICY_BYTES } from '../../../src/catalog/policy-schema.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../src/xds/protos.js';

function accepted(result: PolicyParse): ServicePolicy {
  if (!result.ok) throw new Error(`rejected: ${JSON.stringify(result.errors)}`);
  return result.policy;
}

function fieldsOf(result: PolicyParse): string[] {
  if (result.ok) throw new Error(`accepted: ${JSON.stringify(result.policy)}`);
  return result.errors.map((e) => e.field);
}

function messagesOf(result: PolicyParse): string {
  return result.ok ? '' : result.errors.map((e) => `${e.field}: ${e.message}`).join('\n');
}

// Realistic policies, one per field (and per variant of the field); the README shows these.
const VALID_EXAMPLES: Array<[string, ServicePolicy]> = [
  ['protocol', { protocol: 'grpc' }],
  ['port', { protocol: 'http', port: 8080 }],
  ['loadBalancing: round robin', { loadBalancing: { policy: 'ROUND_ROBIN' } }],
  ['loadBalancing: random', { loadBalancing: { policy: 'RANDOM' } }],
  ['loadBalancing: least request', { loadBalancing: { policy: 'LEAST_REQUEST', choiceCount: 3 } }],
  [
    'loadBalancing: ring hash on a header',
    { protocol: 'http', loadBalancing: { policy: 'RING_HASH', hashOn: { header: 'x-user-id' }, ringMinSize: 1024, ringMaxSize: 8192 } },
  ],
  ['loadBalancing: maglev on the source IP', { protocol: 'tcp', loadBalancing: { policy: 'MAGLEV', hashOn: { sourceIp: true } } }],
  ['connectTimeoutMs', { connectTimeoutMs: 2000 }],
  ['requestTimeoutMs', { requestTimeoutMs: 15000 }],
  ['requestTimeoutMs: none, for long-lived streams', { protocol: 'grpc', requestTimeoutMs: 0 }],
  ['retries: http', { requestTimeoutMs: 15000, retries: { attempts: 3, perTryTimeoutMs: 5000, retryOn: ['5xx', 'reset', 'connect-failure'] } }],
  ['retries: grpc', { protocol: 'grpc', retries: { attempts: 2, retryOn: ['unavailable', 'resource-exhausted'] } }],
  ['retries: disabled', { retries: { attempts: 0 } }],
  ['circuitBreakers', { circuitBreakers: { maxConnections: 1024, maxPendingRequests: 256, maxRequests: 2048, maxRetries: 8 } }],
  ['outlierDetection', { outlierDetection: { consecutive5xx: 5, intervalMs: 10000, baseEjectionTimeMs: 30000, maxEjectionPercent: 50 } }],
  [
    'outlierDetection: success rate',
    { outlierDetection: { intervalMs: 1000, successRate: { enforcingPercent: 100, minimumHosts: 2, requestVolume: 10, stdevFactor: 1900 } } },
  ],
  [
    'outlierDetection: success rate off, failure percentage on',
    {
      outlierDetection: {
        successRate: { enforcingPercent: 0 },
        failurePercentage: { threshold: 80, minimumHosts: 2, requestVolume: 20, enforcingPercent: 100 },
      },
    },
  ],
  ['tls: SNI from the service name', { tls: {} }],
  ['tls: explicit SNI', { tls: { sni: 'payments.internal.example.com' } }],
  [
    'trafficSplit: canary',
    {
      trafficSplit: {
        label: 'version',
        subsets: [
          { value: 'v1', weight: 90 },
          { value: 'v2', weight: 10 },
        ],
      },
    },
  ],
  ['mtls: strict with the default names', { mtls: { mode: 'STRICT' } }],
  ['mtls: permissive, while callers move to mTLS', { mtls: { mode: 'PERMISSIVE' } }],
  [
    'mtls: named certificate providers (proxyless gRPC) and server identities',
    {
      mtls: {
        mode: 'STRICT',
        certificateProviders: { identity: 'spiffe-svid', ca: 'spiffe-bundle' },
        serverIdentities: [{ exact: 'spiffe://shop.example/ns/prod/sa/orders' }, { prefix: 'spiffe://shop.example/ns/prod/' }],
      },
    },
  ],
  ['mtls: SDS secrets (Envoy)', { mtls: { mode: 'STRICT', sdsSecrets: { certificate: 'default', validationContext: 'ROOTCA', sdsCluster: 'spire_agent' } } }],
  [
    'authorization: allow one caller to one service',
    {
      mtls: { mode: 'STRICT' },
      authorization: { rules: [{ action: 'ALLOW', from: { principals: [{ exact: 'spiffe://shop.example/sa/web' }] }, to: { methods: ['shop.v1.Orders/*'] } }] },
    },
  ],
  [
    'authorization: deny a prefix, by path and header',
    {
      mtls: { mode: 'STRICT' },
      authorization: {
        rules: [
          {
            action: 'DENY',
            from: { principals: [{ prefix: 'spiffe://shop.example/ns/test/' }] },
            to: { paths: [{ prefix: '/admin/' }], headers: [{ name: 'x-debug', present: true }] },
          },
        ],
      },
    },
  ],
  ['authorization: deny a method to everyone, without mTLS', { authorization: { rules: [{ action: 'DENY', to: { methods: ['shop.v1.Orders/Delete'] } }] } }],
  ['authorization: no rules (everything allowed)', { authorization: { rules: [] } }],
  [
    'everything together',
    {
      protocol: 'http',
      port: 9080,
      loadBalancing: { policy: 'LEAST_REQUEST' },
      connectTimeoutMs: 1000,
      requestTimeoutMs: 10000,
      retries: { attempts: 2, perTryTimeoutMs: 3000, retryOn: ['gateway-error', 'reset'] },
      circuitBreakers: { maxConnections: 512, maxRequests: 1024 },
      outlierDetection: { consecutive5xx: 3, intervalMs: 5000, baseEjectionTimeMs: 30000, maxEjectionPercent: 30 },
      tls: { sni: 'reviews.shop.svc' },
      trafficSplit: {
        label: 'version',
        subsets: [
          { value: 'v1', weight: 80 },
          { value: 'v2', weight: 20 },
        ],
      },
    },
  ],
];

describe('parsePolicy accepts', () => {
  it.each(VALID_EXAMPLES)('%s', (_name, policy) => {
    const text = JSON.stringify(policy, null, 2);
    expect(accepted(parsePolicy(text))).toEqual(policy);
    expect(accepted(parsePolicy(Buffer.from(text)))).toEqual(policy);
  });

  it.each([
    ['empty data', Buffer.alloc(0)],
    ['whitespace', ' \n'],
    ['an empty object', '{}'],
  ])('%s as EMPTY_POLICY', (_name, data) => {
    expect(accepted(parsePolicy(data))).toBe(EMPTY_POLICY);
  });

  it('a leading byte order mark', () => {
    expect(accepted(parsePolicy(Buffer.from('\uFEFF{"protocol":"http"}')))).toEqual({ protocol: 'http' });
  });

  it('exactly 64 KiB', () => {
    const text = `{"port": 80}${' '.repeat(MAX_POLICY_BYTES - 12)}`;
    expect(Buffer.byteLength(text)).toBe(MAX_POLICY_BYTES);
    expect(accepted(parsePolicy(text))).toEqual({ port: 80 });
  });

  it('and freezes the result, since every reader shares it', () => {
    const policy = accepted(parsePolicy('{"retries": {"attempts": 1, "retryOn": ["5xx"]}}'));
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.retries?.retryOn)).toBe(true);
  });
});

const json = (value: unknown): string => JSON.stringify(value);
const lb = (loadBalancing: object): string => json({ loadBalancing });
const split = (...subsets: Array<[string, number]>): string =>
  json({ trafficSplit: { label: 'version', subsets: subsets.map(([value, weight]) => ({ value, weight })) } });

// [case, data, the JSON pointer(s) reported]
const INVALID_CASES: Array<[string, string | Buffer, string[]]> = [
  ['unknown field (typo)', json({ conectTimeoutMs: 1000 }), ['/conectTimeoutMs']],
  ['unknown nested field', json({ retries: { attempts: 1, retryOnn: ['5xx'] } }), ['/retries/retryOnn']],
  ['unknown field with a / in its name', json({ 'a/b': 1 }), ['/a~1b']],
  ['port as a string', json({ port: '8080' }), ['/port']],
  ['timeout as a fraction', json({ connectTimeoutMs: 1.5 }), ['/connectTimeoutMs']],
  ['retries as a number', json({ retries: 3 }), ['/retries']],
  ['retryOn as a string', json({ retries: { attempts: 1, retryOn: '5xx' } }), ['/retries/retryOn']],
  ['sourceIp false', lb({ policy: 'MAGLEV', hashOn: { sourceIp: false } }), ['/loadBalancing/hashOn/sourceIp']],
  ['protocol udp', json({ protocol: 'udp' }), ['/protocol']],
  ['port 0', json({ port: 0 }), ['/port']],
  ['port 70000', json({ port: 70000 }), ['/port']],
  ['negative connect timeout', json({ connectTimeoutMs: -1 }), ['/connectTimeoutMs']],
  ['zero connect timeout', json({ connectTimeoutMs: 0 }), ['/connectTimeoutMs']],
  ['negative request timeout', json({ requestTimeoutMs: -5 }), ['/requestTimeoutMs']],
  ['negative per-try timeout', json({ retries: { attempts: 1, perTryTimeoutMs: -1 } }), ['/retries/perTryTimeoutMs']],
  ['a timeout of more than a day', json({ requestTimeoutMs: 90_000_000 }), ['/requestTimeoutMs']],
  ['11 retry attempts', json({ retries: { attempts: 11 } }), ['/retries/attempts']],
  ['retries without attempts', json({ retries: { retryOn: ['5xx'] } }), ['/retries/attempts']],
  ['bad retryOn token', json({ retries: { attempts: 2, retryOn: ['5xx', '503'] } }), ['/retries/retryOn/1']],
  ['duplicate retryOn token', json({ retries: { attempts: 2, retryOn: ['reset', 'reset'] } }), ['/retries/retryOn/1']],
  [
    'per-try timeout above the request timeout',
    json({ requestTimeoutMs: 1000, retries: { attempts: 2, perTryTimeoutMs: 2000 } }),
    ['/retries/perTryTimeoutMs'],
  ],
  ['maxEjectionPercent 101', json({ outlierDetection: { maxEjectionPercent: 101 } }), ['/outlierDetection/maxEjectionPercent']],
  [
    'failure percentage threshold 101',
    json({ outlierDetection: { failurePercentage: { threshold: 101 } } }),
    ['/outlierDetection/failurePercentage/threshold'],
  ],
  ['success rate minimumHosts 0', json({ outlierDetection: { successRate: { minimumHosts: 0 } } }), ['/outlierDetection/successRate/minimumHosts']],
  ['unknown success-rate field', json({ outlierDetection: { successRate: { stdev: 2 } } }), ['/outlierDetection/successRate/stdev']],
  ['maxConnections 0', json({ circuitBreakers: { maxConnections: 0 } }), ['/circuitBreakers/maxConnections']],
  ['lb policy missing', lb({ hashOn: { sourceIp: true } }), ['/loadBalancing/policy']],
  ['unknown lb policy', lb({ policy: 'WEIGHTED' }), ['/loadBalancing/policy']],
  ['hashOn with ROUND_ROBIN', lb({ policy: 'ROUND_ROBIN', hashOn: { header: 'x-user-id' } }), ['/loadBalancing/hashOn']],
  ['hashOn with both header and sourceIp', lb({ policy: 'RING_HASH', hashOn: { header: 'x-user-id', sourceIp: true } }), ['/loadBalancing/hashOn']],
  ['hashOn empty', lb({ policy: 'RING_HASH', hashOn: {} }), ['/loadBalancing/hashOn']],
  ['hash header with a space', lb({ policy: 'RING_HASH', hashOn: { header: 'x user' } }), ['/loadBalancing/hashOn/header']],
  [
    'hash on a header over tcp',
    json({ protocol: 'tcp', loadBalancing: { policy: 'MAGLEV', hashOn: { header: 'x-user-id' } } }),
    ['/loadBalancing/hashOn/header'],
  ],
  ['ring sizes inverted', lb({ policy: 'RING_HASH', ringMinSize: 4096, ringMaxSize: 1024 }), ['/loadBalancing/ringMinSize']],
  ['ring size with MAGLEV', lb({ policy: 'MAGLEV', ringMinSize: 1024 }), ['/loadBalancing/ringMinSize']],
  ['choiceCount with ROUND_ROBIN', lb({ policy: 'ROUND_ROBIN', choiceCount: 2 }), ['/loadBalancing/choiceCount']],
  ['choiceCount 1', lb({ policy: 'LEAST_REQUEST', choiceCount: 1 }), ['/loadBalancing/choiceCount']],
  ['SNI that is not a host name', json({ tls: { sni: 'https://payments' } }), ['/tls/sni']],
  ['split weights summing to 90', split(['v1', 80], ['v2', 10]), ['/trafficSplit/subsets']],
  ['split weights summing to 110', split(['v1', 100], ['v2', 10]), ['/trafficSplit/subsets']],
  ['split weight 0', split(['v1', 100], ['v2', 0]), ['/trafficSplit/subsets/1/weight']],
  ['duplicate subset values', split(['v1', 50], ['v1', 50]), ['/trafficSplit/subsets/1/value']],
  ['no subsets', split(), ['/trafficSplit/subsets']],
  ['subset without a weight', json({ trafficSplit: { label: 'version', subsets: [{ value: 'v1' }] } }), ['/trafficSplit/subsets/0/weight']],
  ['subset value with a |', split(['v1|v2', 100]), ['/trafficSplit/subsets/0/value']],
  ['mtls without a mode', json({ mtls: {} }), ['/mtls/mode']],
  ['mtls mode in lower case', json({ mtls: { mode: 'strict' } }), ['/mtls/mode']],
  [
    'certificate provider with a space',
    json({ mtls: { mode: 'STRICT', certificateProviders: { identity: 'my cert' } } }),
    ['/mtls/certificateProviders/identity'],
  ],
  [
    'server identity that is not a SPIFFE ID',
    json({ mtls: { mode: 'STRICT', serverIdentities: [{ exact: 'orders.shop' }] } }),
    ['/mtls/serverIdentities/0/exact'],
  ],
  [
    'server identity matcher with both exact and prefix',
    json({ mtls: { mode: 'STRICT', serverIdentities: [{ exact: 'spiffe://a/b', prefix: 'spiffe://a/' }] } }),
    ['/mtls/serverIdentities/0'],
  ],
  ['unknown sdsSecrets field', json({ mtls: { mode: 'STRICT', sdsSecrets: { cert: 'default' } } }), ['/mtls/sdsSecrets/cert']],
  ['authorization without rules', json({ authorization: {} }), ['/authorization/rules']],
  ['rule action allow in lower case', json({ authorization: { rules: [{ action: 'allow' }] } }), ['/authorization/rules/0/action']],
  [
    'rule with an empty principal list',
    json({ mtls: { mode: 'STRICT' }, authorization: { rules: [{ action: 'ALLOW', from: { principals: [] } }] } }),
    ['/authorization/rules/0/from/principals'],
  ],
  [
    'rule on a caller without mTLS',
    json({ authorization: { rules: [{ action: 'DENY' }, { action: 'ALLOW', from: { principals: [{ exact: 'spiffe://a/b' }] } }] } }),
    ['/authorization/rules/1/from'],
  ],
  ['rule with an empty to', json({ authorization: { rules: [{ action: 'DENY', to: {} }] } }), ['/authorization/rules/0/to']],
  [
    'rule on a method without a service',
    json({ authorization: { rules: [{ action: 'DENY', to: { methods: ['Delete'] } }] } }),
    ['/authorization/rules/0/to/methods/0'],
  ],
  [
    'rule on a path without a leading /',
    json({ authorization: { rules: [{ action: 'DENY', to: { paths: [{ prefix: 'admin' }] } }] } }),
    ['/authorization/rules/0/to/paths/0/prefix'],
  ],
  [
    'header match with two conditions',
    json({ authorization: { rules: [{ action: 'DENY', to: { headers: [{ name: 'x-a', exact: 'b', present: true }] } }] } }),
    ['/authorization/rules/0/to/headers/0'],
  ],
  ['truncated JSON', '{"retries": {"attempts": 3', ['']],
  ['JSON with a stray token', '{"port": }', ['']],
  ['an array', '[{"port": 80}]', ['']],
  ['a string', '"grpc"', ['']],
  ['null', 'null', ['']],
  ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), ['']],
  ['more than 64 KiB', `{"port": 80}${' '.repeat(MAX_POLICY_BYTES)}`, ['']],
];

describe('the README policy table', () => {
  it('holds only examples that parsePolicy accepts', () => {
    const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('| field | example | what it does |')).split('\n\n')[0]!;
    const examples = table.split('\n').flatMap((row) => /^\|[^|]*\| `(\{.*?\})` \|/.exec(row)?.[1] ?? []);
    expect(examples.length).toBeGreaterThan(20);
    for (const example of examples) expect([example, messagesOf(parsePolicy(example))]).toEqual([example, '']);
  });
});

describe('parsePolicy rejects', () => {
  it.each(INVALID_CASES)('%s', (_name, data, fields) => {
    expect(fieldsOf(parsePolicy(data))).toEqual(fields);
  });

  it('every bad field at once, and nothing of the valid ones', () => {
    const result = parsePolicy(json({ protocol: 'udp', port: 80, retries: { attempts: 11 }, tls: { snii: 'x' } }));
    expect(fieldsOf(result).sort()).toEqual(['/protocol', '/retries/attempts', '/tls/snii']);
  });

  it.each([
    ['a typo, suggesting the field meant', json({ conectTimeoutMs: 1 }), /\/conectTimeoutMs: is not a known field; did you mean "connectTimeoutMs"\?/],
    ['an unknown field, listing the allowed ones', json({ tls: { serverName: 'a' } }), /\/tls\/serverName: is not a known field; allowed here: sni/],
    ['a bad enum value, listing the allowed ones', json({ protocol: 'udp' }), /\/protocol: "udp" is not one of: http, grpc, tcp/],
    ['a bound', json({ retries: { attempts: 11 } }), /\/retries\/attempts: must be <= 10 \(got 11\)/],
    ['a wrong type', json({ port: '8080' }), /\/port: must be an integer, not a string/],
    ['a split sum', split(['v1', 80], ['v2', 10]), /weights add up to 90, must add up to 100/],
    ['the lb policy a hash does not fit', lb({ policy: 'ROUND_ROBIN', hashOn: { sourceIp: true } }), /only applies to RING_HASH and MAGLEV, not ROUND_ROBIN/],
    [
      'a matcher with two fields',
      json({ mtls: { mode: 'STRICT', serverIdentities: [{ exact: 'spiffe://a/b', prefix: 'spiffe://a/' }] } }),
      /\/mtls\/serverIdentities\/0: must have exactly one of "exact" or "prefix"/,
    ],
    [
      'a header match with none',
      json({ authorization: { rules: [{ action: 'DENY', to: { headers: [{ name: 'x-a' }] } }] } }),
      /must have exactly one of "exact", "prefix" or "present" \(besides "name"\)/,
    ],
    [
      'a caller rule without mTLS',
      json({ authorization: { rules: [{ action: 'ALLOW', from: { principals: [{ prefix: 'spiffe://a/' }] } }] } }),
      /\/authorization\/rules\/0\/from: matches callers by certificate, which needs mtls mode PERMISSIVE or STRICT/,
    ],
    ['a SPIFFE ID', json({ mtls: { mode: 'STRICT', serverIdentities: [{ prefix: 'https://a/' }] } }), /"https:\/\/a\/" is not a SPIFFE ID/],
    ['the size limit', 'x'.repeat(MAX_POLICY_BYTES + 1), /is 65537 bytes, more than the 65536 allowed/],
  ])('explaining %s', (_name, data, message) => {
    expect(messagesOf(parsePolicy(data))).toMatch(message);
  });

  it('without echoing the payload', () => {
    const secret = `s3cr3t-${'k'.repeat(500)}`;
    for (const data of [json({ tls: { sni: secret } }), json({ [secret]: 1 }), `{"token": "${secret}", "port": }`, `{"port": 80, "x": "${secret}`]) {
      const text = messagesOf(parsePolicy(data));
      expect(text).not.toBe('');
      expect(text).not.toContain('k'.repeat(65));
    }
  });

  it('summarising a flood of errors', () => {
    const garbage = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`unknown${i}`, i]));
    const result = parsePolicy(json(garbage));
    if (result.ok) throw new Error('accepted');
    expect(result.errors).toHaveLength(21);
    expect(result.errors[20]).toEqual({ field: '', message: 'and 80 more errors' });
  });
});

describe('samePolicy', () => {
  const canary: ServicePolicy = {
    trafficSplit: {
      label: 'version',
      subsets: [
        { value: 'v1', weight: 90 },
        { value: 'v2', weight: 10 },
      ],
    },
  };

  it('compares structure, not identity or key order', () => {
    expect(samePolicy(canary, JSON.parse(JSON.stringify(canary)) as ServicePolicy)).toBe(true);
    expect(samePolicy({ port: 80, protocol: 'http' }, { protocol: 'http', port: 80 })).toBe(true);
    expect(samePolicy({ port: 80, tls: undefined }, { port: 80 })).toBe(true);
    expect(samePolicy(EMPTY_POLICY, {})).toBe(true);
  });

  it('sees any difference', () => {
    const shifted: ServicePolicy = {
      trafficSplit: {
        label: 'version',
        subsets: [
          { value: 'v1', weight: 80 },
          { value: 'v2', weight: 20 },
        ],
      },
    };
    expect(samePolicy(canary, shifted)).toBe(false);
    expect(samePolicy({ tls: {} }, EMPTY_POLICY)).toBe(false);
    expect(samePolicy({ retries: { attempts: 1, retryOn: ['5xx'] } }, { retries: { attempts: 1, retryOn: ['5xx', 'reset'] } })).toBe(false);
  });
});
