// Apache Dubbo 2.x interface-level providers: `/dubbo/<interface>/providers/<znode>` where the
// znode name is a URL-encoded provider URL, `dubbo://10.0.0.1:20880/org.example.Greeter?k=v&..`,
// and the data is empty or the provider's IP. Everything the mesh needs is in the URL: protocol,
// host, port, `group`, `version`, `weight`, `enabled`/`disabled`, `application`, `side`; every
// other parameter is kept as instance metadata (which of it becomes ServiceEntry labels is decided
// by translate/endpoint-labels.ts). Nothing has to be added by the provider.
import type { Instance } from '../../catalog/model.js';
import { accept, checkInteger, checkIpLiteral, checkPort, describeValue, localityFromPairs, reject, zoneIdNotes, type Checked } from './validate-fields.js';

/** Dubbo's own default provider weight (RandomLoadBalance treats a missing weight as 100). */
export const DUBBO_DEFAULT_WEIGHT = 100;
const MAX_DUBBO_WEIGHT = 1_000_000;

/** Parameters that become fields rather than labels. */
const FIELD_PARAMS = new Set(['weight', 'enabled', 'disabled', 'side']);

export interface DubboProvider {
  readonly protocol: string;
  readonly group: string;
  readonly version: string;
  readonly application: string;
  readonly instance: Instance;
}

/** `key=value&key2&key3=` to pairs; a key without `=` is a flag (empty value); the last repeat wins. */
function parseQuery(query: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = safeDecode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : safeDecode(part.slice(eq + 1));
    if (key !== '') params.set(key, value);
  }
  return params;
}

/** Values are sometimes encoded twice (`methods=a%2Cb`); one more decoding is tried, never required. */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

interface UrlParts {
  readonly protocol: string;
  readonly host: string;
  readonly port: string;
  readonly path: string;
  readonly query: string;
}

/** `proto://[user:pw@]host:port/path?query`, with IPv6 hosts in brackets. */
function splitUrl(url: string): Checked<UrlParts> {
  // An IPv6 host may carry a zone id (`[fe80::1%eth0]`); checkIpLiteral removes it.
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(?:[^@/?]*@)?(\[[0-9a-fA-F:.]+(?:%[^\]/?]+)?\]|[^:/?]*)(?::([^/?]*))?(\/[^?]*)?(?:\?(.*))?$/s.exec(url);
  if (!m) return reject(`znode name ${describeValue(url)} is not a provider url (protocol://host:port/interface?params)`);
  return accept({ protocol: m[1]!.toLowerCase(), host: m[2]!, port: m[3] ?? '', path: m[4] ?? '', query: m[5] ?? '' });
}

function isFalse(value: string | undefined): boolean {
  return value !== undefined && value.toLowerCase() === 'false';
}
function isTrue(value: string | undefined): boolean {
  return value !== undefined && (value === '' || value.toLowerCase() === 'true');
}

export function parseDubboProvider(znodeName: string, data: Buffer | null): Checked<DubboProvider> {
  let url: string;
  try {
    url = decodeURIComponent(znodeName);
  } catch {
    return reject('znode name is not valid URL encoding');
  }
  const parts = splitUrl(url);
  if (!parts.ok) return parts;
  const { protocol, query } = parts.value;
  if (protocol === 'empty' || protocol === 'consumer' || protocol === 'override' || protocol === 'route') {
    return reject(`${protocol}:// url is not a provider`);
  }
  const params = parseQuery(query);
  const side = params.get('side');
  if (side !== undefined && side !== '' && side !== 'provider') return reject(`side ${describeValue(side)} is not provider`);
  // The URL names the host; some registrars leave a hostname there and put the IP in the data.
  let address = checkIpLiteral('host', parts.value.host);
  let rawAddress = parts.value.host;
  if (!address.ok) {
    const fromData = data?.toString('utf8').trim() ?? '';
    if (fromData === '') return address;
    address = checkIpLiteral('data', fromData);
    if (!address.ok) return address;
    rawAddress = fromData;
  }
  const port = checkPort('port', parts.value.port === '' ? undefined : parts.value.port);
  if (!port.ok) return port;
  const weightText = params.get('weight');
  let weight = DUBBO_DEFAULT_WEIGHT;
  if (weightText !== undefined) {
    const checked = checkInteger('weight', weightText, 0, MAX_DUBBO_WEIGHT);
    if (!checked.ok) return checked;
    weight = checked.value;
  }
  // weight=0 is Dubbo's way to drain a provider: registered, takes no traffic (as in every format).
  const healthy = !isFalse(params.get('enabled')) && !isTrue(params.get('disabled')) && weight > 0;
  const group = params.get('group') ?? '';
  const version = params.get('version') ?? '';
  const application = params.get('application') ?? '';
  // Built through a Map: a `__proto__` parameter must stay data, never become a prototype.
  const labels = new Map<string, string>();
  for (const [key, value] of params) if (!FIELD_PARAMS.has(key)) labels.set(key, value);
  labels.set('protocol', protocol);
  const notes = zoneIdNotes(rawAddress);
  return accept({
    protocol,
    group,
    version,
    application,
    instance: {
      id: `${address.value}:${port.value}`,
      address: address.value,
      port: port.value,
      weight,
      healthy,
      locality: localityFromPairs(params),
      metadata: Object.fromEntries(labels),
      ...(notes.length > 0 ? { notes } : {}),
    },
  });
}
