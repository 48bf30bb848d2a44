// The registry-agnostic model of a service's traffic policy, and its parser. Operators write
// the policy as JSON; parsePolicy accepts or rejects it as a whole (a half-applied policy is
// worse than the previous one), naming each bad field by its JSON pointer.
import { Ajv, type ErrorObject } from 'ajv';
import { MAX_POLICY_BYTES, PATTERNS, POLICY_SCHEMA } from './policy-schema.js';

export type Protocol = 'http' | 'grpc' | 'tcp';
export type LbPolicyName = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV';

export interface LoadBalancing {
  policy: LbPolicyName;
  /** RING_HASH and MAGLEV only. */
  hashOn?: { header: string } | { sourceIp: true };
  /** RING_HASH only. */
  ringMinSize?: number;
  /** RING_HASH only. */
  ringMaxSize?: number;
  /** LEAST_REQUEST only. */
  choiceCount?: number;
}

export interface ServicePolicy {
  protocol?: Protocol;
  /** Port sidecars listen on for this service (1..65535). */
  port?: number;
  loadBalancing?: LoadBalancing;
  /** > 0 */
  connectTimeoutMs?: number;
  /** >= 0; 0 = no timeout. */
  requestTimeoutMs?: number;
  /** retryOn holds Envoy retry_on tokens (RETRY_ON_TOKENS). */
  retries?: { attempts: number; perTryTimeoutMs?: number; retryOn?: string[] };
  circuitBreakers?: { maxConnections?: number; maxPendingRequests?: number; maxRequests?: number; maxRetries?: number };
  outlierDetection?: {
    consecutive5xx?: number;
    intervalMs?: number;
    baseEjectionTimeMs?: number;
    maxEjectionPercent?: number;
    /** Success-rate ejection (Envoy and gRPC); enforcingPercent 0 turns it off. */
    successRate?: { enforcingPercent?: number; minimumHosts?: number; requestVolume?: number; stdevFactor?: number };
    /** Failure-percentage ejection (Envoy and gRPC); on when this is set, unless enforcingPercent is 0. */
    failurePercentage?: { enforcingPercent?: number; threshold?: number; minimumHosts?: number; requestVolume?: number };
  };
  /** Originate TLS to the upstream; sni defaults to the service name at translation time. */
  tls?: { sni?: string };
  /** Split by an instance metadata label; weights 1..100 summing to 100, values unique. */
  trafficSplit?: { label: string; subsets: Array<{ value: string; weight: number }> };
  mtls?: MtlsPolicy;
  authorization?: AuthorizationPolicy;
}

/** Names used when the policy leaves them out: gRPC's and SPIRE's usual ones. */
export const MTLS_DEFAULTS = {
  identityProvider: 'default',
  caProvider: 'default',
  sdsCertificate: 'default',
  sdsValidationContext: 'ROOTCA',
  sdsCluster: 'spire_agent',
} as const;

export type MtlsMode = 'DISABLE' | 'PERMISSIVE' | 'STRICT';

/** Exactly one of the two. */
export type StringMatch = { exact: string } | { prefix: string };

/** Mutual TLS between callers and the service (one document for proxyless gRPC and Envoy). */
export interface MtlsPolicy {
  mode: MtlsMode;
  /** Proxyless gRPC: certificate_providers instances in the node's bootstrap (defaults: MTLS_DEFAULTS). */
  certificateProviders?: { identity?: string; ca?: string };
  /** Envoy: SDS secret names, fetched from the cluster `sdsCluster` of Envoy's bootstrap (defaults: MTLS_DEFAULTS). */
  sdsSecrets?: { certificate?: string; validationContext?: string; sdsCluster?: string };
  /** SANs (SPIFFE IDs) a caller accepts from the service's servers; any one matches. None: any certificate of the CA. */
  serverIdentities?: StringMatch[];
}

export type HeaderMatch = { name: string } & ({ exact: string } | { prefix: string } | { present: true });

export interface AuthorizationRule {
  action: 'ALLOW' | 'DENY';
  /** Callers whose certificate's URI SAN matches one of these; absent: any caller. */
  from?: { principals: StringMatch[] };
  /** Calls to one of the methods or paths, carrying all the headers; absent: any call. */
  to?: { methods?: string[]; paths?: StringMatch[]; headers?: HeaderMatch[] };
}

/** RBAC: a call matching a DENY rule is refused; else, when ALLOW rules exist, it needs to match one. */
export interface AuthorizationPolicy {
  rules: AuthorizationRule[];
}

export interface PolicyFieldError {
  /** JSON pointer of the offending field, e.g. `/retries/attempts`; `` (empty) is the whole document. */
  field: string;
  message: string;
}

export type PolicyParse = { ok: true; policy: ServicePolicy } | { ok: false; errors: PolicyFieldError[] };

export const EMPTY_POLICY: ServicePolicy = Object.freeze({});

/** Beyond this many errors the rest are summarised: a garbage document needs no itemised list. */
const MAX_REPORTED_ERRORS = 20;
/** Names and values quoted in messages are cut to this: enough to recognise, never a payload. */
const MAX_QUOTED_CHARS = 64;

// Compiled once at import. verbose: errors carry the failing value and the parent schema, used to
// quote short values and to suggest the allowed field names.
const validateSchema = new Ajv({ allErrors: true, verbose: true, strict: true }).compile<ServicePolicy>(POLICY_SCHEMA);

// fatal: invalid UTF-8 is rejected rather than silently turned into U+FFFD.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses and validates one policy document. Pure; empty data or `{}` is EMPTY_POLICY. */
export function parsePolicy(data: Buffer | string): PolicyParse {
  const size = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
  if (size > MAX_POLICY_BYTES) return rejected('', `is ${size} bytes, more than the ${MAX_POLICY_BYTES} allowed`);
  const text = typeof data === 'string' ? data : decodeUtf8(data);
  if (text === undefined) return rejected('', 'is not valid UTF-8');
  if (text.trim() === '') return { ok: true, policy: EMPTY_POLICY };
  const parsed = parseJson(text);
  if (!parsed.ok) return parsed;
  if (!validateSchema(parsed.value)) return { ok: false, errors: capped((validateSchema.errors ?? []).map(describeSchemaError)) };
  const semantic = crossFieldErrors(parsed.value);
  if (semantic.length > 0) return { ok: false, errors: capped(semantic) };
  return { ok: true, policy: Object.keys(parsed.value).length === 0 ? EMPTY_POLICY : deepFreeze(parsed.value) };
}

/** Structural equality; a field set to undefined counts as absent. */
export function samePolicy(a: ServicePolicy, b: ServicePolicy): boolean {
  return sameJson(a, b);
}

function rejected(field: string, message: string): PolicyParse {
  return { ok: false, errors: [{ field, message }] };
}

function decodeUtf8(data: Buffer): string | undefined {
  try {
    // A leading BOM is what some editors write; JSON.parse would reject it.
    return strictUtf8.decode(data).replace(/^\uFEFF/, '');
  } catch {
    return undefined;
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; errors: PolicyFieldError[] } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    // V8's own message quotes the input, which may be long or hold secrets: keep only where it broke.
    const position = /position (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
    const where = position !== undefined ? ` (syntax error at character ${position})` : ' (malformed or truncated)';
    return { ok: false, errors: [{ field: '', message: `is not valid JSON${where}` }] };
  }
}

// ---------------------------------------------------------------------------------------------
// Schema errors, rewritten for operators

function describeSchemaError(error: ErrorObject): PolicyFieldError {
  const field = error.instancePath;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const allowed = Object.keys((error.parentSchema?.properties as object | undefined) ?? {});
      const guess = closestName(name, allowed);
      const hint = guess ? `; did you mean "${guess}"?` : allowed.length > 0 ? `; allowed here: ${allowed.join(', ')}` : '';
      return { field: `${field}/${escapePointer(quote(name))}`, message: `is not a known field${hint}` };
    }
    case 'required':
      return { field: `${field}/${escapePointer(String(params.missingProperty))}`, message: 'is required' };
    case 'type':
      return { field, message: field === '' ? 'the policy must be a JSON object' : `must be ${article(String(params.type))}, not ${kindOf(error.data)}` };
    case 'enum':
      return { field, message: `${describeValue(error.data)} is not one of: ${(params.allowedValues as unknown[]).join(', ')}` };
    case 'const':
      return { field, message: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'pattern':
      return { field, message: `${describeValue(error.data)} is not ${patternMeaning(String(params.pattern))}` };
    case 'minProperties':
    case 'maxProperties':
      return { field, message: propertyCountMessage(error) };
    case 'uniqueItems': {
      // ajv reports the later of the two equal items as `i`: point at the one to remove.
      const index = Number(params.i);
      const item: unknown = Array.isArray(error.data) ? error.data[index] : undefined;
      return { field: `${field}/${index}`, message: `${describeValue(item)} is listed twice` };
    }
    default:
      // ajv's own wording is clear for bounds: "must be <= 10", "must NOT have fewer than 1 items".
      return { field, message: `${error.message ?? 'is invalid'}${isScalar(error.data) ? ` (got ${describeValue(error.data)})` : ''}` };
  }
}

/** hashOn, string matchers, header matches and `to` bound how many of their fields are set. */
function propertyCountMessage(error: ErrorObject): string {
  const schema = error.parentSchema as { properties?: object; required?: string[]; maxProperties?: number } | undefined;
  const required = new Set(schema?.required ?? []);
  const choices = Object.keys(schema?.properties ?? {})
    .filter((k) => !required.has(k))
    .map((k) => `"${k}"`);
  const list = choices.length <= 2 ? choices.join(' or ') : `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`;
  const exactlyOne = schema?.maxProperties !== undefined;
  return `${exactlyOne ? 'must have exactly one of' : 'must have at least one of'} ${list}${required.size > 0 ? ` (besides ${[...required].map((r) => `"${r}"`).join(', ')})` : ''}`;
}

function patternMeaning(regex: string): string {
  return Object.values(PATTERNS).find((p) => p.regex === regex)?.means ?? `matching ${regex}`;
}

/** Suggests the allowed name a typo most likely meant (at most 2 edits away). */
function closestName(name: string, allowed: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3; // cheap bail-out: only small distances matter
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

// ---------------------------------------------------------------------------------------------
// Checks that relate fields to each other (the schema has accepted each field on its own)

function crossFieldErrors(policy: ServicePolicy): PolicyFieldError[] {
  return [...loadBalancingErrors(policy), ...retryErrors(policy), ...trafficSplitErrors(policy), ...authorizationErrors(policy)];
}

/**
 * A rule on caller identity matches only callers that presented a certificate: with mTLS off no
 * caller ever does, so an ALLOW rule would refuse every call and a DENY rule would never apply.
 */
function authorizationErrors(policy: ServicePolicy): PolicyFieldError[] {
  const mode = policy.mtls?.mode ?? 'DISABLE';
  if (mode !== 'DISABLE') return [];
  return (policy.authorization?.rules ?? []).flatMap((rule, i) =>
    rule.from
      ? [
          {
            field: `/authorization/rules/${i}/from`,
            message: 'matches callers by certificate, which needs mtls mode PERMISSIVE or STRICT (plaintext callers have no identity)',
          },
        ]
      : [],
  );
}

const HASHING_POLICIES: readonly LbPolicyName[] = ['RING_HASH', 'MAGLEV'];

function loadBalancingErrors(policy: ServicePolicy): PolicyFieldError[] {
  const lb = policy.loadBalancing;
  if (!lb) return [];
  const errors: PolicyFieldError[] = [];
  // Envoy would ignore these silently under another policy; say so instead.
  if (lb.hashOn && !HASHING_POLICIES.includes(lb.policy)) {
    errors.push({ field: '/loadBalancing/hashOn', message: `only applies to RING_HASH and MAGLEV, not ${lb.policy}` });
  }
  for (const key of ['ringMinSize', 'ringMaxSize'] as const) {
    if (lb[key] !== undefined && lb.policy !== 'RING_HASH') {
      errors.push({ field: `/loadBalancing/${key}`, message: `only applies to RING_HASH, not ${lb.policy}` });
    }
  }
  if (lb.choiceCount !== undefined && lb.policy !== 'LEAST_REQUEST') {
    errors.push({ field: '/loadBalancing/choiceCount', message: `only applies to LEAST_REQUEST, not ${lb.policy}` });
  }
  if (lb.ringMinSize !== undefined && lb.ringMaxSize !== undefined && lb.ringMinSize > lb.ringMaxSize) {
    errors.push({ field: '/loadBalancing/ringMinSize', message: `must be <= ringMaxSize (${lb.ringMaxSize}), got ${lb.ringMinSize}` });
  }
  if (lb.hashOn && 'header' in lb.hashOn && policy.protocol === 'tcp') {
    errors.push({ field: '/loadBalancing/hashOn/header', message: 'needs protocol http or grpc: tcp traffic has no headers' });
  }
  return errors;
}

function retryErrors(policy: ServicePolicy): PolicyFieldError[] {
  const perTry = policy.retries?.perTryTimeoutMs;
  const overall = policy.requestTimeoutMs;
  // requestTimeoutMs 0 means no overall timeout, so any per-try timeout fits in it.
  if (perTry === undefined || overall === undefined || overall === 0 || perTry <= overall) return [];
  return [{ field: '/retries/perTryTimeoutMs', message: `must be <= requestTimeoutMs (${overall}), got ${perTry}` }];
}

function trafficSplitErrors(policy: ServicePolicy): PolicyFieldError[] {
  const subsets = policy.trafficSplit?.subsets;
  if (!subsets) return [];
  const errors: PolicyFieldError[] = [];
  const firstIndex = new Map<string, number>();
  subsets.forEach((subset, i) => {
    const earlier = firstIndex.get(subset.value);
    if (earlier === undefined) firstIndex.set(subset.value, i);
    else errors.push({ field: `/trafficSplit/subsets/${i}/value`, message: `"${subset.value}" is already used by subset ${earlier}` });
  });
  const total = subsets.reduce((sum, s) => sum + s.weight, 0);
  if (total !== 100) errors.push({ field: '/trafficSplit/subsets', message: `weights add up to ${total}, must add up to 100` });
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function capped(errors: PolicyFieldError[]): PolicyFieldError[] {
  const seen = new Set<string>();
  const unique = errors.filter((e) => {
    const key = `${e.field}\n${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (unique.length <= MAX_REPORTED_ERRORS) return unique;
  const rest = unique.length - MAX_REPORTED_ERRORS;
  return [...unique.slice(0, MAX_REPORTED_ERRORS), { field: '', message: `and ${rest} more error${rest === 1 ? '' : 's'}` }];
}

function quote(text: string): string {
  return text.length <= MAX_QUOTED_CHARS ? text : `${text.slice(0, MAX_QUOTED_CHARS)}...`;
}

/** RFC 6901: `~` and `/` in a field name must be escaped to keep the pointer unambiguous. */
function escapePointer(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(quote(value));
  return isScalar(value) ? String(value) : kindOf(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? `${value}` : `a fraction (${value})`;
  return article(typeof value);
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  const aRecord = a as Record<string, unknown>;
  const bRecord = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(aRecord), ...Object.keys(bRecord)]);
  return [...keys].every((k) => sameJson(aRecord[k], bRecord[k]));
}

/** Policies are shared by every reader; freezing makes an accidental edit fail loudly. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
