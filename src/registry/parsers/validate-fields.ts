// Field checks shared by the three registration parsers, so every format rejects the same
// bad value with the same reason. Reasons are short lowercase sentences that name the field
// and (truncated) value, and never echo a whole payload.
import { isIP } from 'node:net';
import { NO_LOCALITY, type Locality } from '../../catalog/model.js';

/** A checked value, or the reason it was rejected. */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export type Rejection = { readonly ok: false; readonly reason: string };

/** A parsed JSON object (never an array or null). */
export type JsonObject = { readonly [key: string]: unknown };

export const MIN_PORT = 1;
export const MAX_PORT = 65535;
/** The weight of an instance that is registered but takes no traffic. */
export const DRAINED_WEIGHT = 0;
export const MAX_WEIGHT = 1_000_000;
export const DEFAULT_WEIGHT = 1;

/** Values longer than this are cut in reasons: enough to recognise, too short to leak much. */
const MAX_ECHOED_CHARS = 64;

export function accept<T>(value: T): Checked<T> {
  return { ok: true, value };
}

export function reject(reason: string): Rejection {
  return { ok: false, reason };
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads an own property only, so keys such as `constructor` never resolve to the prototype. */
export function ownField(object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function isAbsent(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

/** A value as it may appear in a reason: quoted and truncated strings, never whole objects. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(truncate(value));
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return `(${describeKind(value)})`;
}

export function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function truncate(text: string): string {
  // Spread by code point so a surrogate pair is never split in half.
  const chars = [...text];
  return chars.length > MAX_ECHOED_CHARS ? `${chars.slice(0, MAX_ECHOED_CHARS).join('')}…` : text;
}

/**
 * An IP literal, v4 or v6. Brackets around IPv6 are tolerated and removed because the model
 * stores bare addresses. Hostnames are rejected: resolving them is not this layer's job and
 * would make parsing impure.
 */
export function checkIpLiteral(field: string, value: unknown): Checked<string> {
  if (isAbsent(value)) return reject(`${field} is missing`);
  if (typeof value !== 'string') return reject(`${field} ${describeValue(value)} is not a string`);
  if (value === '') return reject(`${field} is empty`);
  const unbracketed = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  const version = isIP(unbracketed);
  if (version === 0 || (version === 4 && unbracketed !== value)) {
    return reject(`${field} ${describeValue(value)} is not an IP literal (hostnames are not resolved)`);
  }
  // An IPv6 zone id (`fe80::1%eth0`) names an interface of the registering host: anywhere else it
  // means nothing, and Envoy, gRPC and Istio reject or misread it. The bare address is kept.
  return accept(version === 6 ? withoutZoneId(unbracketed) : unbracketed);
}

function withoutZoneId(address: string): string {
  const percent = address.indexOf('%');
  return percent < 0 ? address : address.slice(0, percent);
}

/** The instance note saying a zone id was removed from `raw` (empty when there was none). */
export function zoneIdNotes(raw: unknown): string[] {
  if (typeof raw !== 'string') return [];
  const unbracketed = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  if (isIP(unbracketed) !== 6 || !unbracketed.includes('%')) return [];
  return [
    `IPv6 zone id ${describeValue(unbracketed.slice(unbracketed.indexOf('%')))} removed from address ${describeValue(unbracketed)}: it names an interface of the registering host only`,
  ];
}

/**
 * An integer within bounds. Decimal digit strings are accepted as well as numbers because
 * home-grown registries often quote numbers in JSON, and the host:port text form is a string.
 */
export function checkInteger(field: string, value: unknown, min: number, max: number): Checked<number> {
  if (isAbsent(value)) return reject(`${field} is missing`);
  if (value === '') return reject(`${field} is empty`);
  let number: number;
  if (typeof value === 'number') number = value;
  else if (typeof value === 'string' && /^[0-9]+$/.test(value)) number = Number(value);
  else if (typeof value === 'string') return reject(`${field} ${describeValue(value)} is not an integer`);
  else return reject(`${field} ${describeValue(value)} is not a number`);
  if (!Number.isInteger(number)) return reject(`${field} ${describeValue(value)} is not an integer`);
  if (number < min || number > max) {
    return reject(`${field} ${describeValue(value)} is out of range ${min}..${max}`);
  }
  return accept(number);
}

export function checkPort(field: string, value: unknown): Checked<number> {
  return checkInteger(field, value, MIN_PORT, MAX_PORT);
}

/**
 * Optional: absent means DEFAULT_WEIGHT; negative and fractional weights are rejected. 0 is valid
 * in every format and means "registered, takes no traffic" (the instance is not serving).
 */
export function checkWeight(field: string, value: unknown): Checked<number> {
  if (isAbsent(value)) return accept(DEFAULT_WEIGHT);
  return checkInteger(field, value, DRAINED_WEIGHT, MAX_WEIGHT);
}

/** Optional boolean; absent means `fallback`. */
export function checkBoolean(field: string, value: unknown, fallback: boolean): Checked<boolean> {
  if (isAbsent(value)) return accept(fallback);
  if (typeof value !== 'boolean') return reject(`${field} ${describeValue(value)} is not a boolean`);
  return accept(value);
}

/** Optional id; absent or empty falls back to the znode name. */
export function checkId(field: string, value: unknown, fallback: string): Checked<string> {
  if (isAbsent(value) || value === '') return accept(fallback);
  if (typeof value !== 'string') return reject(`${field} ${describeValue(value)} is not a string`);
  return accept(value);
}

/**
 * Metadata as string pairs. Strings are kept, numbers and booleans stringified, and nested
 * objects, arrays and nulls skipped: Envoy metadata values here are flat strings, and one odd
 * value should not cost the whole registration.
 */
export function normaliseMetadata(field: string, value: unknown): Checked<Record<string, string>> {
  if (isAbsent(value)) return accept({});
  if (!isJsonObject(value)) return reject(`${field} must be an object, got ${describeKind(value)}`);
  const entries: [string, string][] = [];
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry === 'string') entries.push([key, entry]);
    else if (typeof entry === 'number' || typeof entry === 'boolean') entries.push([key, String(entry)]);
  }
  // fromEntries defines own properties, so a "__proto__" key stays data instead of a prototype.
  return accept(Object.fromEntries(entries));
}

/** A locality from its parts; all-empty gives the shared NO_LOCALITY. */
export function makeLocality(region: string, zone: string, subZone: string): Locality {
  if (region === '' && zone === '' && subZone === '') return NO_LOCALITY;
  return Object.freeze({ region, zone, subZone });
}

type LocalityPart = keyof Locality;

/**
 * The spellings people write for each locality part, lowered and without `_` and `-`: Envoy's
 * `sub_zone`, the README's `subZone`, Istio's `subzone` all name the sub-zone.
 */
const LOCALITY_SPELLINGS: Readonly<Record<string, LocalityPart>> = { region: 'region', zone: 'zone', subzone: 'subZone' };

/** The locality part a key names, whatever its case and separators; undefined for another key. */
export function localityPartOf(key: string): LocalityPart | undefined {
  const spelling = key.toLowerCase().replace(/[-_]/g, '');
  // hasOwn: a key such as `constructor` must not resolve to the prototype.
  return Object.hasOwn(LOCALITY_SPELLINGS, spelling) ? LOCALITY_SPELLINGS[spelling] : undefined;
}

/**
 * `{"region","zone","subZone"}`, each optional; absent means NO_LOCALITY. Any spelling of a part
 * is accepted (`subZone`, `subzone`, `sub_zone`); a key that names no part, or two spellings of one
 * part that disagree, reject the registration: a locality silently lost would move its traffic.
 */
export function normaliseLocality(field: string, value: unknown): Checked<Locality> {
  if (isAbsent(value)) return accept(NO_LOCALITY);
  if (!isJsonObject(value)) return reject(`${field} must be an object, got ${describeKind(value)}`);
  const parts: Record<LocalityPart, string> = { region: '', zone: '', subZone: '' };
  const spelledAs: Partial<Record<LocalityPart, string>> = {};
  for (const [key, part] of Object.entries(value)) {
    const name = localityPartOf(key);
    if (name === undefined) return reject(`${field}.${key} is not a locality field (expected region, zone, subZone)`);
    if (isAbsent(part)) continue;
    if (typeof part !== 'string') return reject(`${field}.${key} ${describeValue(part)} is not a string`);
    const earlier = spelledAs[name];
    if (earlier !== undefined && parts[name] !== part) return reject(`${field}.${earlier} and ${field}.${key} disagree`);
    parts[name] = part;
    spelledAs[name] = key;
  }
  return accept(makeLocality(parts.region, parts.zone, parts.subZone));
}

/**
 * A locality from flat key/value pairs (Spring Cloud metadata, Dubbo URL parameters), accepting
 * every spelling of each part; keys that name no part are other metadata and are left alone.
 */
export function localityFromPairs(pairs: Iterable<readonly [string, string]>): Locality {
  const parts: Record<LocalityPart, string> = { region: '', zone: '', subZone: '' };
  for (const [key, value] of pairs) {
    const name = localityPartOf(key);
    if (name !== undefined && parts[name] === '') parts[name] = value;
  }
  return makeLocality(parts.region, parts.zone, parts.subZone);
}
