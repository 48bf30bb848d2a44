// Entry point: one instance znode (name + data) to an Instance, or a reason it was rejected.
// The format is detected per znode because one service may mix registration styles.
import type { Instance, RegistrationFormat } from '../../catalog/model.js';
import { isCuratorShape, parseCuratorRegistration } from './curator.js';
import { parseHostPortRegistration } from './host-port.js';
import { parsePlainJsonRegistration } from './plain-json.js';
import { describeKind, isJsonObject, type Checked } from './validate-fields.js';

/** Registrations are a few hundred bytes; anything this large is a mistake or an attack. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

export type ParseOutcome = { ok: true; format: RegistrationFormat; instance: Instance } | { ok: false; reason: string };

// fatal: invalid UTF-8 must be rejected, not silently turned into U+FFFD.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

// C0 controls other than tab, LF and CR never occur in JSON or host:port text outside
// strings, and JSON forbids them inside strings too, so their presence means binary data.
const BINARY_CONTROL_CHARACTER = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

function withFormat(format: RegistrationFormat, parsed: Checked<Instance>): ParseOutcome {
  return parsed.ok ? { ok: true, format, instance: parsed.value } : parsed;
}

function decodeUtf8(data: Buffer): string | undefined {
  try {
    return strictUtf8.decode(data);
  } catch {
    return undefined;
  }
}

function parseJsonOrUndefined(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

/** Home-grown registries often register `10.0.0.1:8080` as the node name with no data. */
function parseFromZnodeName(znodeName: string): ParseOutcome {
  const parsed = parseHostPortRegistration(znodeName, znodeName);
  if (parsed.ok) return withFormat('host-port', parsed);
  return { ok: false, reason: 'empty data and the znode name is not host:port' };
}

function parseJsonObjectText(text: string, znodeName: string): ParseOutcome {
  // The parser's own message quotes the input, which may hold secrets, so it is not reused.
  const parsed = parseJsonOrUndefined(text);
  if (parsed === undefined || !isJsonObject(parsed.value)) {
    return { ok: false, reason: 'data starts with "{" but is not valid json (malformed or truncated)' };
  }
  if (isCuratorShape(parsed.value)) {
    return withFormat('curator', parseCuratorRegistration(parsed.value, znodeName));
  }
  return withFormat('json', parsePlainJsonRegistration(parsed.value, znodeName));
}

export function parseRegistration(znodeName: string, data: Buffer | null): ParseOutcome {
  if (data === null || data.length === 0) return parseFromZnodeName(znodeName);
  // Checked before decoding so an oversized value costs nothing.
  if (data.length > MAX_PAYLOAD_BYTES) {
    return { ok: false, reason: `data is ${data.length} bytes, over the ${MAX_PAYLOAD_BYTES}-byte limit` };
  }
  const text = decodeUtf8(data);
  if (text === undefined) return { ok: false, reason: 'data is not valid utf-8' };
  if (BINARY_CONTROL_CHARACTER.test(text)) {
    return { ok: false, reason: 'data is binary (contains control characters)' };
  }
  const trimmed = text.trim();
  if (trimmed === '') return parseFromZnodeName(znodeName);
  if (trimmed.startsWith('{')) return parseJsonObjectText(trimmed, znodeName);
  // Valid host:port text is never valid JSON, so anything that parses is a JSON non-object.
  const json = parseJsonOrUndefined(trimmed);
  if (json !== undefined) {
    return { ok: false, reason: `data is json but not an object (got ${describeKind(json.value)})` };
  }
  return withFormat('host-port', parseHostPortRegistration(trimmed, znodeName));
}
