// The fake API server's storage of ServiceEntry objects: one resourceVersion counter for the whole
// store (as etcd's revision), an event history for watches that can be compacted (so old versions
// answer 410 Gone), validation that answers 422, and server-side apply ownership.
import { ServiceEntry } from '@kubernetes-models/istio/networking.istio.io/v1/ServiceEntry';
import { applyConfiguration, deepEqual, recordUpdate, toManagedFields, isObject, type Json, type JsonObject, type ManagerEntry } from './managed-fields.js';

export const GROUP = 'networking.istio.io';
export const VERSION = 'v1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'ServiceEntry';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  object: JsonObject;
  rv: number;
}

/** A persisted change, for tests that count writes per object. */
export interface WriteRecord {
  verb: 'create' | 'update' | 'apply' | 'delete';
  namespace: string;
  name: string;
  manager: string;
  rv: number;
}

/** An API error as the real server reports it (a Status body with this code). */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details: JsonObject = {},
  ) {
    super(message);
  }

  status(): JsonObject {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      details: this.details,
      code: this.code,
    };
  }
}

interface Stored {
  object: JsonObject;
  managers: ManagerEntry[];
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export class ServiceEntryStore {
  private readonly objects = new Map<string, Stored>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<(e: StoreEvent) => void>();
  private rv = 1;
  /** Events at or below this version are forgotten: watching from older versions gets 410. */
  private compactedRv = 1;
  readonly writes: WriteRecord[] = [];
  private uidCounter = 0;

  constructor(private readonly historyLimit = 1000) {}

  get resourceVersion(): number {
    return this.rv;
  }

  /** Forgets the watch history, as etcd compaction does: older resourceVersions become too old. */
  compact(): void {
    this.history.length = 0;
    this.compactedRv = this.rv;
  }

  subscribe(listener: (e: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Events after `rv`; throws 410 when some of them were compacted away. */
  eventsSince(rv: number): StoreEvent[] {
    if (rv < this.compactedRv) throw new ApiError(410, 'Expired', `too old resource version: ${rv} (${this.compactedRv})`);
    return this.history.filter((e) => e.rv > rv);
  }

  get(namespace: string, name: string): JsonObject {
    const s = this.objects.get(key(namespace, name));
    if (!s) throw notFound(name);
    return this.render(s);
  }

  list(namespace: string | undefined): JsonObject[] {
    return [...this.objects.values()].filter((s) => namespace === undefined || meta(s.object).namespace === namespace).map((s) => this.render(s));
  }

  create(namespace: string, body: JsonObject, manager: string): JsonObject {
    const name = this.checkIdentity(namespace, body, undefined);
    if (this.objects.has(key(namespace, name)))
      throw new ApiError(409, 'AlreadyExists', `serviceentries.${GROUP} "${name}" already exists`, { name, group: GROUP, kind: 'serviceentries' });
    const object = this.normalise(namespace, name, body);
    validate(object);
    const now = timestamp();
    const m = meta(object);
    m.uid = `00000000-0000-4000-8000-${String(++this.uidCounter).padStart(12, '0')}`;
    m.creationTimestamp = now;
    m.generation = 1;
    return this.persist('create', namespace, name, manager, { object, managers: recordUpdate(undefined, object, [], manager, now) }, 'ADDED');
  }

  update(namespace: string, name: string, body: JsonObject, manager: string): JsonObject {
    this.checkIdentity(namespace, body, name);
    const current = this.objects.get(key(namespace, name));
    if (!current) throw notFound(name);
    const sent = meta(body).resourceVersion;
    if (typeof sent !== 'string' || sent === '') throw invalid(name, 'metadata.resourceVersion', 'must be specified for an update');
    if (sent !== meta(current.object).resourceVersion) throw conflictModified(name);
    const object = this.normalise(namespace, name, body);
    keepServerMetadata(object, current.object);
    validate(object);
    if (sameContent(object, current.object)) return this.render(current);
    bumpGeneration(object, current.object);
    return this.persist(
      'update',
      namespace,
      name,
      manager,
      { object, managers: recordUpdate(current.object, object, current.managers, manager, timestamp()) },
      'MODIFIED',
    );
  }

  /** Server-side apply (PATCH application/apply-patch+yaml). */
  apply(namespace: string, name: string, body: JsonObject, manager: string, force: boolean): JsonObject {
    if (!manager) throw new ApiError(400, 'BadRequest', 'PATCH, application/apply-patch+yaml requires fieldManager to be set');
    if (body.apiVersion !== API_VERSION || body.kind !== KIND) throw new ApiError(400, 'BadRequest', `apply needs apiVersion ${API_VERSION} and kind ${KIND}`);
    this.checkIdentity(namespace, body, name);
    const current = this.objects.get(key(namespace, name));
    const sent = meta(body).resourceVersion;
    if (typeof sent === 'string' && sent !== '' && sent !== (current ? meta(current.object).resourceVersion : undefined)) throw conflictModified(name);
    const applied = structuredClone(body);
    for (const k of ['resourceVersion', 'managedFields', 'uid', 'creationTimestamp', 'generation']) delete meta(applied)[k];
    const now = timestamp();
    const result = applyConfiguration(current?.object, current?.managers ?? [], applied, manager, force, now);
    if ('conflicts' in result) {
      const lines = result.conflicts.map((c) => `conflict with "${c.manager}": ${c.field}`);
      throw new ApiError(409, 'Conflict', `Apply failed with ${lines.length} conflict${lines.length > 1 ? 's' : ''}: ${lines.join('\n')}`, {
        name,
        group: GROUP,
        kind: 'serviceentries',
        causes: result.conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}"`, field: c.field })),
      });
    }
    const object = this.normalise(namespace, name, result.object);
    if (current) keepServerMetadata(object, current.object);
    validate(object);
    if (current && sameContent(object, current.object) && sameOwnership(current.managers, result.managers)) return this.render(current);
    if (current) bumpGeneration(object, current.object);
    else {
      const m = meta(object);
      m.uid = `00000000-0000-4000-8000-${String(++this.uidCounter).padStart(12, '0')}`;
      m.creationTimestamp = now;
      m.generation = 1;
    }
    return this.persist('apply', namespace, name, manager, { object, managers: result.managers }, current ? 'MODIFIED' : 'ADDED');
  }

  delete(namespace: string, name: string, preconditions: { resourceVersion?: string; uid?: string }, manager: string): JsonObject {
    const current = this.objects.get(key(namespace, name));
    if (!current) throw notFound(name);
    const m = meta(current.object);
    if (preconditions.uid !== undefined && preconditions.uid !== m.uid)
      throw new ApiError(409, 'Conflict', `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${String(m.uid)}`);
    if (preconditions.resourceVersion !== undefined && preconditions.resourceVersion !== m.resourceVersion)
      throw new ApiError(
        409,
        'Conflict',
        `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${String(m.resourceVersion)}`,
      );
    this.objects.delete(key(namespace, name));
    const rv = ++this.rv;
    const object = this.render(current);
    meta(object).resourceVersion = String(rv);
    this.record({ verb: 'delete', namespace, name, manager, rv }, { type: 'DELETED', object, rv });
    return object;
  }

  private persist(verb: WriteRecord['verb'], namespace: string, name: string, manager: string, stored: Stored, type: WatchEventType): JsonObject {
    const rv = ++this.rv;
    meta(stored.object).resourceVersion = String(rv);
    this.objects.set(key(namespace, name), stored);
    const rendered = this.render(stored);
    this.record({ verb, namespace, name, manager, rv }, { type, object: rendered, rv });
    return structuredClone(rendered);
  }

  private record(write: WriteRecord, event: StoreEvent): void {
    this.writes.push(write);
    this.history.push(event);
    if (this.history.length > this.historyLimit) this.compactedRv = this.history.shift()!.rv;
    for (const l of this.listeners) l(event);
  }

  private render(s: Stored): JsonObject {
    const object = structuredClone(s.object);
    meta(object).managedFields = toManagedFields(s.managers, API_VERSION);
    return object;
  }

  private checkIdentity(namespace: string, body: JsonObject, urlName: string | undefined): string {
    if (!isObject(body.metadata)) throw new ApiError(400, 'BadRequest', 'object has no metadata');
    const m = body.metadata;
    if (m.namespace !== undefined && m.namespace !== namespace)
      throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    const name = m.name;
    if (typeof name !== 'string' || name === '') throw invalid('', 'metadata.name', 'name or generateName is required');
    if (urlName !== undefined && name !== urlName) throw new ApiError(400, 'BadRequest', 'the name of the object does not match the name on the URL');
    return name;
  }

  private normalise(namespace: string, name: string, body: JsonObject): JsonObject {
    const object = structuredClone(body);
    object.apiVersion = API_VERSION;
    object.kind = KIND;
    const m = meta(object);
    m.name = name;
    m.namespace = namespace;
    delete m.managedFields;
    delete object.status;
    return object;
  }
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function meta(obj: JsonObject): JsonObject {
  if (!isObject(obj.metadata)) obj.metadata = {};
  return obj.metadata as JsonObject;
}

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function notFound(name: string): ApiError {
  return new ApiError(404, 'NotFound', `serviceentries.${GROUP} "${name}" not found`, { name, group: GROUP, kind: 'serviceentries' });
}

function conflictModified(name: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on serviceentries.${GROUP} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    {
      name,
      group: GROUP,
      kind: 'serviceentries',
    },
  );
}

function invalid(name: string, field: string, message: string): ApiError {
  return invalidMany(name, [{ field, message }]);
}

function invalidMany(name: string, causes: { field: string; message: string }[]): ApiError {
  return new ApiError(422, 'Invalid', `${KIND}.${GROUP} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`, {
    name,
    group: GROUP,
    kind: KIND,
    causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })),
  });
}

/** The checks the real server makes: object metadata, then the CRD's OpenAPI schema. */
function validate(object: JsonObject): void {
  const m = meta(object);
  const name = String(m.name);
  const causes: { field: string; message: string }[] = [];
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name))
    causes.push({
      field: 'metadata.name',
      message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
    });
  for (const field of ['labels', 'annotations'] as const) {
    const map = m[field];
    if (map === undefined) continue;
    if (!isObject(map)) {
      causes.push({ field: `metadata.${field}`, message: 'must be a map of strings' });
      continue;
    }
    for (const [k, v] of Object.entries(map)) {
      if (typeof v !== 'string') causes.push({ field: `metadata.${field}`, message: `value of ${k} must be a string` });
      else if (field === 'labels' && (v.length > 63 || !LABEL_VALUE.test(v)))
        causes.push({ field: `metadata.labels`, message: `Invalid value: "${v}": a valid label must be 63 characters or less` });
      if (!LABEL_NAME.test(k) || k.split('/').pop()!.length > 63)
        causes.push({ field: `metadata.${field}`, message: `Invalid value: "${k}": name part must be a valid qualified name` });
    }
  }
  try {
    new ServiceEntry(object as unknown as ConstructorParameters<typeof ServiceEntry>[0]).validate();
  } catch (err) {
    const errors = (err as { errors?: { instancePath?: string; message?: string }[] }).errors ?? [{ instancePath: '', message: (err as Error).message }];
    for (const e of errors) causes.push({ field: (e.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.') || '<root>', message: e.message ?? 'invalid' });
  }
  if (causes.length > 0) throw invalidMany(name, causes);
}

function keepServerMetadata(object: JsonObject, current: JsonObject): void {
  const m = meta(object);
  const c = meta(current);
  for (const k of ['uid', 'creationTimestamp', 'generation', 'resourceVersion']) if (c[k] !== undefined) m[k] = c[k] as Json;
}

/** Content the user controls: everything but server metadata. */
function sameContent(a: JsonObject, b: JsonObject): boolean {
  const strip = (o: JsonObject): JsonObject => {
    const c = structuredClone(o);
    const m = meta(c);
    for (const k of ['resourceVersion', 'managedFields', 'uid', 'creationTimestamp', 'generation']) delete m[k];
    return c;
  };
  return deepEqual(strip(a), strip(b));
}

function sameOwnership(a: ManagerEntry[], b: ManagerEntry[]): boolean {
  const norm = (ms: ManagerEntry[]) => ms.map((m) => `${m.manager}|${m.operation}|${[...m.fields].sort().join(',')}`).sort();
  return deepEqual(norm(a), norm(b));
}

function bumpGeneration(object: JsonObject, current: JsonObject): void {
  const generation = Number(meta(current).generation ?? 1);
  meta(object).generation = deepEqual(object.spec, current.spec) ? generation : generation + 1;
}
