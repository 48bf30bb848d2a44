// Server-side apply field ownership, as the fake API server keeps it: which manager owns which
// field of an object, conflicts between managers, and merging an applied configuration.
//
// A field is the path to a leaf of the object. Lists are atomic (Istio's CRDs declare no list
// keys, so the real server treats their lists as one field each); metadata fields other than
// labels and annotations are not owned by anyone, as on a real server.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A field path, encoded as JSON so keys with dots and slashes (label keys) stay unambiguous. */
export type FieldPath = string;

export interface ManagerEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  time: string;
  fields: Set<FieldPath>;
}

export interface Conflict {
  manager: string;
  field: string;
}

const IGNORED_TOP = new Set(['apiVersion', 'kind', 'status']);
const OWNED_METADATA = new Set(['labels', 'annotations']);

export function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every owned leaf path of `obj`. */
export function fieldSet(obj: JsonObject): Set<FieldPath> {
  const out = new Set<FieldPath>();
  const walk = (value: Json, path: string[]): void => {
    if (isObject(value) && Object.keys(value).length > 0) {
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    } else out.add(JSON.stringify(path));
  };
  for (const [k, v] of Object.entries(obj)) {
    if (IGNORED_TOP.has(k)) continue;
    if (k === 'metadata') {
      if (!isObject(v)) continue;
      for (const [mk, mv] of Object.entries(v))
        if (OWNED_METADATA.has(mk) && isObject(mv)) for (const [lk, lv] of Object.entries(mv)) walk(lv, ['metadata', mk, lk]);
      continue;
    }
    walk(v, [k]);
  }
  return out;
}

export function getPath(obj: JsonObject, path: FieldPath): Json | undefined {
  let cur: Json | undefined = obj;
  for (const k of JSON.parse(path) as string[]) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function setPath(obj: JsonObject, path: FieldPath, value: Json): void {
  const keys = JSON.parse(path) as string[];
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (!isObject(cur[k])) cur[k] = {};
    cur = cur[k] as JsonObject;
  }
  cur[keys[keys.length - 1]!] = structuredClone(value);
}

/** Removes the leaf at `path` and any parent objects it leaves empty. */
function removePath(obj: JsonObject, path: FieldPath): void {
  const keys = JSON.parse(path) as string[];
  const parents: JsonObject[] = [obj];
  for (const k of keys.slice(0, -1)) {
    const next = parents[parents.length - 1]![k];
    if (!isObject(next)) return;
    parents.push(next);
  }
  delete parents[parents.length - 1]![keys[keys.length - 1]!];
  for (let i = parents.length - 1; i > 0; i--) {
    if (Object.keys(parents[i]!).length > 0) break;
    delete parents[i - 1]![keys[i - 1]!];
  }
}

export function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: Json | undefined): Json | undefined {
  if (Array.isArray(v)) return v.map((x) => canonical(x) ?? null);
  if (isObject(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical(v[k]) ?? null]),
    );
  return v;
}

/** `.spec.hosts` style, as the real server names fields in conflict messages. */
export function displayPath(path: FieldPath): string {
  return (JSON.parse(path) as string[]).map((k) => (/^[A-Za-z0-9_-]+$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`)).join('');
}

/** What an apply would do: the merged object and the new ownership, or the conflicts stopping it. */
export function applyConfiguration(
  current: JsonObject | undefined,
  managers: ManagerEntry[],
  applied: JsonObject,
  manager: string,
  force: boolean,
  now: string,
): { conflicts: Conflict[] } | { object: JsonObject; managers: ManagerEntry[] } {
  const appliedFields = fieldSet(applied);
  if (!current) return { object: structuredClone(applied), managers: [{ manager, operation: 'Apply', time: now, fields: appliedFields }] };

  const conflicts: Conflict[] = [];
  for (const entry of managers) {
    if (entry.manager === manager && entry.operation === 'Apply') continue;
    for (const f of appliedFields)
      if (entry.fields.has(f) && !deepEqual(getPath(current, f), getPath(applied, f))) conflicts.push({ manager: entry.manager, field: displayPath(f) });
  }
  if (conflicts.length > 0 && !force) return { conflicts };

  const object = structuredClone(current);
  const previous = managers.find((m) => m.manager === manager && m.operation === 'Apply')?.fields ?? new Set<FieldPath>();
  const others = managers.filter((m) => !(m.manager === manager && m.operation === 'Apply'));
  // Fields this manager applied before and no longer applies are removed, unless someone else owns them too.
  for (const f of previous) if (!appliedFields.has(f) && !others.some((m) => m.fields.has(f))) removePath(object, f);
  for (const f of appliedFields) setPath(object, f, getPath(applied, f)!);
  const next: ManagerEntry[] = [];
  for (const m of others) {
    // Forcing takes contested fields away from their other owners; equal values are shared.
    const fields = new Set([...m.fields].filter((f) => !(appliedFields.has(f) && !deepEqual(getPath(current, f), getPath(applied, f)))));
    if (fields.size > 0) next.push({ ...m, fields });
  }
  next.push({ manager, operation: 'Apply', time: now, fields: appliedFields });
  return { object, managers: next };
}

/** Ownership after a plain write (create, update): changed fields move to the writer. */
export function recordUpdate(before: JsonObject | undefined, after: JsonObject, managers: ManagerEntry[], manager: string, now: string): ManagerEntry[] {
  const afterFields = fieldSet(after);
  const changed = new Set([...afterFields].filter((f) => !before || !deepEqual(getPath(before, f), getPath(after, f))));
  const next: ManagerEntry[] = [];
  for (const m of managers) {
    const fields = new Set([...m.fields].filter((f) => afterFields.has(f) && !(changed.has(f) && !(m.manager === manager && m.operation === 'Update'))));
    if (m.manager === manager && m.operation === 'Update') continue;
    if (fields.size > 0) next.push({ ...m, fields });
  }
  const own = managers.find((m) => m.manager === manager && m.operation === 'Update');
  const mine = new Set([...(own ? [...own.fields].filter((f) => afterFields.has(f)) : []), ...changed]);
  if (mine.size > 0) next.push({ manager, operation: 'Update', time: now, fields: mine });
  return next;
}

/** The managedFields wire form (FieldsV1). */
export function toManagedFields(managers: ManagerEntry[], apiVersion: string): Json[] {
  return managers.map((m) => {
    const fieldsV1: JsonObject = {};
    for (const f of m.fields) {
      let cur = fieldsV1;
      for (const k of JSON.parse(f) as string[]) {
        const key = `f:${k}`;
        if (!isObject(cur[key])) cur[key] = {};
        cur = cur[key] as JsonObject;
      }
    }
    return { manager: m.manager, operation: m.operation, apiVersion, time: m.time, fieldsType: 'FieldsV1', fieldsV1 };
  });
}
