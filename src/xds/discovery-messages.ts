// The wire side of the discovery services: request decoding through @grpc/proto-loader, and a
// response encoder that writes DiscoveryResponse around resource bytes that were serialized once
// in the cache, instead of re-encoding every resource for every stream.
import protobuf from 'protobufjs';
import * as protoLoader from '@grpc/proto-loader';
import type * as grpc from '@grpc/grpc-js';
import { PROTO_DIR } from './protos.js';
import { encodeDeltaResponse, type OutgoingDeltaResponse } from './delta-messages.js';
import { sotwRequestDeserializer } from './request-decoding.js';

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

const controlPlaneField = protobuf.Writer.create()
  .uint32(0x32)
  .fork()
  .uint32(0x0a)
  .string(CONTROL_PLANE_IDENTIFIER)
  .ldelim()
  .finish();

/** Appends nonce (field 5) and control_plane (field 6): protobuf fields may come in any order. */
export function encodeDiscoveryResponse(r: OutgoingDiscoveryResponse): Buffer {
  const nonce = protobuf.Writer.create().uint32(0x2a).string(r.nonce).finish();
  return Buffer.concat([r.body, nonce, controlPlaneField]);
}

const SERVICE_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/cluster/v3/cds.proto',
  'envoy/service/endpoint/v3/eds.proto',
  'envoy/service/listener/v3/lds.proto',
  'envoy/service/route/v3/rds.proto',
];

export const SERVICE_NAMES = {
  ads: 'envoy.service.discovery.v3.AggregatedDiscoveryService',
  cds: 'envoy.service.cluster.v3.ClusterDiscoveryService',
  eds: 'envoy.service.endpoint.v3.EndpointDiscoveryService',
  lds: 'envoy.service.listener.v3.ListenerDiscoveryService',
  rds: 'envoy.service.route.v3.RouteDiscoveryService',
} as const;

let definitions: protoLoader.PackageDefinition | undefined;

function packageDefinition(): protoLoader.PackageDefinition {
  definitions ??= protoLoader.loadSync(SERVICE_FILES, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [PROTO_DIR],
  });
  return definitions;
}

/**
 * The grpc-js service definition of one discovery service, with the streams' response
 * serializers replaced by encoders that frame pre-encoded resource bytes.
 */
export function discoveryServiceDefinition(serviceName: string): grpc.ServiceDefinition {
  const loaded = packageDefinition()[serviceName] as grpc.ServiceDefinition | undefined;
  if (!loaded) throw new Error(`service ${serviceName} not found in the vendored protos`);
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [method, def] of Object.entries(loaded)) {
    const isStream = def.requestStream && def.responseStream;
    if (!isStream) out[method] = def;
    else if (method.startsWith('Delta')) out[method] = { ...def, responseSerialize: (value: unknown) => encodeDeltaResponse(value as OutgoingDeltaResponse) };
    else
      out[method] = {
        ...def,
        requestDeserialize: sotwRequestDeserializer(def.requestDeserialize),
        responseSerialize: (value: unknown) => encodeDiscoveryResponse(value as OutgoingDiscoveryResponse),
      };
  }
  return out as grpc.ServiceDefinition;
}
