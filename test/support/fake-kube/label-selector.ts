// Kubernetes label selectors (`a=b,c!=d,e,!f,g in (x,y),h notin (z)`), as list and watch filter them.
type Requirement = (labels: Record<string, string>) => boolean;

export type LabelSelector = (labels: Record<string, string>) => boolean;

export function parseLabelSelector(text: string | null): LabelSelector {
  if (!text) return () => true;
  const requirements: Requirement[] = [];
  // Commas inside `in (...)` sets do not separate requirements.
  for (const part of text.match(/[^,(]+(\([^)]*\))?/g) ?? []) {
    const p = part.trim();
    if (!p) continue;
    let m: RegExpExecArray | null;
    if ((m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      const [, k, op, set] = m;
      const values = new Set(set!.split(',').map((s) => s.trim()));
      requirements.push(op === 'in' ? (l) => l[k!] !== undefined && values.has(l[k!]!) : (l) => l[k!] === undefined || !values.has(l[k!]!));
    } else if ((m = /^(\S+?)\s*!=\s*(\S*)$/.exec(p))) {
      const [, k, v] = m;
      requirements.push((l) => l[k!] !== v);
    } else if ((m = /^(\S+?)\s*==?\s*(\S*)$/.exec(p))) {
      const [, k, v] = m;
      requirements.push((l) => l[k!] === v);
    } else if ((m = /^!(\S+)$/.exec(p))) {
      const k = m[1]!;
      requirements.push((l) => l[k] === undefined);
    } else if (/^\S+$/.test(p)) {
      requirements.push((l) => l[p] !== undefined);
    } else throw new Error(`unable to parse requirement: ${p}`);
  }
  return (labels) => requirements.every((r) => r(labels));
}
