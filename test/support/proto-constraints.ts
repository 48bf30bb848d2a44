// Checks xDS resources against the protoc-gen-validate (PGV) constraints written in Envoy's own
// protos, because no Envoy binary can run here: Envoy rejects a whole xDS response (NACK) when any
// resource breaks one of its `(validate.rules)` annotations, and this module is how tests find out
// first. Rules are read from the vendored .proto files (protobufjs keeps them in
// `field.parsedOptions`), never restated by hand.
//
// Rule kinds implemented (the PGV subset Envoy uses, plus cheap neighbours of it):
//   message:   required, skip
//   oneof:     (validate.required) - one member must be set
//   string:    const, len, min_len, max_len, len_bytes, min_bytes, max_bytes, pattern (RE2 run as
//              a JS RegExp), prefix, suffix, contains, not_contains, in, not_in, ignore_empty,
//              well_known_regex HTTP_HEADER_NAME / HTTP_HEADER_VALUE with `strict` (default true)
//   bool:      const
//   bytes:     len, min_len, max_len
//   numbers:   const, lt, lte, gt, gte (a lower bound above the upper one means "outside the
//              range", as in PGV), in, not_in - for float, double, int32, int64, uint32, uint64,
//              sint32, sint64, fixed32, fixed64, sfixed32, sfixed64
//   enum:      const, defined_only, in, not_in
//   repeated:  min_items, max_items, unique, items (the item rules applied to every item)
//   map:       min_pairs, max_pairs, no_sparse, keys, values
//   duration:  required, const, lt, lte, gt, gte, in, not_in
//   timestamp: required, const, lt, lte, gt, gte
//   any:       required, in, not_in
//   wrappers:  google.protobuf.*Value fields take the scalar rules, applied to `.value` when set
// Not implemented, because no vendored Envoy/xds/udpa proto uses them: the string well-knowns
// other than well_known_regex (email, hostname, ip, ipv4, ipv6, uri, uri_ref, address, uuid),
// bytes const/pattern/prefix/suffix/contains/in/not_in/ip*, timestamp lt_now/gt_now/within and
// the message option (validate.disabled).
//
// Beyond PGV, every violation here is something Envoy also rejects or that zk-xds would silently
// mangle on the wire:
//   envoy.duration_valid  Envoy rejects negative or out-of-range Durations anywhere in its config
//                         (MessageUtil duration validation, envoyproxy/envoy#32376).
//   any.type_url          an Any with no type_url cannot be unpacked by any xDS client.
//   any.unknown_type      an Any whose type is not in the vendored protos, reported only when
//                         the field restricts types with any.in, or when the resource is given as
//                         proto-JSON (protobufjs would encode such an Any empty).
//   any.decode            an Any whose bytes do not decode as its type_url says.
//   proto.unknown_field / proto.enum_name / proto.shape
//                         proto-JSON that protobufjs.fromObject would drop or coerce silently.
//                         In translator output the generated Envoy types (src/translate/
//                         envoy-types.ts) already stop these at compile time; the checks stay
//                         for what has no types: hand-written config (deploy/envoy/bootstrap.yaml)
//                         and Any bodies written as bare {'@type', ...} objects.
//
// Values are checked in protobufjs Message form (what decode and fromObject produce), so one
// walker serves both encoded and proto-JSON input; proto-JSON is first checked for shape and then
// converted with fromObject exactly as src/xds/resource-encoding.ts does before sending.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import { PROTO_DIR, ROOT_PROTO_FILES } from '../../src/xds/protos.js';

export interface Violation {
  /** Where, e.g. "Cluster[orders].load_assignment.endpoints[0].lb_endpoints[1].endpoint.address.socket_address.port_value". */
  path: string;
  /** Which rule, e.g. "uint32.lte=65535". */
  rule: string;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// Types: our own protobufjs Root, which can grow on demand when an Any names a type from a
// vendored file that envoyRoot() does not load (tcp_proxy, other filters...).

const require = createRequire(import.meta.url);
// Same resolution as src/xds/protos.ts: protobufjs ships the well-known types itself.
const WELL_KNOWN_DIR = path.join(path.dirname(require.resolve('protobufjs/package.json')), 'google', 'protobuf');
const BUNDLED_WELL_KNOWN = new Set(Object.keys(protobuf.common).filter((k) => k.endsWith('.proto')));

class TypeRegistry {
  readonly root = new protobuf.Root();
  /** proto package -> the vendored files declaring it; built on the first unknown type. */
  private packageFiles: Map<string, string[]> | undefined;
  private readonly loadedPackages = new Set<string>();
  private readonly byName = new Map<string, protobuf.Type | null>();

  constructor() {
    this.root.resolvePath = (_origin, target) => {
      if (BUNDLED_WELL_KNOWN.has(target)) return target;
      if (target.startsWith('google/protobuf/')) return path.join(WELL_KNOWN_DIR, path.basename(target));
      return path.join(PROTO_DIR, target);
    };
    this.root.loadSync([...ROOT_PROTO_FILES], { keepCase: true });
    this.root.resolveAll();
  }

  /** The message type of a full name (leading dot optional), loading its package if needed. */
  messageType(fullName: string): protobuf.Type | undefined {
    const name = fullName.startsWith('.') ? fullName.slice(1) : fullName;
    const cached = this.byName.get(name);
    if (cached !== undefined) return cached ?? undefined;
    let type = this.find(name);
    if (!type && this.loadPackageOf(name)) type = this.find(name);
    if (type) {
      try {
        type.resolveAll();
      } catch {
        type = undefined; // a vendored file with missing imports (the v2 leftovers): not usable
      }
    }
    this.byName.set(name, type ?? null);
    return type;
  }

  /** The type an Any's type_url names (the part after the last '/'). */
  typeOfUrl(typeUrl: string): protobuf.Type | undefined {
    const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
    return name === '' ? undefined : this.messageType(name);
  }

  private find(name: string): protobuf.Type | undefined {
    const found = this.root.lookup(name);
    return found instanceof protobuf.Type ? found : undefined;
  }

  /** Loads every file of the longest package that prefixes `name`. False when none matched. */
  private loadPackageOf(name: string): boolean {
    const index = this.packageIndex();
    const parts = name.split('.');
    for (let n = parts.length - 1; n > 0; n--) {
      const pkg = parts.slice(0, n).join('.');
      const files = index.get(pkg);
      if (!files) continue;
      if (this.loadedPackages.has(pkg)) return false;
      this.loadedPackages.add(pkg);
      for (const file of files) {
        try {
          this.root.loadSync(file, { keepCase: true });
        } catch {
          // Some vendored files import protos that are not vendored; their other types still load.
        }
      }
      return true;
    }
    return false;
  }

  private packageIndex(): Map<string, string[]> {
    if (this.packageFiles) return this.packageFiles;
    const index = new Map<string, string[]>();
    for (const file of protoFilesUnder(PROTO_DIR)) {
      const match = /^\s*package\s+([\w.]+)\s*;/m.exec(fs.readFileSync(path.join(PROTO_DIR, file), 'utf8'));
      if (!match) continue;
      const list = index.get(match[1]!) ?? [];
      list.push(file);
      index.set(match[1]!, list);
    }
    this.packageFiles = index;
    return index;
  }
}

function protoFilesUnder(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) out.push(...protoFilesUnder(dir, rel));
    else if (entry.name.endsWith('.proto')) out.push(rel);
  }
  return out;
}

let registryInstance: TypeRegistry | undefined;
function registry(): TypeRegistry {
  return (registryInstance ??= new TypeRegistry());
}

// ---------------------------------------------------------------------------------------------
// Rules as protobufjs parses them: `[{"(validate.rules)": {"uint32": {"lte": 65535}}}]`. A
// repeated rule written once (`not_in: 6`) comes back as a scalar, several times as an array.

type RuleSet = Readonly<Record<string, unknown>>;

function isRecord(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sub(rules: RuleSet | undefined, key: string): RuleSet | undefined {
  const v = rules?.[key];
  return isRecord(v) ? v : undefined;
}

function listOf(v: unknown): readonly unknown[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Merges the `(validate.rules)` entries of an options list (one per option statement). */
function validateRules(parsedOptions: unknown): RuleSet | undefined {
  let merged: RuleSet | undefined;
  for (const entry of listOf(parsedOptions)) {
    const rules = isRecord(entry) ? entry['(validate.rules)'] : undefined;
    if (isRecord(rules)) merged = merged ? deepMerge(merged, rules) : rules;
  }
  return merged;
}

function deepMerge(a: RuleSet, b: RuleSet): RuleSet {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isRecord(prev) && isRecord(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

function oneofRequired(oneof: protobuf.OneOf): boolean {
  for (const entry of listOf(oneof.parsedOptions as unknown)) {
    if (isRecord(entry) && entry['(validate.required)'] === true) return true;
  }
  return oneof.options?.['(validate.required)'] === true;
}

// ---------------------------------------------------------------------------------------------
// Per-type plans, built once per type: which fields carry rules or need descending into.

const NUMERIC_KINDS = new Set(['float', 'double', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64']);
const FLOAT_KINDS = new Set(['float', 'double']);
const WRAPPER_KINDS: Readonly<Record<string, string>> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};

/** What one value of a field (an item, for repeated and map fields) is. */
type ValueShape =
  | { readonly kind: 'scalar'; readonly scalar: string }
  | { readonly kind: 'enum'; readonly enumType: protobuf.Enum }
  | { readonly kind: 'message'; readonly type: protobuf.Type; readonly special: 'any' | 'duration' | 'timestamp' | 'plain' }
  | { readonly kind: 'wrapper'; readonly scalar: string };

interface FieldPlan {
  readonly name: string;
  readonly rules: RuleSet | undefined;
  /** A oneof member (or proto3 `optional`): its rules apply only when it is set. */
  readonly gated: boolean;
  readonly cardinality: 'single' | 'repeated' | 'map';
  readonly value: ValueShape;
  /** Map key type (map fields only). */
  readonly keyScalar: string;
}

interface TypePlan {
  readonly fields: readonly FieldPlan[];
  readonly requiredOneofs: readonly { readonly name: string; readonly members: readonly string[] }[];
}

const plans = new WeakMap<protobuf.Type, TypePlan>();

function planOf(type: protobuf.Type): TypePlan {
  let plan = plans.get(type);
  if (!plan) plans.set(type, (plan = buildPlan(type)));
  return plan;
}

function buildPlan(type: protobuf.Type): TypePlan {
  const fields: FieldPlan[] = [];
  for (const field of type.fieldsArray) {
    field.resolve();
    const rules = validateRules(field.parsedOptions as unknown);
    const value = shapeOf(field.type, field.resolvedType);
    // Scalars and enums without rules can break nothing; messages are always descended into.
    if (!rules && (value.kind === 'scalar' || value.kind === 'enum')) continue;
    fields.push({
      name: field.name,
      rules,
      gated: field.partOf !== null,
      cardinality: field.map ? 'map' : field.repeated ? 'repeated' : 'single',
      value,
      keyScalar: field instanceof protobuf.MapField ? field.keyType : '',
    });
  }
  const requiredOneofs = type.oneofsArray.filter(oneofRequired).map((o) => ({ name: o.name, members: [...o.oneof] }));
  return { fields, requiredOneofs };
}

function shapeOf(typeName: string, resolved: protobuf.Type | protobuf.Enum | null): ValueShape {
  if (resolved instanceof protobuf.Enum) return { kind: 'enum', enumType: resolved };
  if (!(resolved instanceof protobuf.Type)) return { kind: 'scalar', scalar: typeName };
  const wrapped = WRAPPER_KINDS[resolved.fullName];
  if (wrapped) return { kind: 'wrapper', scalar: wrapped };
  const special =
    resolved.fullName === '.google.protobuf.Any'
      ? 'any'
      : resolved.fullName === '.google.protobuf.Duration'
        ? 'duration'
        : resolved.fullName === '.google.protobuf.Timestamp'
          ? 'timestamp'
          : 'plain';
  return { kind: 'message', type: resolved, special };
}

// ---------------------------------------------------------------------------------------------
// Paths are built lazily: a linked list rendered only when a violation is reported.

interface PathNode {
  readonly parent: PathNode | undefined;
  readonly segment: string;
}

const child = (parent: PathNode, field: string): PathNode => ({ parent, segment: `.${field}` });
const indexed = (parent: PathNode, i: number): PathNode => ({ parent, segment: `[${i}]` });
const keyed = (parent: PathNode, key: string): PathNode => ({ parent, segment: `[${JSON.stringify(key)}]` });

function render(node: PathNode): string {
  const parts: string[] = [];
  for (let n: PathNode | undefined = node; n; n = n.parent) parts.push(n.segment);
  return parts.reverse().join('');
}

/** The last field name of a path, for messages ("port_value is 70000"). */
function fieldNameOf(node: PathNode): string {
  for (let n: PathNode | undefined = node; n; n = n.parent) {
    if (n.segment.startsWith('.')) return n.segment.slice(1);
  }
  return node.segment;
}

class Reporter {
  readonly violations: Violation[] = [];
  add(at: PathNode, rule: string, message: string): void {
    this.violations.push({ path: render(at), rule, message });
  }
}

// ---------------------------------------------------------------------------------------------
// Walking a message.

/** A protobufjs message viewed as its fields. */
type Fields = Readonly<Record<string, unknown>>;

function isSet(msg: Fields, name: string): boolean {
  return Object.hasOwn(msg, name) && msg[name] !== null && msg[name] !== undefined;
}

function walkMessage(type: protobuf.Type, msg: Fields, at: PathNode, out: Reporter): void {
  const plan = planOf(type);
  for (const oneof of plan.requiredOneofs) {
    if (!oneof.members.some((m) => isSet(msg, m))) {
      out.add(child(at, oneof.name), 'oneof.required', `exactly one of ${oneof.members.join(', ')} must be set; none is`);
    }
  }
  for (const field of plan.fields) {
    if (field.gated && !isSet(msg, field.name)) continue;
    const value = msg[field.name];
    const where = child(at, field.name);
    if (field.cardinality === 'repeated') checkRepeated(field, value, where, out);
    else if (field.cardinality === 'map') checkMap(field, value, where, out);
    else checkValue(field.value, field.rules, value, where, out);
  }
}

function checkRepeated(field: FieldPlan, value: unknown, at: PathNode, out: Reporter): void {
  const items = Array.isArray(value) ? value : [];
  const rules = sub(field.rules, 'repeated');
  if (rules) {
    checkCount('repeated', 'items', rules.min_items, rules.max_items, items.length, at, out);
    if (rules.unique === true) checkUnique(items, at, out);
  }
  const itemRules = sub(rules, 'items');
  items.forEach((item, i) => {
    checkValue(field.value, itemRules, item, indexed(at, i), out);
  });
}

function checkCount(kind: string, noun: string, min: unknown, max: unknown, count: number, at: PathNode, out: Reporter): void {
  const minKey = kind === 'map' ? 'min_pairs' : 'min_items';
  const maxKey = kind === 'map' ? 'max_pairs' : 'max_items';
  if (min !== undefined && count < Number(min)) {
    out.add(at, `${kind}.${minKey}=${Number(min)}`, `${fieldNameOf(at)} has ${count} ${noun}, must have at least ${Number(min)}`);
  }
  if (max !== undefined && count > Number(max)) {
    out.add(at, `${kind}.${maxKey}=${Number(max)}`, `${fieldNameOf(at)} has ${count} ${noun}, must have at most ${Number(max)}`);
  }
}

function checkUnique(items: readonly unknown[], at: PathNode, out: Reporter): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const key = show(item);
    if (seen.has(key)) out.add(indexed(at, i), 'repeated.unique', `${fieldNameOf(at)}[${i}] repeats ${key}; items must be unique`);
    seen.add(key);
  });
}

function checkMap(field: FieldPlan, value: unknown, at: PathNode, out: Reporter): void {
  const entries = isRecord(value) ? Object.entries(value) : [];
  const rules = sub(field.rules, 'map');
  if (rules) checkCount('map', 'pairs', rules.min_pairs, rules.max_pairs, entries.length, at, out);
  const keyRules = sub(rules, 'keys');
  const valueRules = sub(rules, 'values');
  for (const [key, v] of entries) {
    const where = keyed(at, key);
    if (keyRules) checkScalar(field.keyScalar, keyRules, mapKey(field.keyScalar, key), where, out, 'map.keys.');
    if (rules?.no_sparse === true && (v === null || v === undefined)) {
      out.add(where, 'map.no_sparse', `${fieldNameOf(at)}[${JSON.stringify(key)}] has no value`);
    }
    checkValue(field.value, valueRules, v, where, out);
  }
}

/** Map keys are strings in JS; rules compare them as their declared type. */
function mapKey(keyScalar: string, key: string): unknown {
  if (keyScalar === 'string') return key;
  if (keyScalar === 'bool') return key === 'true';
  return NUMERIC_KINDS.has(keyScalar) ? Number(key) : key;
}

/** One value (a singular field, an item, a map value) against the rules that apply to it. */
function checkValue(shape: ValueShape, rules: RuleSet | undefined, value: unknown, at: PathNode, out: Reporter): void {
  switch (shape.kind) {
    case 'scalar':
      if (rules) checkScalar(shape.scalar, rules, value, at, out);
      return;
    case 'enum':
      if (rules) checkEnum(shape.enumType, sub(rules, 'enum'), value, at, out);
      return;
    case 'wrapper':
      checkWrapper(shape.scalar, rules, value, at, out);
      return;
    case 'message':
      checkMessageValue(shape, rules, value, at, out);
      return;
  }
}

function checkMessageValue(shape: Extract<ValueShape, { kind: 'message' }>, rules: RuleSet | undefined, value: unknown, at: PathNode, out: Reporter): void {
  if (!isRecord(value)) {
    const required = requiredRule(rules);
    if (required) out.add(at, required, `${fieldNameOf(at)} is required but not set`);
    return;
  }
  if (sub(rules, 'message')?.skip === true) return;
  if (shape.special === 'duration') checkDuration(sub(rules, 'duration'), value, at, out);
  else if (shape.special === 'timestamp') checkTimestamp(sub(rules, 'timestamp'), value, at, out);
  else if (shape.special === 'any') checkAnyValue(sub(rules, 'any'), value, at, out);
  else walkMessage(shape.type, value, at, out);
}

/** Which rule makes an unset message field a violation, if any. */
function requiredRule(rules: RuleSet | undefined): string | undefined {
  if (sub(rules, 'message')?.required === true) return 'message.required';
  // any/duration/timestamp carry their own `required`. Envoy's config_source.proto puts
  // `any.required` on a plain message field (ExtensionConfigSource.config_source); it is read
  // here as the "must be set" it plainly means.
  for (const kind of ['any', 'duration', 'timestamp']) {
    if (sub(rules, kind)?.required === true) return `${kind}.required`;
  }
  return undefined;
}

function checkWrapper(scalar: string, rules: RuleSet | undefined, value: unknown, at: PathNode, out: Reporter): void {
  if (!isRecord(value)) {
    if (sub(rules, 'message')?.required === true) out.add(at, 'message.required', `${fieldNameOf(at)} is required but not set`);
    return;
  }
  if (rules) checkScalar(scalar, rules, value.value ?? defaultOf(scalar), at, out);
}

function defaultOf(scalar: string): unknown {
  if (scalar === 'string') return '';
  if (scalar === 'bool') return false;
  if (scalar === 'bytes') return new Uint8Array(0);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Scalars.

function checkScalar(scalar: string, rules: RuleSet, value: unknown, at: PathNode, out: Reporter, rulePrefix = ''): void {
  if (scalar === 'string') checkString(sub(rules, 'string'), typeof value === 'string' ? value : '', at, out, rulePrefix);
  else if (scalar === 'bytes') checkBytes(sub(rules, 'bytes'), value instanceof Uint8Array ? value : new Uint8Array(0), at, out, rulePrefix);
  else if (scalar === 'bool') checkBool(sub(rules, 'bool'), value === true, at, out, rulePrefix);
  else if (NUMERIC_KINDS.has(scalar)) {
    const kindRules = sub(rules, scalar);
    if (kindRules) checkNumber(scalar, kindRules, value, at, out, rulePrefix);
  }
}

// PGV's patterns (protoc-gen-validate templates); `strict: false` only forbids NUL, CR and LF.
const HEADER_NAME_STRICT = /^:?[0-9a-zA-Z!#$%&'*+-.^_|~`]+$/;
const HEADER_VALUE_STRICT = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
const HEADER_LOOSE = /^[^\u0000\u000A\u000D]*$/;

const regexCache = new Map<string, RegExp>();
/** RE2 patterns as JS RegExps: unicode mode when the pattern allows it (Envoy's all do). */
function compiled(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    try {
      re = new RegExp(pattern, 'u');
    } catch {
      re = new RegExp(pattern);
    }
    regexCache.set(pattern, re);
  }
  return re;
}

function checkString(rules: RuleSet | undefined, s: string, at: PathNode, out: Reporter, prefix: string): void {
  if (!rules || (rules.ignore_empty === true && s === '')) return;
  const name = subjectOf(at, prefix);
  const fail = (rule: string, why: string): void => out.add(at, `${prefix}string.${rule}`, `${name} is ${show(s)}: ${why}`);
  const chars = [...s].length; // PGV counts code points, not UTF-16 units
  const bytes = Buffer.byteLength(s, 'utf8');
  const n = (k: string): number | undefined => (rules[k] === undefined ? undefined : Number(rules[k]));
  const text = (k: string): string | undefined => (typeof rules[k] === 'string' ? (rules[k] as string) : undefined);

  if (text('const') !== undefined && s !== text('const')) fail(`const=${text('const')}`, `must be ${show(text('const'))}`);
  if (n('len') !== undefined && chars !== n('len')) fail(`len=${n('len')}`, `must be exactly ${plural(n('len')!, 'character')}`);
  if (n('min_len') !== undefined && chars < n('min_len')!) fail(`min_len=${n('min_len')}`, `must be at least ${plural(n('min_len')!, 'character')}`);
  if (n('max_len') !== undefined && chars > n('max_len')!) fail(`max_len=${n('max_len')}`, `must be at most ${plural(n('max_len')!, 'character')}`);
  if (n('len_bytes') !== undefined && bytes !== n('len_bytes')) fail(`len_bytes=${n('len_bytes')}`, `must be exactly ${plural(n('len_bytes')!, 'byte')}`);
  if (n('min_bytes') !== undefined && bytes < n('min_bytes')!) fail(`min_bytes=${n('min_bytes')}`, `must be at least ${plural(n('min_bytes')!, 'byte')}`);
  if (n('max_bytes') !== undefined && bytes > n('max_bytes')!)
    fail(`max_bytes=${n('max_bytes')}`, `must be at most ${plural(n('max_bytes')!, 'byte')} (is ${bytes})`);
  const pattern = text('pattern');
  if (pattern !== undefined && !compiled(pattern).test(s)) fail(`pattern=${pattern}`, `must match /${pattern}/`);
  const pre = text('prefix');
  if (pre !== undefined && !s.startsWith(pre)) fail(`prefix=${pre}`, `must start with ${show(pre)}`);
  const suf = text('suffix');
  if (suf !== undefined && !s.endsWith(suf)) fail(`suffix=${suf}`, `must end with ${show(suf)}`);
  const has = text('contains');
  if (has !== undefined && !s.includes(has)) fail(`contains=${has}`, `must contain ${show(has)}`);
  const hasNot = text('not_contains');
  if (hasNot !== undefined && s.includes(hasNot)) fail(`not_contains=${hasNot}`, `must not contain ${show(hasNot)}`);
  checkMembership(
    'string',
    rules,
    s,
    (a, b) => a === b,
    (v) => show(v),
    at,
    out,
    prefix,
  );
  checkHeaderRegex(rules, s, fail);
}

/** How messages name the checked value: the field, or "the key of" it for map keys. */
function subjectOf(at: PathNode, rulePrefix: string): string {
  return rulePrefix === 'map.keys.' ? `a key of ${fieldNameOf(at)}` : fieldNameOf(at);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function checkHeaderRegex(rules: RuleSet, s: string, fail: (rule: string, why: string) => void): void {
  const known = rules.well_known_regex;
  if (known !== 'HTTP_HEADER_NAME' && known !== 'HTTP_HEADER_VALUE' && known !== 1 && known !== 2) return;
  const isName = known === 'HTTP_HEADER_NAME' || known === 1;
  const strict = rules.strict !== false; // PGV: `optional bool strict = 25 [default = true]`
  const re = strict ? (isName ? HEADER_NAME_STRICT : HEADER_VALUE_STRICT) : HEADER_LOOSE;
  if (re.test(s)) return;
  const what = isName ? 'HTTP_HEADER_NAME' : 'HTTP_HEADER_VALUE';
  // The loose pattern accepts "" for names; PGV's name check is `+` only when strict.
  fail(`well_known_regex=${what}`, `must be a valid ${isName ? 'header name' : 'header value'} (${strict ? 'strict RFC 7230' : 'no NUL, CR or LF'})`);
}

function checkBytes(rules: RuleSet | undefined, b: Uint8Array, at: PathNode, out: Reporter, prefix: string): void {
  if (!rules) return;
  const name = subjectOf(at, prefix);
  const n = (k: string): number | undefined => (rules[k] === undefined ? undefined : Number(rules[k]));
  const fail = (rule: string, why: string): void => out.add(at, `${prefix}bytes.${rule}`, `${name} has ${b.length} bytes: ${why}`);
  if (n('len') !== undefined && b.length !== n('len')) fail(`len=${n('len')}`, `must have exactly ${n('len')}`);
  if (n('min_len') !== undefined && b.length < n('min_len')!) fail(`min_len=${n('min_len')}`, `must have at least ${n('min_len')}`);
  if (n('max_len') !== undefined && b.length > n('max_len')!) fail(`max_len=${n('max_len')}`, `must have at most ${n('max_len')}`);
}

function checkBool(rules: RuleSet | undefined, b: boolean, at: PathNode, out: Reporter, prefix: string): void {
  const want = rules?.const;
  if (typeof want === 'boolean' && b !== want) out.add(at, `${prefix}bool.const=${want}`, `${subjectOf(at, prefix)} is ${b}, must be ${want}`);
}

// Numbers: integer kinds compare as bigint (exact for 64-bit values), float kinds as numbers.
type Num = number | bigint;

function toNum(kind: string, raw: unknown): Num | undefined {
  if (FLOAT_KINDS.has(kind)) {
    const n = typeof raw === 'number' ? raw : Number(String(raw));
    return Number.isNaN(n) && typeof raw !== 'number' ? undefined : n;
  }
  return toBigInt(raw);
}

function toBigInt(raw: unknown): bigint | undefined {
  if (typeof raw === 'bigint') return raw;
  if (typeof raw === 'number') return Number.isInteger(raw) ? BigInt(raw) : undefined;
  if (typeof raw === 'string') return /^-?\d+$/.test(raw) ? BigInt(raw) : undefined;
  // protobufjs Long: toString() honours its `unsigned` flag.
  if (isRecord(raw) && typeof raw.low === 'number' && typeof raw.high === 'number') return BigInt(String(raw));
  return undefined;
}

function checkNumber(kind: string, rules: RuleSet, raw: unknown, at: PathNode, out: Reporter, prefix: string): void {
  const v = toNum(kind, raw ?? 0);
  if (v === undefined) return;
  if (rules.ignore_empty === true && (v === 0 || v === 0n)) return;
  const bound = (k: string): Num | undefined => (rules[k] === undefined ? undefined : toNum(kind, rules[k]));
  const fail = (rule: string, why: string): void => out.add(at, `${prefix}${kind}.${rule}`, `${subjectOf(at, prefix)} is ${String(v)}: ${why}`);
  const c = bound('const');
  if (c !== undefined && v !== c) fail(`const=${c}`, `must be ${c}`);
  checkBounds(v, bound('gt'), bound('gte'), bound('lt'), bound('lte'), fail);
  checkMembership(
    kind,
    rules,
    v,
    (a, b) => a === toNum(kind, b),
    (x) => String(x),
    at,
    out,
    prefix,
  );
}

/**
 * gt/gte and lt/lte; when the lower bound is above the upper one PGV reads the pair as an
 * exclusive range ("outside [lt, gt]"), so the value must satisfy either bound, not both.
 */
function checkBounds<T extends Num>(
  v: T,
  gt: T | undefined,
  gte: T | undefined,
  lt: T | undefined,
  lte: T | undefined,
  fail: (rule: string, why: string) => void,
  fmt: (x: T) => string = String,
): void {
  const lower = gt !== undefined ? { key: 'gt', at: gt, ok: v > gt } : gte !== undefined ? { key: 'gte', at: gte, ok: v >= gte } : undefined;
  const upper = lt !== undefined ? { key: 'lt', at: lt, ok: v < lt } : lte !== undefined ? { key: 'lte', at: lte, ok: v <= lte } : undefined;
  const sym: Readonly<Record<string, string>> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };
  if (lower && upper && lower.at > upper.at) {
    if (!lower.ok && !upper.ok) {
      fail(`${upper.key}=${fmt(upper.at)},${lower.key}=${fmt(lower.at)}`, `must be ${sym[upper.key]} ${fmt(upper.at)} or ${sym[lower.key]} ${fmt(lower.at)}`);
    }
    return;
  }
  if (lower && !lower.ok) fail(`${lower.key}=${fmt(lower.at)}`, `must be ${sym[lower.key]} ${fmt(lower.at)}`);
  if (upper && !upper.ok) fail(`${upper.key}=${fmt(upper.at)}`, `must be ${sym[upper.key]} ${fmt(upper.at)}`);
}

function checkMembership<T>(
  kind: string,
  rules: RuleSet,
  v: T,
  equals: (v: T, ruleValue: unknown) => boolean,
  fmt: (v: T) => string,
  at: PathNode,
  out: Reporter,
  prefix = '',
): void {
  const allowed = listOf(rules.in);
  const banned = listOf(rules.not_in);
  if (allowed.length > 0 && !allowed.some((a) => equals(v, a))) {
    out.add(at, `${prefix}${kind}.in=${JSON.stringify(allowed)}`, `${subjectOf(at, prefix)} is ${fmt(v)}: must be one of ${JSON.stringify(allowed)}`);
  }
  if (banned.some((b) => equals(v, b))) {
    out.add(at, `${prefix}${kind}.not_in=${JSON.stringify(banned)}`, `${subjectOf(at, prefix)} is ${fmt(v)}: must not be one of ${JSON.stringify(banned)}`);
  }
}

function checkEnum(enumType: protobuf.Enum, rules: RuleSet | undefined, raw: unknown, at: PathNode, out: Reporter): void {
  if (!rules) return;
  const v = typeof raw === 'number' ? raw : typeof raw === 'string' ? (enumType.values[raw] ?? Number.NaN) : 0;
  const label = enumType.valuesById[v] !== undefined ? `${v} (${enumType.valuesById[v]})` : String(raw);
  const name = fieldNameOf(at);
  if (rules.const !== undefined && v !== Number(rules.const)) {
    out.add(at, `enum.const=${Number(rules.const)}`, `${name} is ${label}: must be ${Number(rules.const)}`);
  }
  if (rules.defined_only === true && enumType.valuesById[v] === undefined) {
    out.add(at, 'enum.defined_only', `${name} is ${label}, which is not a value of ${enumType.name}`);
  }
  checkMembership(
    'enum',
    rules,
    v,
    (a, b) => a === Number(b),
    () => label,
    at,
    out,
  );
}

// ---------------------------------------------------------------------------------------------
// Well-known message types.

const NANOS_PER_SECOND = 1_000_000_000n;
// google/protobuf/duration.proto: seconds within +-10,000 years.
const MAX_DURATION_SECONDS = 315_576_000_000n;

/** Duration or Timestamp (seconds, nanos) as total nanoseconds. */
function totalNanos(value: Readonly<Record<string, unknown>>): bigint {
  return (toBigInt(value.seconds ?? 0) ?? 0n) * NANOS_PER_SECOND + (toBigInt(value.nanos ?? 0) ?? 0n);
}

function formatSeconds(nanos: bigint): string {
  const sign = nanos < 0n ? '-' : '';
  const abs = nanos < 0n ? -nanos : nanos;
  const frac = abs % NANOS_PER_SECOND;
  const fracText = frac === 0n ? '' : `.${frac.toString().padStart(9, '0').replace(/0+$/, '')}`;
  return `${sign}${abs / NANOS_PER_SECOND}${fracText}s`;
}

function checkDuration(rules: RuleSet | undefined, value: Readonly<Record<string, unknown>>, at: PathNode, out: Reporter): void {
  const v = totalNanos(value);
  const seconds = toBigInt(value.seconds ?? 0) ?? 0n;
  const nanos = Number(value.nanos ?? 0);
  if (seconds < 0n || nanos < 0 || nanos > 999_999_999 || seconds > MAX_DURATION_SECONDS) {
    out.add(
      at,
      'envoy.duration_valid',
      `${fieldNameOf(at)} is ${formatSeconds(v)} (seconds ${seconds}, nanos ${nanos}): Envoy accepts only non-negative, in-range durations`,
    );
  }
  if (rules) checkTimeRules('duration', rules, v, at, out);
}

function checkTimestamp(rules: RuleSet | undefined, value: Readonly<Record<string, unknown>>, at: PathNode, out: Reporter): void {
  if (rules) checkTimeRules('timestamp', rules, totalNanos(value), at, out);
}

function checkTimeRules(kind: 'duration' | 'timestamp', rules: RuleSet, v: bigint, at: PathNode, out: Reporter): void {
  const bound = (k: string): bigint | undefined => {
    const r = rules[k];
    return isRecord(r) ? totalNanos(r) : undefined;
  };
  const fail = (rule: string, why: string): void => out.add(at, `${kind}.${rule}`, `${fieldNameOf(at)} is ${formatSeconds(v)}: ${why}`);
  const c = bound('const');
  if (c !== undefined && v !== c) fail(`const=${formatSeconds(c)}`, `must be ${formatSeconds(c)}`);
  checkBounds(v, bound('gt'), bound('gte'), bound('lt'), bound('lte'), fail, formatSeconds);
  const inRule = listOf(rules.in).filter(isRecord).map(totalNanos);
  if (inRule.length > 0 && !inRule.includes(v)) fail(`in=[${inRule.map(formatSeconds).join(',')}]`, 'must be one of those');
  const notIn = listOf(rules.not_in).filter(isRecord).map(totalNanos);
  if (notIn.includes(v)) fail(`not_in=[${notIn.map(formatSeconds).join(',')}]`, 'must not be one of those');
}

/** A nested Any: its type_url rules, then its content, decoded by type_url, walked in place. */
function checkAnyValue(rules: RuleSet | undefined, any: Readonly<Record<string, unknown>>, at: PathNode, out: Reporter): void {
  const typeUrl = typeof any.type_url === 'string' ? any.type_url : '';
  const name = fieldNameOf(at);
  if (rules) checkMembership('any', rules, typeUrl, (a, b) => a === b, show, at, out);
  if (typeUrl === '') {
    out.add(at, 'any.type_url', `${name} is an Any without a type_url: no xDS client can unpack it`);
    return;
  }
  const type = registry().typeOfUrl(typeUrl);
  if (!type) {
    if (listOf(rules?.in).length > 0) out.add(at, 'any.unknown_type', `${name} holds ${typeUrl}, a type the vendored protos do not define`);
    return;
  }
  const bytes = any.value instanceof Uint8Array ? any.value : new Uint8Array(0);
  let decoded: protobuf.Message;
  try {
    decoded = type.decode(bytes);
  } catch (err) {
    out.add(at, 'any.decode', `${name} does not decode as ${typeUrl}: ${(err as Error).message}`);
    return;
  }
  walkMessage(type, decoded as unknown as Fields, at, out);
}

// ---------------------------------------------------------------------------------------------
// Proto-JSON input: report what fromObject would silently drop or coerce, then convert.

function shapeCheck(type: protobuf.Type, obj: Readonly<Record<string, unknown>>, at: PathNode, out: Reporter): void {
  const isAny = type.fullName === '.google.protobuf.Any';
  if (isAny && typeof obj['@type'] === 'string') {
    shapeCheckInlineAny(obj['@type'], obj, at, out);
    return;
  }
  for (const [key, value] of Object.entries(obj)) {
    const field = type.fields[key];
    if (!field) {
      out.add(child(at, key), 'proto.unknown_field', `${type.name} has no field ${key} (fromObject would drop it)`);
      continue;
    }
    if (value === null || value === undefined) continue;
    field.resolve();
    const where = child(at, key);
    if (field.map) {
      if (!isRecord(value)) out.add(where, 'proto.shape', `${key} is a map; got ${show(value)}`);
      else for (const [k, v] of Object.entries(value)) shapeCheckValue(field, v, keyed(where, k), out);
    } else if (field.repeated) {
      if (!Array.isArray(value)) out.add(where, 'proto.shape', `${key} is repeated; got ${show(value)}`);
      else
        value.forEach((v, i) => {
          shapeCheckValue(field, v, indexed(where, i), out);
        });
    } else {
      shapeCheckValue(field, value, where, out);
    }
  }
}

function shapeCheckInlineAny(typeUrl: string, obj: Readonly<Record<string, unknown>>, at: PathNode, out: Reporter): void {
  const inner = registry().typeOfUrl(typeUrl);
  if (!inner) {
    out.add(at, 'any.unknown_type', `${fieldNameOf(at)} has @type ${typeUrl}, which is not in the vendored protos (it would be encoded as an empty Any)`);
    return;
  }
  const { '@type': _ignored, ...fields } = obj;
  shapeCheck(inner, fields, at, out);
}

function shapeCheckValue(field: protobuf.Field, value: unknown, at: PathNode, out: Reporter): void {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    if (!isRecord(value)) out.add(at, 'proto.shape', `${fieldNameOf(at)} must be an object (${resolved.name}); got ${show(value)}`);
    else shapeCheck(resolved, value, at, out);
  } else if (resolved instanceof protobuf.Enum) {
    if (typeof value === 'string' && resolved.values[value] === undefined) {
      out.add(at, 'proto.enum_name', `${fieldNameOf(at)} is ${show(value)}, not a name in ${resolved.name} (fromObject would send 0)`);
    } else if (typeof value !== 'string' && !Number.isInteger(value)) {
      out.add(at, 'proto.shape', `${fieldNameOf(at)} must be an enum name or number; got ${show(value)}`);
    }
  } else if (!scalarFits(field.type, value)) {
    out.add(at, 'proto.shape', `${fieldNameOf(at)} must be a ${field.type}; got ${show(value)}`);
  }
}

function scalarFits(scalar: string, value: unknown): boolean {
  if (scalar === 'string') return typeof value === 'string';
  if (scalar === 'bool') return typeof value === 'boolean';
  if (scalar === 'bytes') return typeof value === 'string' || value instanceof Uint8Array || Array.isArray(value);
  if (FLOAT_KINDS.has(scalar)) return typeof value === 'number' || (typeof value === 'string' && !Number.isNaN(Number(value)));
  return toBigInt(value) !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Public API.

/**
 * Checks one message of type `fullTypeName` (e.g. "envoy.config.cluster.v3.Cluster"), given as a
 * protobufjs Message (from decode/fromObject of any Root) or as proto-JSON (snake_case, enums by
 * name or number, Any as {'@type', ...}). `label` starts every path; it defaults to
 * "Cluster[name]" (the resource's name or cluster_name).
 */
export function checkMessage(fullTypeName: string, decoded: protobuf.Message | object, label?: string): Violation[] {
  const type = registry().messageType(fullTypeName);
  if (!type) throw new Error(`proto-constraints: unknown message type ${fullTypeName}`);
  const out = new Reporter();
  const at: PathNode = { parent: undefined, segment: label ?? defaultLabel(type, decoded) };
  const message = decoded instanceof protobuf.Message ? decoded : fromJson(type, decoded as Readonly<Record<string, unknown>>, at, out);
  if (message) walkMessage(type, message as unknown as Fields, at, out);
  return out.violations;
}

/** Checks a serialized google.protobuf.Any (an xDS resource as sent), nested Anys included. */
export function checkAny(anyBytes: Uint8Array, label?: string): Violation[] {
  const reg = registry();
  const anyType = reg.messageType('google.protobuf.Any')!;
  const any = anyType.decode(anyBytes) as unknown as { type_url: string; value: Uint8Array };
  const type = reg.typeOfUrl(any.type_url);
  if (!type) {
    return [{ path: label ?? any.type_url, rule: 'any.unknown_type', message: `resource type ${show(any.type_url)} is not in the vendored protos` }];
  }
  let message: protobuf.Message;
  try {
    message = type.decode(any.value);
  } catch (err) {
    return [{ path: label ?? type.name, rule: 'any.decode', message: `resource does not decode as ${any.type_url}: ${(err as Error).message}` }];
  }
  return checkMessage(type.fullName, message, label);
}

function fromJson(type: protobuf.Type, json: Readonly<Record<string, unknown>>, at: PathNode, out: Reporter): protobuf.Message | undefined {
  // A resource unpacked from an Any may keep its '@type'; it is not a field of the type itself.
  const { '@type': _typeUrl, ...obj } = json;
  // Also loads every '@type' the object names, so fromObject can find them in our Root.
  shapeCheck(type, obj, at, out);
  try {
    return type.fromObject(obj);
  } catch (err) {
    out.add(at, 'proto.shape', `${type.name} does not convert from JSON: ${(err as Error).message}`);
    return undefined;
  }
}

function defaultLabel(type: protobuf.Type, decoded: object): string {
  const fields = decoded as Fields;
  const name = typeof fields.name === 'string' ? fields.name : typeof fields.cluster_name === 'string' ? fields.cluster_name : undefined;
  return name === undefined ? type.name : `${type.name}[${name}]`;
}

/** A short, single-line rendering of a value for messages. */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (typeof v === 'bigint') return v.toString();
  if (isRecord(v) && typeof v.low === 'number') return String(v);
  if (typeof v === 'object' && v !== null) {
    const text = JSON.stringify(v);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  }
  return String(v);
}

// ---------------------------------------------------------------------------------------------
// Cross-resource consistency of one response set (proto-JSON objects).

export interface ResourceSet {
  clusters: object[];
  endpoints: object[];
  listeners: object[];
  routes: object[];
  /**
   * Names the set may reference that live on the node, not in xDS: SDS secrets and the bootstrap
   * cluster of the SDS agent (Envoy), certificate provider instances (gRPC bootstrap). When given,
   * every such reference must be one of them (what zk-xds documents the node must provide).
   */
  nodeProvides?: readonly string[];
}

type Json = Readonly<Record<string, unknown>>;

const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY_TYPE = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

/**
 * References that must resolve within the set, and names that must be unique:
 * routes -> clusters (route.cluster, weighted_clusters, request mirrors), EDS clusters ->
 * ClusterLoadAssignments (eds_cluster_config.service_name, else the cluster name), HCM rds ->
 * RouteConfigurations (api_listener and filter chains; inline route_config routes -> clusters),
 * TcpProxy -> clusters; one name per resource of a type; one listener per socket address.
 */
export function checkResourceSet(resources: ResourceSet): Violation[] {
  const out = new Reporter();
  const clusters = namesOf(resources.clusters, 'Cluster', 'name', out);
  const assignments = namesOf(resources.endpoints, 'ClusterLoadAssignment', 'cluster_name', out);
  const routeConfigs = namesOf(resources.routes, 'RouteConfiguration', 'name', out);
  namesOf(resources.listeners, 'Listener', 'name', out);
  const refs: References = { clusters, assignments, routeConfigs, out };

  for (const cluster of resources.clusters as Json[]) checkClusterRefs(cluster, refs);
  for (const route of resources.routes as Json[]) checkRouteConfigRefs(route, root('RouteConfiguration', route), refs);
  for (const listener of resources.listeners as Json[]) checkListenerRefs(listener, refs);
  checkListenerAddresses(resources.listeners as Json[], out);
  if (resources.nodeProvides) {
    const provided = new Set(resources.nodeProvides);
    for (const [kind, list] of [
      ['Cluster', resources.clusters],
      ['Listener', resources.listeners],
    ] as const) {
      for (const r of list as Json[]) checkNodeNames(r, root(kind, r), provided, out);
    }
  }
  return out.violations;
}

interface References {
  readonly clusters: ReadonlySet<string>;
  readonly assignments: ReadonlySet<string>;
  readonly routeConfigs: ReadonlySet<string>;
  readonly out: Reporter;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Json | undefined => (isRecord(v) ? v : undefined);
const arr = (v: unknown): readonly unknown[] => (Array.isArray(v) ? v : []);

function root(kind: string, resource: Json, nameKey = 'name'): PathNode {
  return { parent: undefined, segment: `${kind}[${str(resource[nameKey]) ?? ''}]` };
}

function namesOf(resources: readonly object[], kind: string, nameKey: string, out: Reporter): Set<string> {
  const names = new Set<string>();
  for (const r of resources as Json[]) {
    const name = str(r[nameKey]) ?? '';
    if (names.has(name)) out.add(child(root(kind, r, nameKey), nameKey), 'unique.name', `two ${kind} resources are named ${show(name)}`);
    names.add(name);
  }
  return names;
}

function requireRef(set: ReadonlySet<string>, kind: string, name: string | undefined, at: PathNode, out: Reporter, rule: string): void {
  if (name !== undefined && !set.has(name)) out.add(at, rule, `${fieldNameOf(at)} names ${kind} ${show(name)}, which is not in the response set`);
}

function isEds(cluster: Json): boolean {
  return cluster.type === 'EDS' || cluster.type === 3;
}

function checkClusterRefs(cluster: Json, refs: References): void {
  if (!isEds(cluster)) return;
  const at = root('Cluster', cluster);
  const serviceName = str(obj(cluster.eds_cluster_config)?.service_name);
  const target = serviceName !== undefined && serviceName !== '' ? serviceName : str(cluster.name);
  const where = serviceName ? child(child(at, 'eds_cluster_config'), 'service_name') : child(at, 'name');
  requireRef(refs.assignments, 'ClusterLoadAssignment', target, where, refs.out, 'ref.cluster_load_assignment');
}

function checkRouteConfigRefs(config: Json, at: PathNode, refs: References): void {
  arr(config.virtual_hosts).forEach((vh, v) => {
    const vhAt = indexed(child(at, 'virtual_hosts'), v);
    arr(obj(vh)?.routes).forEach((route, r) => {
      const action = obj(obj(route)?.route);
      if (action) checkRouteActionRefs(action, child(indexed(child(vhAt, 'routes'), r), 'route'), refs);
    });
  });
}

function checkRouteActionRefs(action: Json, at: PathNode, refs: References): void {
  requireRef(refs.clusters, 'Cluster', str(action.cluster), child(at, 'cluster'), refs.out, 'ref.cluster');
  checkWeightedClusters(action, at, refs);
  arr(action.request_mirror_policies).forEach((m, i) => {
    const where = child(indexed(child(at, 'request_mirror_policies'), i), 'cluster');
    requireRef(refs.clusters, 'Cluster', str(obj(m)?.cluster), where, refs.out, 'ref.cluster');
  });
}

/** route.weighted_clusters and TcpProxy.weighted_clusters: {clusters: [{name}]} both. */
function checkWeightedClusters(holder: Json, at: PathNode, refs: References): void {
  const wcAt = child(child(at, 'weighted_clusters'), 'clusters');
  arr(obj(holder.weighted_clusters)?.clusters).forEach((c, i) => {
    requireRef(refs.clusters, 'Cluster', str(obj(c)?.name), child(indexed(wcAt, i), 'name'), refs.out, 'ref.cluster');
  });
}

function checkListenerRefs(listener: Json, refs: References): void {
  const at = root('Listener', listener);
  const api = obj(obj(listener.api_listener)?.api_listener);
  if (api) checkNetworkFilterConfig(api, child(child(at, 'api_listener'), 'api_listener'), refs);
  const chains: { chain: unknown; at: PathNode }[] = arr(listener.filter_chains).map((chain, i) => ({ chain, at: indexed(child(at, 'filter_chains'), i) }));
  if (listener.default_filter_chain !== undefined) chains.push({ chain: listener.default_filter_chain, at: child(at, 'default_filter_chain') });
  for (const { chain, at: chainAt } of chains) {
    arr(obj(chain)?.filters).forEach((filter, f) => {
      const config = obj(obj(filter)?.typed_config);
      if (config) checkNetworkFilterConfig(config, child(indexed(child(chainAt, 'filters'), f), 'typed_config'), refs);
    });
  }
}

/** An HCM or TcpProxy held in an Any (proto-JSON: '@type' inline, or type_url + value). */
function checkNetworkFilterConfig(any: Json, at: PathNode, refs: References): void {
  const unpacked = unpackAnyJson(any);
  if (!unpacked) return;
  if (unpacked.typeName === HCM_TYPE) {
    const rdsName = str(obj(unpacked.body.rds)?.route_config_name);
    requireRef(refs.routeConfigs, 'RouteConfiguration', rdsName, child(child(at, 'rds'), 'route_config_name'), refs.out, 'ref.route_configuration');
    const inline = obj(unpacked.body.route_config);
    if (inline) checkRouteConfigRefs(inline, child(at, 'route_config'), refs);
  } else if (unpacked.typeName === TCP_PROXY_TYPE) {
    requireRef(refs.clusters, 'Cluster', str(unpacked.body.cluster), child(at, 'cluster'), refs.out, 'ref.cluster');
    checkWeightedClusters(unpacked.body, at, refs);
  }
}

function unpackAnyJson(any: Json): { typeName: string; body: Json } | undefined {
  const inline = str(any['@type']);
  if (inline !== undefined) return { typeName: inline.slice(inline.lastIndexOf('/') + 1), body: any };
  const typeUrl = str(any.type_url);
  if (typeUrl === undefined) return undefined;
  const type = registry().typeOfUrl(typeUrl);
  const raw = any.value;
  if (!type || raw === undefined) return undefined;
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'base64') : raw instanceof Uint8Array ? raw : undefined;
  if (!bytes) return undefined;
  const body = type.toObject(type.decode(bytes), { enums: String, longs: String, defaults: false, json: true });
  return { typeName: type.fullName.slice(1), body };
}

/**
 * Every SDS secret (`name` next to an `sds_config`), SDS agent cluster (`envoy_grpc.cluster_name`
 * inside an `sds_config`) and certificate provider instance (`instance_name`) must be provided.
 */
function checkNodeNames(value: unknown, at: PathNode, provided: ReadonlySet<string>, out: Reporter, inSds = false): void {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) checkNodeNames(v, indexed(at, i), provided, out, inSds);
    return;
  }
  const o = obj(value);
  if (!o) return;
  const need = (name: unknown, what: string, field: string) => {
    const n = str(name);
    if (n !== undefined && !provided.has(n))
      out.add(child(at, field), 'node.provides', `${what} ${show(n)} is not among the names the node is documented to provide`);
  };
  if (o.sds_config !== undefined) need(o.name, 'SDS secret', 'name');
  const envoyGrpc = obj(o.envoy_grpc);
  if (inSds && envoyGrpc) need(envoyGrpc.cluster_name, 'SDS agent cluster', 'envoy_grpc');
  if (o.instance_name !== undefined) need(o.instance_name, 'certificate provider instance', 'instance_name');
  for (const [k, v] of Object.entries(o)) checkNodeNames(v, child(at, k), provided, out, inSds || k === 'sds_config');
}

function checkListenerAddresses(listeners: readonly Json[], out: Reporter): void {
  const seen = new Map<string, string>();
  for (const listener of listeners) {
    const socket = obj(obj(listener.address)?.socket_address);
    if (!socket) continue;
    const protocol = str(socket.protocol) ?? (socket.protocol === 1 ? 'UDP' : 'TCP');
    const key = `${protocol} ${str(socket.address) ?? ''}:${String(socket.port_value ?? socket.named_port ?? 0)}`;
    const name = str(listener.name) ?? '';
    const first = seen.get(key);
    if (first !== undefined) {
      out.add(child(root('Listener', listener), 'address'), 'unique.address', `listeners ${show(first)} and ${show(name)} both bind ${key}`);
    } else {
      seen.set(key, name);
    }
  }
}
