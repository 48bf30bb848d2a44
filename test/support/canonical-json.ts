// Converts proto3 canonical JSON (what Envoy reads from YAML/JSON config: Duration "1.5s", Struct
// as a plain object, wrappers as bare values, Any with "@type") into the object form protobufjs's
// fromObject and the constraint checker expect. Walks the message type, so only fields whose type
// calls for it are converted.
import protobuf from 'protobufjs';
import { envoyRoot } from '../../src/xds/protos.js';

const WRAPPERS = new Set(
  ['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map(
    (n) => `google.protobuf.${n}`,
  ),
);

export function fromCanonicalJson(fullTypeName: string, json: unknown, root: protobuf.Root = envoyRoot()): unknown {
  return convert(root.lookupType(fullTypeName), json, root);
}

function convert(type: protobuf.Type, json: unknown, root: protobuf.Root): unknown {
  const name = type.fullName.slice(1);
  if (name === 'google.protobuf.Duration' && typeof json === 'string') return duration(json);
  if (name === 'google.protobuf.Struct' && isObject(json)) return { fields: mapValues(json, (v) => value(v, valueFields(root))) };
  if (name === 'google.protobuf.Value') return value(json, valueFields(root));
  if (WRAPPERS.has(name) && !isObject(json)) return { value: json };
  if (name === 'google.protobuf.Any' && isObject(json) && typeof json['@type'] === 'string') {
    const inner = lookup(root, json['@type'].slice(json['@type'].lastIndexOf('/') + 1));
    if (!inner) return json;
    const { '@type': t, ...rest } = json;
    return { '@type': t, ...(convert(inner, rest, root) as object) };
  }
  if (!isObject(json)) return json;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(json)) {
    const field = type.fields[key] ?? type.fields[snake(key)];
    const k = field?.name ?? key;
    if (!field?.resolvedType || !(field.resolvedType instanceof protobuf.Type)) {
      out[k] = v;
      continue;
    }
    const ft = field.resolvedType;
    if (field.map) out[k] = mapValues(v as Record<string, unknown>, (x) => convert(ft, x, root));
    else if (field.repeated && Array.isArray(v)) out[k] = v.map((x) => convert(ft, x, root));
    else out[k] = convert(ft, v, root);
  }
  return out;
}

function duration(s: string): { seconds: number; nanos: number } {
  const m = /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(s);
  if (!m) return { seconds: Number.NaN, nanos: 0 };
  return { seconds: Number(m[1]), nanos: Number((m[2] ?? '').padEnd(9, '0')) };
}

/** protobufjs bundles google.protobuf.Value with camelCase field names, whatever keepCase says. */
function valueFields(root: protobuf.Root): (snakeName: string) => string {
  const fields = root.lookupType('google.protobuf.Value').fields;
  return (n) => (n in fields ? n : n.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()));
}

function value(v: unknown, f: (snakeName: string) => string): unknown {
  if (v === null) return { [f('null_value')]: 'NULL_VALUE' };
  if (typeof v === 'number') return { [f('number_value')]: v };
  if (typeof v === 'string') return { [f('string_value')]: v };
  if (typeof v === 'boolean') return { [f('bool_value')]: v };
  if (Array.isArray(v)) return { [f('list_value')]: { values: v.map((x) => value(x, f)) } };
  return { [f('struct_value')]: { fields: mapValues(v as Record<string, unknown>, (x) => value(x, f)) } };
}

function lookup(root: protobuf.Root, name: string): protobuf.Type | undefined {
  try {
    return root.lookupType(name);
  } catch {
    return undefined;
  }
}

function mapValues(o: Record<string, unknown>, f: (v: unknown) => unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function snake(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
