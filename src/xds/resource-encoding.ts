// Turns a translated resource (a proto-JSON object; Any fields carry '@type') into the bytes of a
// google.protobuf.Any, once. Those bytes are what every stream sends, so a resource version is
// serialized exactly once however many proxies receive it.
import { createHash } from 'node:crypto';
import protobuf from 'protobufjs';
import { messageType } from './protos.js';
import { messageNameOf } from './resource-types.js';

export interface EncodedResource {
  readonly name: string;
  readonly typeUrl: string;
  /** Content hash of the serialized resource: its per-resource version (stable across replicas). */
  readonly version: string;
  /** The serialized google.protobuf.Any (type_url + value). */
  readonly anyBytes: Uint8Array;
  /** The translated object, kept for config dumps and debugging. */
  readonly object: Readonly<Record<string, unknown>>;
}

export class ResourceEncodingError extends Error {}

/**
 * Encodes one resource (any proto-JSON object: the translators' generated Envoy types, Istio's
 * MCP envelopes). Throws ResourceEncodingError when the object does not fit its proto type.
 */
export function encodeResource(typeUrl: string, name: string, message: object): EncodedResource {
  const object = message as Readonly<Record<string, unknown>>;
  const type = messageType(messageNameOf(typeUrl));
  let value: Uint8Array;
  try {
    // fromObject (not verify) because translators write enums by name and Any as '@type' JSON.
    value = type.encode(type.fromObject(object)).finish();
  } catch (err) {
    throw new ResourceEncodingError(`${messageNameOf(typeUrl)} ${name}: ${(err as Error).message}`);
  }
  const anyBytes = encodeAny(typeUrl, value);
  const version = createHash('sha256').update(value).digest('base64url').slice(0, 16);
  return { name, typeUrl, version, anyBytes, object };
}

/** google.protobuf.Any { type_url = 1; value = 2 }. */
export function encodeAny(typeUrl: string, value: Uint8Array): Uint8Array {
  return protobuf.Writer.create().uint32(0x0a).string(typeUrl).uint32(0x12).bytes(value).finish();
}

/** Decodes Any bytes back to a proto-JSON object (tests, config dumps). */
export function decodeAny(anyBytes: Uint8Array): { typeUrl: string; object: Record<string, unknown> } {
  const any = messageType('google.protobuf.Any').decode(anyBytes) as unknown as { type_url: string; value: Uint8Array };
  return { typeUrl: any.type_url, object: decodeValue(any.type_url, any.value) };
}

/** Decodes the value of an Any whose type URL is known to the vendored protos. */
export function decodeValue(typeUrl: string, value: Uint8Array): Record<string, unknown> {
  const type = messageType(messageNameOf(typeUrl));
  return type.toObject(type.decode(value), { enums: String, longs: String, defaults: false, json: true });
}
