// Who is on the other end of an mTLS xDS stream, and which node cluster it may claim. The identity
// of a client certificate is its first URI SAN (a SPIFFE ID, spiffe://<td>/ns/<ns>/sa/<sa>), else
// its first DNS SAN, else its subject CN. By default a client may claim only the node cluster equal
// to its identity's name part (the service account of a SPIFFE ID, the last path segment of another
// URI, the DNS name, the CN), the way istiod ties a proxy's identity to what it says it is. An
// identities file (--xds-identities-file) lets more identities claim more clusters.
import type { PeerCertificate } from 'node:tls';
import { Ajv, type ErrorObject } from 'ajv';

export interface PeerIdentity {
  /** The identity string: a URI, a DNS name or a CN. */
  readonly id: string;
  readonly source: 'uri' | 'dns' | 'cn';
  /** What the default rule compares with node.cluster. */
  readonly name: string;
}

/** Entries of Node's `subjectaltname` string ("DNS:a, URI:spiffe://..."); values with special characters come JSON-quoted. */
export function parseSubjectAltNames(san: string | undefined): Array<{ type: string; value: string }> {
  const out: Array<{ type: string; value: string }> = [];
  if (!san) return out;
  const entry = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:,\s*|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = entry.exec(san)) !== null && m[0] !== '') {
    let value = m[2]!;
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        // Left quoted: it then matches nothing.
      }
    }
    out.push({ type: m[1]!.trim(), value });
  }
  return out;
}

/** The name part of a URI identity: a SPIFFE ID's service account, else the last path segment. */
function nameOfUri(uri: string): string {
  const sa = /^spiffe:\/\/[^/]+\/ns\/[^/]+\/sa\/([^/]+)$/.exec(uri);
  if (sa) return sa[1]!;
  const segments = uri
    .replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '')
    .split('/')
    .filter((s) => s !== '');
  return segments.at(-1) ?? '';
}

/** The identity of a verified peer certificate; null when it names nothing usable. */
export function peerIdentity(cert: Pick<PeerCertificate, 'subjectaltname' | 'subject'> | undefined): PeerIdentity | null {
  if (!cert) return null;
  const sans = parseSubjectAltNames(cert.subjectaltname);
  const uri = sans.find((s) => s.type === 'URI');
  if (uri) return { id: uri.value, source: 'uri', name: nameOfUri(uri.value) };
  const dns = sans.find((s) => s.type === 'DNS');
  if (dns) return { id: dns.value, source: 'dns', name: dns.value };
  const cn = cert.subject?.CN;
  const cnValue = Array.isArray(cn) ? cn[0] : cn;
  if (cnValue) return { id: cnValue, source: 'cn', name: cnValue };
  return null;
}

/** Which node clusters identities may claim beyond their own name ("*": any). */
export class IdentityPolicy {
  constructor(private readonly mapped: ReadonlyMap<string, ReadonlySet<string>> = new Map()) {}

  allows(identity: PeerIdentity, cluster: string): boolean {
    if (cluster !== '' && identity.name === cluster) return true;
    const clusters = this.mapped.get(identity.id);
    return !!clusters && (clusters.has('*') || clusters.has(cluster));
  }

  get size(): number {
    return this.mapped.size;
  }
}

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['identities'],
  properties: {
    identities: {
      type: 'object',
      description: 'identity (URI SAN, DNS SAN or CN) -> node clusters it may claim ("*": any)',
      propertyNames: { minLength: 1 },
      additionalProperties: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: true }).compile(SCHEMA);

function describeError(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(top level)' : e.instancePath.slice(1).replace(/\//g, '.');
  if (e.keyword === 'additionalProperties' && e.params.additionalProperty) return `${where}: unknown field "${String(e.params.additionalProperty)}"`;
  return `${where}: ${e.message ?? 'invalid'}`;
}

/** Validates parsed identities data; throws one error naming every bad field. */
export function identityPolicyFrom(data: unknown, origin: string): IdentityPolicy {
  if (!validate(data)) throw new Error(`invalid identities in ${origin}: ${[...new Set((validate.errors ?? []).map(describeError))].join('; ')}`);
  const raw = data as { identities: Record<string, string[]> };
  return new IdentityPolicy(new Map(Object.entries(raw.identities).map(([id, clusters]) => [id, new Set(clusters)])));
}
