// What a registration's protocol (a Dubbo URL scheme, a `dubbo.endpoints` protocol, metadata
// `protocol`) means to the mesh: which bytes a sidecar or Istio will see on the wire. Dubbo and
// the other binary RPC protocols are opaque TCP to a mesh; Triple is gRPC-compatible HTTP/2; REST
// and the HTTP-carried Dubbo protocols are HTTP. A protocol nobody here knows is TCP, the only
// choice that never applies a codec to bytes it does not understand (and is reported).
import type { Protocol } from './policy.js';

const KNOWN: Readonly<Record<string, Protocol>> = {
  // gRPC and gRPC-compatible HTTP/2.
  grpc: 'grpc',
  tri: 'grpc',
  triple: 'grpc',
  // Plain HTTP, and Dubbo protocols that ride on HTTP/1.1.
  http: 'http',
  rest: 'http',
  hessian: 'http',
  jsonrpc: 'http',
  webservice: 'http',
  // Binary RPC and other opaque streams; https is TLS a sidecar cannot look into.
  tcp: 'tcp',
  dubbo: 'tcp',
  rmi: 'tcp',
  thrift: 'tcp',
  redis: 'tcp',
  memcached: 'tcp',
  https: 'tcp',
};

export interface MeshProtocol {
  readonly protocol: Protocol;
  /** False when the registration's protocol is not one zk-xds knows (then `protocol` is tcp). */
  readonly known: boolean;
}

/** The mesh protocol of a registration protocol (case-insensitive). */
export function meshProtocolOf(registered: string): MeshProtocol {
  const protocol = KNOWN[registered.toLowerCase()];
  return protocol ? { protocol, known: true } : { protocol: 'tcp', known: false };
}

/** The metadata key an instance declares its registration protocol under. */
export const PROTOCOL_METADATA_KEY = 'protocol';

/** An instance's declared mesh protocol; undefined when it declares none. */
export function declaredMeshProtocol(metadata: Readonly<Record<string, string>>): MeshProtocol | undefined {
  const declared = metadata[PROTOCOL_METADATA_KEY];
  return declared === undefined || declared === '' ? undefined : meshProtocolOf(declared);
}
