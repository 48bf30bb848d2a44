// Incremental (delta) xDS on the wire: the request shape as proto-loader decodes it, and a
// DeltaDiscoveryResponse encoder that reuses each resource's bytes, serialized once.
import protobuf from 'protobufjs';
import type { NodeMessage } from './discovery-messages.js';
import type { EncodedResource } from './resource-encoding.js';

export interface DeltaDiscoveryRequestMessage {
  node: NodeMessage | null;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail: { code: number; message: string } | null;
}

export interface OutgoingDeltaResponse {
  readonly systemVersion: string;
  readonly typeUrl: string;
  readonly resources: readonly EncodedResource[];
  readonly removed: readonly string[];
  readonly nonce: string;
  /** Every field but the nonce, encoded (shared by streams sent the same response); made when absent. */
  readonly body?: Uint8Array;
}

/** envoy.service.discovery.v3.Resource {version = 1; resource = 2; name = 3}, memoized per resource version. */
const resourceBytes = new WeakMap<EncodedResource, Uint8Array>();

function deltaResource(e: EncodedResource): Uint8Array {
  let bytes = resourceBytes.get(e);
  if (!bytes) {
    bytes = protobuf.Writer.create().uint32(0x0a).string(e.version).uint32(0x12).bytes(e.anyBytes).uint32(0x1a).string(e.name).finish();
    resourceBytes.set(e, bytes);
  }
  return bytes;
}

/** config.core.v3.ControlPlane {identifier = 1}. */
const controlPlaneIdentifier = protobuf.Writer.create().uint32(0x0a).string('zk-xds').finish();

/** A DeltaDiscoveryResponse without its nonce: the part many streams can share byte for byte. */
export function encodeDeltaBody(systemVersion: string, typeUrl: string, resources: readonly EncodedResource[], removed: readonly string[]): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32(0x0a).string(systemVersion);
  for (const e of resources) w.uint32(0x12).bytes(deltaResource(e));
  w.uint32(0x22).string(typeUrl);
  for (const name of removed) w.uint32(0x32).string(name);
  w.uint32(0x3a).bytes(controlPlaneIdentifier);
  return w.finish();
}

/** The body, then the nonce (protobuf fields may come in any order; decoders accept it). */
export function encodeDeltaResponse(r: OutgoingDeltaResponse): Buffer {
  const body = r.body ?? encodeDeltaBody(r.systemVersion, r.typeUrl, r.resources, r.removed);
  return Buffer.concat([body, protobuf.Writer.create().uint32(0x2a).string(r.nonce).finish()]);
}
