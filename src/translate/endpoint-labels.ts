// Which instance metadata becomes ServiceEntry endpoint labels. Registrations carry bookkeeping
// that changes on every restart of the same process (Dubbo's `pid`, `timestamp`, the `methods`
// list of a redeploy) or is framework noise (`anyhost`, `dubbo`, `release`, `interface`...); as
// labels they would rewrite the entry, and so push istiod or write Kubernetes, when nothing a mesh
// cares about changed. Everything else stays: `version`, `group`, `application`, `protocol`, tags
// and the user's own parameters. Pure.

/** Keys never turned into labels; an entry ending in `*` drops every key with that prefix. */
export interface LabelRule {
  readonly dropped: readonly string[];
}

/**
 * Dubbo 2 URL parameters and Dubbo 3 instance metadata that are volatile, framework-internal or
 * secret (`token` is a Dubbo access token), and Curator's own fields.
 */
export const DEFAULT_DROPPED_LABELS: readonly string[] = [
  'pid',
  'timestamp',
  'methods',
  'anyhost',
  'interface',
  'path',
  'generic',
  'dubbo',
  'release',
  'side',
  'category',
  'dynamic',
  'deprecated',
  'register',
  'register-mode',
  'revision',
  'token',
  'bind.ip',
  'bind.port',
  'background',
  'service-name-mapping',
  'meta-v',
  'metadata-type',
  'dubbo.endpoints',
  'dubbo.metadata.*',
  'dubbo.metadata-service.*',
  'qos.*',
];

export const DEFAULT_LABEL_RULE: LabelRule = { dropped: DEFAULT_DROPPED_LABELS };

/** A rule from `key,key,prefix.*` text (the --istio-dropped-labels flag); empty entries are ignored. */
export function labelRuleFrom(list: readonly string[]): LabelRule {
  return { dropped: list.map((k) => k.trim()).filter((k) => k !== '') };
}

/** The metadata a rule keeps, in the same key order. */
export function stableLabels(metadata: Readonly<Record<string, string>>, rule: LabelRule): Record<string, string> {
  const exact = new Set(rule.dropped.filter((k) => !k.endsWith('*')));
  const prefixes = rule.dropped.filter((k) => k.endsWith('*')).map((k) => k.slice(0, -1));
  const kept: [string, string][] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (exact.has(key) || prefixes.some((p) => key.startsWith(p))) continue;
    kept.push([key, value]);
  }
  // fromEntries defines own properties, so a "__proto__" key stays data.
  return Object.fromEntries(kept);
}
