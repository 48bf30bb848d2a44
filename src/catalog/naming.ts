// Mesh names: the DNS-safe host name each service is served under (`xds:///<name>`, sidecar
// domains `<name>.<suffix>`, Istio ServiceEntry hosts). The name is a pure function of the
// service's identity and the naming options, so it is stable across restarts and ensembles.
//
// Rules (documented in the README):
//  - a name is dot-separated labels of [a-z0-9-], each 1..63 characters, 253 at most in all;
//  - upper case is lowered; every other character ZooKeeper allows but DNS does not becomes `-`;
//    leading and trailing `-` of a label are dropped; a label longer than 63 characters keeps its
//    first 54 and gets `-` plus 8 hex digits of the SHA-256 of the original label;
//  - template placeholders that are empty (a Dubbo service without group) drop their label.
import { createHash } from 'node:crypto';
import type { ServiceIdentity } from './model.js';

export interface NamingOptions {
  /** Dubbo 2 interface services. Placeholders: {interface} (its dots become labels), {group}, {version}. */
  readonly dubboInterface: string;
  /** Protocol endpoints of Dubbo 3 applications. Placeholders: {application}, {protocol}. */
  readonly dubboApplication: string;
}

export const DEFAULT_NAMING: NamingOptions = Object.freeze({
  dubboInterface: '{version}.{group}.{interface}',
  dubboApplication: '{protocol}.{application}',
});

const MAX_LABEL = 63;
const MAX_NAME = 253;
const HASHED_PREFIX = 54;

export type NameOutcome = { readonly ok: true; readonly name: string } | { readonly ok: false; readonly reason: string };

/** A stable text key of an identity: equal keys are the same service. */
export function identityKey(identity: ServiceIdentity): string {
  switch (identity.kind) {
    case 'service':
      return `service:${identity.name}`;
    case 'dubbo-interface':
      return `dubbo:${identity.interface}:${identity.group}:${identity.version}`;
    case 'dubbo-application':
      return `dubbo-app:${identity.application}:${identity.protocol}`;
  }
}

/** One DNS label from arbitrary text; '' when nothing usable is left. */
export function dnsLabel(text: string): string {
  const mapped = text
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');
  if (mapped.length <= MAX_LABEL) return mapped;
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 8);
  return `${mapped.slice(0, HASHED_PREFIX).replace(/-+$/, '')}-${digest}`;
}

/** Labels of dotted text (a Curator service name, a Java interface), each mapped by dnsLabel. */
function dottedLabels(text: string): string[] {
  return text
    .split('.')
    .map(dnsLabel)
    .filter((l) => l !== '');
}

/**
 * Fills a template: each dot-separated segment is one placeholder or literal; `dotted` values
 * expand to several labels, the others become one label (their own dots turn into `-`).
 */
function render(template: string, values: Readonly<Record<string, { text: string; dotted: boolean }>>): string[] {
  const labels: string[] = [];
  for (const segment of template.split('.')) {
    const filled = segment.replace(/\{([a-z]+)\}/g, (_m, key: string) => values[key]?.text ?? '');
    const whole = /^\{([a-z]+)\}$/.exec(segment);
    if (whole && values[whole[1]!]?.dotted) labels.push(...dottedLabels(filled));
    else {
      const label = dnsLabel(filled);
      if (label !== '') labels.push(label);
    }
  }
  return labels;
}

function identityLabels(identity: ServiceIdentity, naming: NamingOptions): string[] {
  switch (identity.kind) {
    case 'service':
      return dottedLabels(identity.name);
    case 'dubbo-interface':
      return render(naming.dubboInterface, {
        interface: { text: identity.interface, dotted: true },
        group: { text: identity.group, dotted: false },
        version: { text: identity.version, dotted: false },
      });
    case 'dubbo-application':
      return render(naming.dubboApplication, {
        application: { text: identity.application, dotted: false },
        protocol: { text: identity.protocol, dotted: false },
      });
  }
}

/** The mesh name of an identity, or why it has none (nothing DNS-safe left, or too long). */
export function meshName(identity: ServiceIdentity, naming: NamingOptions = DEFAULT_NAMING): NameOutcome {
  const name = identityLabels(identity, naming).join('.');
  if (name === '') return { ok: false, reason: `${identityKey(identity)} has no DNS-safe characters to name it by` };
  if (name.length > MAX_NAME) return { ok: false, reason: `mesh name for ${identityKey(identity)} is ${name.length} characters, over ${MAX_NAME}` };
  return { ok: true, name };
}
