// Kubernetes naming rules (object names, label keys and values) and deterministic mappings of
// registry strings onto them. Registrations carry free-form metadata; Kubernetes and Istio reject
// a whole object for one bad label, so every string is mapped (or dropped) before it gets there.
import { createHash } from 'node:crypto';

const MAX_NAME_SEGMENT = 63;
const MAX_SUBDOMAIN = 253;
/** Room kept for `-` plus the hash suffix that tells mangled names apart. */
const HASH_SUFFIX_CHARS = 8;

const LABEL_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** DNS-1123 label (a namespace name, a port name): lowercase alphanumerics and `-`, alphanumeric at both ends, <= 63. */
export function isDnsLabel(value: string): boolean {
  return DNS_LABEL.test(value);
}

/** DNS-1123 subdomain: lowercase alphanumerics, `-` and `.`, alphanumeric at both ends of each label, <= 253. */
export function isDns1123Subdomain(value: string): boolean {
  return value.length > 0 && value.length <= MAX_SUBDOMAIN && value.split('.').every((l) => DNS_LABEL.test(l));
}

/** A label key: optional `<dns-subdomain>/` prefix, then a name of <= 63 [A-Za-z0-9._-], alphanumeric at both ends. */
export function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return LABEL_NAME.test(key);
  return isDns1123Subdomain(key.slice(0, slash)) && LABEL_NAME.test(key.slice(slash + 1));
}

/** A label value: empty, or the same rules as a key's name part. */
export function isLabelValue(value: string): boolean {
  return value === '' || LABEL_NAME.test(value);
}

/**
 * Maps registry metadata onto valid labels. Invalid characters become `-`, ends are trimmed to
 * alphanumerics, overlong parts are cut; a key or value that maps to nothing is dropped. When two
 * keys map to the same label the one that sorts first wins, so the result depends only on the input.
 */
export function sanitizeLabels(metadata: Readonly<Record<string, string>>): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const key of Object.keys(metadata).sort()) {
    const k = sanitizeLabelKey(key);
    const v = sanitizeLabelValue(metadata[key]!);
    if (k === undefined || v === undefined || k in labels) continue;
    labels[k] = v;
  }
  return labels;
}

export function sanitizeLabelKey(key: string): string | undefined {
  if (isLabelKey(key)) return key;
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? '' : toSubdomain(key.slice(0, slash), MAX_SUBDOMAIN);
  const name = toLabelName(slash < 0 ? key : key.slice(slash + 1));
  if (!name) return undefined;
  return prefix ? `${prefix}/${name}` : name;
}

export function sanitizeLabelValue(value: string): string | undefined {
  if (isLabelValue(value)) return value;
  return toLabelName(value) || undefined;
}

/**
 * A DNS-1123 subdomain object name for a registry name. Names already valid are kept; any other
 * name is mapped and gets a hash of the original appended, so `Orders` and `orders` stay distinct.
 */
export function objectNameFor(name: string): string {
  if (isDns1123Subdomain(name)) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, HASH_SUFFIX_CHARS);
  const base = toSubdomain(name, MAX_SUBDOMAIN - HASH_SUFFIX_CHARS - 1);
  if (!base) return `svc-${hash}`;
  // The suffix joins the last DNS label, which must stay within 63 characters too.
  const lastDot = base.lastIndexOf('.');
  const last = trimToAlnum(base.slice(lastDot + 1, lastDot + 1 + MAX_NAME_SEGMENT - HASH_SUFFIX_CHARS - 1), /[a-z0-9]/);
  return `${base.slice(0, lastDot + 1)}${last}-${hash}`;
}

function toLabelName(value: string): string {
  return trimToAlnum(value.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, MAX_NAME_SEGMENT), /[A-Za-z0-9]/);
}

function toSubdomain(value: string, maxLength: number): string {
  const labels = value
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .split('.')
    .map((l) => trimToAlnum(l.slice(0, MAX_NAME_SEGMENT), /[a-z0-9]/))
    .filter((l) => l !== '');
  return trimToAlnum(labels.join('.').slice(0, maxLength), /[a-z0-9]/);
}

function trimToAlnum(value: string, alnum: RegExp): string {
  let start = 0;
  let end = value.length;
  while (start < end && !alnum.test(value[start]!)) start++;
  while (end > start && !alnum.test(value[end - 1]!)) end--;
  return value.slice(start, end);
}
