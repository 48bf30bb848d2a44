// Sidecar scopes: which services a node cluster's sidecars call, and where each entry came from.
// An entry is a mesh name or a glob (`pay*`, `*.orders`): `*` stands for any run of characters.
// Sources are merged: an operator's explicit document, the consumers a registry records (Dubbo's
// `/dubbo/<interface>/consumers`), and a node's own metadata. A node cluster with no entry from any
// source has no scope (what it is then served is the server's choice: everything, or nothing).
// Registry-agnostic: registries feed the book; nothing here knows ZooKeeper or xDS.
import { Ajv, type ErrorObject } from 'ajv';

export type ScopeSourceKind = 'znode' | 'dubbo-consumer' | 'node-metadata';

export interface ScopeEntry {
  /** A mesh name or a glob. */
  readonly pattern: string;
  readonly source: ScopeSourceKind;
  /** Where: the znode path (explicit document, consumer registration) or the node id (metadata). */
  readonly from: string;
}

/** Node metadata key holding a node's own scope: a comma list or a JSON list of names/globs. */
export const SCOPE_METADATA_KEY = 'zk-xds.io/scope';

/** Scope documents hold a list of names; anything this large is a mistake. */
export const MAX_SCOPE_BYTES = 256 * 1024;

/** A mesh name or glob: DNS labels (as catalog/naming.ts makes them), `*` allowed anywhere. */
const PATTERN_REGEX = '^[a-z0-9*]([a-z0-9*.-]{0,251}[a-z0-9*])?$';

export const SCOPE_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'zk-xds sidecar scope',
  type: 'object',
  additionalProperties: false,
  required: ['services'],
  properties: {
    services: {
      type: 'array',
      maxItems: 10_000,
      items: { type: 'string', minLength: 1, maxLength: 253, pattern: PATTERN_REGEX },
      description: 'mesh names (or globs such as pay*) the node cluster calls',
    },
  },
} as const;

export interface ScopeFieldError {
  /** JSON pointer of the offending field (`/services/2`); `` is the whole document. */
  readonly field: string;
  readonly message: string;
}

export type ScopeParse = { ok: true; services: string[] } | { ok: false; errors: ScopeFieldError[] };

const validate = new Ajv({ allErrors: true, strict: true }).compile<{ services: string[] }>(SCOPE_SCHEMA);
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses one `/zk-xds/scope/<node cluster>` document: `{"services": ["orders", "pay*"]}`. Pure. */
export function parseScopeDocument(data: Buffer | string): ScopeParse {
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (size > MAX_SCOPE_BYTES) return fail('', `is ${size} bytes, more than the ${MAX_SCOPE_BYTES} allowed`);
  let text: string;
  try {
    text = typeof data === 'string' ? data : strictUtf8.decode(data).replace(/^\uFEFF/, '');
  } catch {
    return fail('', 'is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's own message quotes the input: only say that it is not JSON.
    return fail('', 'is not valid JSON');
  }
  if (!validate(value)) return { ok: false, errors: (validate.errors ?? []).slice(0, 20).map(describe) };
  return { ok: true, services: [...new Set(value.services)] };
}

/** `a, b*` or `["a", "b*"]` from node metadata; invalid entries are returned apart. */
export function parseScopeMetadata(text: string): { patterns: string[]; invalid: string[] } {
  let items: unknown[];
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      items = Array.isArray(parsed) ? parsed : [trimmed];
    } catch {
      return { patterns: [], invalid: [trimmed.slice(0, 64)] };
    }
  } else items = trimmed.split(',');
  const patterns: string[] = [];
  const invalid: string[] = [];
  const re = new RegExp(PATTERN_REGEX);
  for (const item of items) {
    if (typeof item !== 'string') {
      invalid.push(String(JSON.stringify(item)).slice(0, 64));
      continue;
    }
    const p = item.trim();
    if (p === '') continue;
    if (re.test(p)) patterns.push(p);
    else invalid.push(String(item).slice(0, 64));
  }
  return { patterns: [...new Set(patterns)], invalid };
}

/** Whether a pattern is a glob (else it is one mesh name). */
export function isGlob(pattern: string): boolean {
  return pattern.includes('*');
}

/** A test for one glob: `*` is any run of characters (dots included), everything else literal. */
export function globMatcher(pattern: string): (name: string) => boolean {
  if (!isGlob(pattern)) return (name) => name === pattern;
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.\\+?^${}()|[\]-]/g, '\\$&'))
      .join('.*')}$`,
  );
  return (name) => re.test(name);
}

/** The names and globs of a scope, split for fast matching. */
export class ScopeMatcher {
  readonly names: ReadonlySet<string>;
  readonly globs: ReadonlyArray<(name: string) => boolean>;

  constructor(patterns: Iterable<string>) {
    const names = new Set<string>();
    const globs: Array<(name: string) => boolean> = [];
    for (const p of patterns) {
      if (isGlob(p)) globs.push(globMatcher(p));
      else names.add(p);
    }
    this.names = names;
    this.globs = globs;
  }

  matches(name: string): boolean {
    return this.names.has(name) || this.globs.some((g) => g(name));
  }
}

export type ScopeBookListener = (nodeClusters: ReadonlySet<string>) => void;

/** A book's whole content (what a serving worker's copy is fed: `serve --workers`). */
export interface ScopeBookState {
  readonly explicit: ReadonlyArray<readonly [string, readonly ScopeEntry[]]>;
  readonly learned: ReadonlyArray<readonly [string, readonly ScopeEntry[]]>;
}

/**
 * The scopes of every node cluster, per source. Sources replace their whole share of a cluster;
 * listeners hear which clusters' merged scope may have changed.
 */
export class ScopeBook {
  private readonly explicit = new Map<string, ScopeEntry[]>();
  private readonly learned = new Map<string, ScopeEntry[]>();
  private readonly listeners: ScopeBookListener[] = [];

  onChange(listener: ScopeBookListener): void {
    this.listeners.push(listener);
  }

  /** The explicit document of a node cluster (undefined: it has none). */
  setExplicit(nodeCluster: string, services: readonly string[] | undefined, path: string): void {
    const before = this.explicit.get(nodeCluster);
    if (services === undefined) this.explicit.delete(nodeCluster);
    else
      this.explicit.set(
        nodeCluster,
        services.map((pattern) => ({ pattern, source: 'znode', from: path })),
      );
    if (!sameEntries(before, this.explicit.get(nodeCluster))) this.notify(new Set([nodeCluster]));
  }

  /** Every learned (consumer) entry at once, per node cluster: clusters left out have none. */
  setLearned(byCluster: ReadonlyMap<string, readonly ScopeEntry[]>): void {
    const changed = new Set<string>();
    for (const cluster of [...this.learned.keys()]) {
      if (byCluster.has(cluster)) continue;
      changed.add(cluster);
      this.learned.delete(cluster);
    }
    for (const [cluster, entries] of byCluster) {
      const sorted = [...entries].sort(byPatternThenFrom);
      if (!sameEntries(this.learned.get(cluster), sorted.length > 0 ? sorted : undefined)) changed.add(cluster);
      if (sorted.length > 0) this.learned.set(cluster, sorted);
      else this.learned.delete(cluster);
    }
    if (changed.size > 0) this.notify(changed);
  }

  /** Everything the book holds, per source (plain data: it crosses to other processes). */
  state(): ScopeBookState {
    return { explicit: [...this.explicit], learned: [...this.learned] };
  }

  /** Becomes a copy of another book's `state`; listeners hear the clusters whose entries changed. */
  replace(state: ScopeBookState): void {
    const changed = new Set<string>();
    for (const [mine, theirs] of [
      [this.explicit, new Map(state.explicit)],
      [this.learned, new Map(state.learned)],
    ] as const) {
      for (const cluster of [...mine.keys()]) {
        if (theirs.has(cluster)) continue;
        mine.delete(cluster);
        changed.add(cluster);
      }
      for (const [cluster, entries] of theirs) {
        if (sameEntries(mine.get(cluster), entries)) continue;
        mine.set(cluster, [...entries]);
        changed.add(cluster);
      }
    }
    if (changed.size > 0) this.notify(changed);
  }

  /**
   * The merged entries of a node cluster plus a node's own metadata patterns, or undefined when no
   * source says anything (an explicit document with an empty list is a scope: nothing).
   */
  scopeOf(nodeCluster: string, metadata: readonly ScopeEntry[] = []): ScopeEntry[] | undefined {
    const explicit = nodeCluster === '' ? undefined : this.explicit.get(nodeCluster);
    const learned = nodeCluster === '' ? undefined : this.learned.get(nodeCluster);
    if (explicit === undefined && learned === undefined && metadata.length === 0) return undefined;
    return [...(explicit ?? []), ...(learned ?? []), ...metadata];
  }

  /** Node clusters any source gives a scope. */
  clusters(): string[] {
    return [...new Set([...this.explicit.keys(), ...this.learned.keys()])].sort();
  }

  private notify(clusters: ReadonlySet<string>): void {
    for (const l of this.listeners) l(clusters);
  }
}

function byPatternThenFrom(a: ScopeEntry, b: ScopeEntry): number {
  return a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : a.from < b.from ? -1 : a.from > b.from ? 1 : 0;
}

function sameEntries(a: readonly ScopeEntry[] | undefined, b: readonly ScopeEntry[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((e, i) => e.pattern === b[i]!.pattern && e.source === b[i]!.source && e.from === b[i]!.from);
}

function fail(field: string, message: string): ScopeParse {
  return { ok: false, errors: [{ field, message }] };
}

function describe(e: ErrorObject): ScopeFieldError {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return { field: `${e.instancePath}/${String(p.additionalProperty).slice(0, 64)}`, message: 'is not a known field; allowed: services' };
    case 'required':
      return { field: `/${String(p.missingProperty)}`, message: 'is required' };
    case 'type':
      return { field: e.instancePath, message: e.instancePath === '' ? 'the scope must be a JSON object' : `must be ${String(p.type)}` };
    case 'pattern':
      return { field: e.instancePath, message: 'is not a mesh name or glob (lower-case letters, digits, . - and *)' };
    default:
      return { field: e.instancePath, message: e.message ?? 'is invalid' };
  }
}
