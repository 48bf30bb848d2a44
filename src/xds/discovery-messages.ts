// The wire side of the discovery services: request decoding through @grpc/proto-loader, and a
// response encoder that writes DiscoveryResponse around resource bytes that were serialized once
// in the cache, instead of re-encoding every resource for every stream.
import protobuf from 'protobufjs';
import { GRPC_FRAME } from './grpc-preframed.js';

export interface DiscoveryRequestMessage {
  version_info: string;
  node: NodeMessage | null;
  resource_names: string[];
  /** The encoded resource_names fields, kept by the SotW request decoder (request-decoding.ts). */
  resource_names_bytes?: Uint8Array;
  type_url: string;
  response_nonce: string;
  error_detail: { code: number; message: string } | null;
}

export interface NodeMessage {
  id: string;
  cluster: string;
  user_agent_name: string;
  user_agent_version?: string;
  /** Envoy fills this instead of user_agent_version. */
  user_agent_build_version?: { version?: { major_number?: number; minor_number?: number; patch?: number } | null } | null;
  locality: { region: string; zone: string; sub_zone: string } | null;
  /** google.protobuf.Struct as proto-loader decodes it: its bundled Value type is camelCase even with keepCase. */
  metadata?: { fields?: Record<string, { stringValue?: string }> } | null;
}

/** What a stream hands to grpc-js to write: pre-encoded parts, framed by encodeDiscoveryResponse. */
export interface OutgoingDiscoveryResponse {
  /** Fields 1 (version_info), 2 (resources) and 4 (type_url), already encoded; shareable. */
  readonly body: Uint8Array;
  readonly nonce: string;
  /** The whole gRPC message, length prefix included, when framed ahead (response-frames.ts; grpc-preframed.ts). */
  readonly [GRPC_FRAME]?: Buffer;
}

const CONTROL_PLANE_IDENTIFIER = 'zk-xds';

/** Encodes fields 1, 2 and 4 of DiscoveryResponse. `resources` are encoded google.protobuf.Any. */
export function encodeResponseBody(versionInfo: string, typeUrl: string, resources: Iterable<Uint8Array>): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32(0x0a).string(versionInfo);
  for (const any of resources) w.uint32(0x12).bytes(any);
  w.uint32(0x22).string(typeUrl);
  return w.finish();
}

/** Field 6 (control_plane) of every response: the same bytes always. */
export const controlPlaneField = protobuf.Writer.create().uint32(0x32).fork().uint32(0x0a).string(CONTROL_PLANE_IDENTIFIER).ldelim().finish();

/** Appends nonce (field 5) and control_plane (field 6): protobuf fields may come in any order. */
export function encodeDiscoveryResponse(r: OutgoingDiscoveryResponse): Buffer {
  // Framed ahead: the message is the frame without its prefix (no copy).
  const frame = r[GRPC_FRAME];
  if (frame) return frame.subarray(5);
  const nonce = protobuf.Writer.create().uint32(0x2a).string(r.nonce).finish();
  return Buffer.concat([r.body, nonce, controlPlaneField]);
}
