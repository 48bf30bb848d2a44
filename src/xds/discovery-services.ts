// The gRPC services zk-xds serves (ADS and the four per-type services), as grpc-js definitions whose
// stream encoders frame pre-encoded resource bytes instead of serializing message objects.
import * as protoLoader from '@grpc/proto-loader';
import type * as grpc from '@grpc/grpc-js';
import { PROTO_DIR, SERVICE_PROTO_FILES } from './protos.js';
import { encodeDiscoveryResponse, type OutgoingDiscoveryResponse } from './discovery-messages.js';
import { encodeDeltaResponse, type OutgoingDeltaResponse } from './delta-messages.js';
import { sotwRequestDeserializer } from './request-decoding.js';

export const SERVICE_NAMES = {
  ads: 'envoy.service.discovery.v3.AggregatedDiscoveryService',
  cds: 'envoy.service.cluster.v3.ClusterDiscoveryService',
  eds: 'envoy.service.endpoint.v3.EndpointDiscoveryService',
  lds: 'envoy.service.listener.v3.ListenerDiscoveryService',
  rds: 'envoy.service.route.v3.RouteDiscoveryService',
} as const;

let definitions: protoLoader.PackageDefinition | undefined;

function packageDefinition(): protoLoader.PackageDefinition {
  definitions ??= protoLoader.loadSync(SERVICE_PROTO_FILES, {
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
