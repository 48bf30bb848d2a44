// ServiceEntries as istiod reads them over MCP-over-xDS: each resource of a DiscoveryResponse is
// an Any of istio.mcp.v1alpha1.Resource {metadata, body}, the body an Any of the ServiceEntry
// message.
//
// Type URLs (read from istiod's MCP client, pilot's adsc, and measured, see NOTES.md):
// - istiod subscribes with `<group>/<version>/<Kind>` strings, not type.googleapis.com URLs:
//   `networking.istio.io/v1/ServiceEntry` from Istio 1.24, `networking.istio.io/v1alpha3/ServiceEntry`
//   in 1.22/1.23. The response's type_url must equal the requested one.
// - Each resource is Any{type_url: `type.googleapis.com/istio.mcp.v1alpha1.Resource`}: istiod
//   unpacks it by message name, so the prefix is the conventional one.
// - The body is Any{type_url: `type.googleapis.com/istio.networking.v1alpha3.ServiceEntry`} for
//   both subscriptions: Istio's v1 ServiceEntry is the v1alpha3 message under another API version
//   (istio/api networking/v1 aliases the v1alpha3 Go types), and istiod unpacks the body by the
//   message name its type URL carries.
// - metadata.name is `<namespace>/<name>` (istiod skips names that are not exactly two parts);
//   metadata.version is the content hash (istiod keeps its stored object while the version is
//   unchanged, so the version must change whenever the body does, and only then).
import type protobuf from 'protobufjs';
import { messageType } from '../xds/protos.js';
import { encodeAny, type EncodedResource } from '../xds/resource-encoding.js';
import { contentHashOf, type ServiceEntryEndpoint, type ServiceEntryObject, type ServiceEntryPort, type ServiceEntrySpec } from '../translate/service-entry.js';

export const MCP_SERVICE_ENTRY_TYPE_URLS = ['networking.istio.io/v1/ServiceEntry', 'networking.istio.io/v1alpha3/ServiceEntry'] as const;
export const MCP_RESOURCE_TYPE_URL = 'type.googleapis.com/istio.mcp.v1alpha1.Resource';
export const SERVICE_ENTRY_BODY_TYPE_URL = 'type.googleapis.com/istio.networking.v1alpha3.ServiceEntry';

const SERVICE_ENTRY_MESSAGE = 'istio.networking.v1alpha3.ServiceEntry';
const RESOURCE_MESSAGE = 'istio.mcp.v1alpha1.Resource';

/** The proto-JSON (snake_case field names, enums by name) of istio.networking.v1alpha3.ServiceEntry. */
export type ServiceEntryMessage = Record<string, unknown>;

/** The one mapping from the manifest spec (camelCase) to the protobuf message's fields. */
export function serviceEntryMessageOf(spec: ServiceEntrySpec): ServiceEntryMessage {
  return {
    hosts: [...spec.hosts],
    ports: spec.ports.map((p) => ({ number: p.number, protocol: p.protocol, name: p.name, ...(p.targetPort ? { target_port: p.targetPort } : {}) })),
    location: spec.location,
    resolution: spec.resolution,
    endpoints: spec.endpoints.map((e) => ({
      address: e.address,
      ports: { ...e.ports },
      ...(e.labels ? { labels: { ...e.labels } } : {}),
      weight: e.weight,
      ...(e.locality ? { locality: e.locality } : {}),
    })),
    export_to: [...spec.exportTo],
  };
}

/** The inverse of serviceEntryMessageOf, for decoded messages (tests, debugging). */
export function serviceEntrySpecOf(message: ServiceEntryMessage): ServiceEntrySpec {
  const m = message as {
    hosts?: string[];
    ports?: Array<{ number: number; protocol: string; name: string; target_port?: number }>;
    location?: string;
    resolution?: string;
    endpoints?: Array<{ address: string; ports?: Record<string, number>; labels?: Record<string, string>; weight?: number; locality?: string }>;
    export_to?: string[];
  };
  return {
    hosts: m.hosts ?? [],
    ports: (m.ports ?? []).map(
      (p): ServiceEntryPort => ({
        number: p.number,
        protocol: p.protocol as ServiceEntryPort['protocol'],
        name: p.name,
        ...(p.target_port ? { targetPort: p.target_port } : {}),
      }),
    ),
    location: (m.location ?? 'MESH_EXTERNAL') as ServiceEntrySpec['location'],
    resolution: (m.resolution ?? 'NONE') as ServiceEntrySpec['resolution'],
    endpoints: (m.endpoints ?? []).map((e): ServiceEntryEndpoint => {
      const out: ServiceEntryEndpoint = { address: e.address, ports: { ...e.ports }, weight: e.weight ?? 0 };
      if (e.labels && Object.keys(e.labels).length > 0) out.labels = { ...e.labels };
      if (e.locality) out.locality = e.locality;
      return out;
    }),
    exportTo: m.export_to ?? [],
  };
}

/** The serialized ServiceEntry message of a spec. */
export function encodeServiceEntryBody(spec: ServiceEntrySpec): Uint8Array {
  const type = messageType(SERVICE_ENTRY_MESSAGE);
  return type.encode(type.fromObject(serviceEntryMessageOf(spec))).finish();
}

/** Decodes a ServiceEntry body back to its manifest spec. */
export function decodeServiceEntryBody(value: Uint8Array): ServiceEntrySpec {
  const type = messageType(SERVICE_ENTRY_MESSAGE);
  return serviceEntrySpecOf(type.toObject(type.decode(value), { enums: String, longs: Number, defaults: false }));
}

export interface McpResourceJson {
  metadata: { name: string; version: string; labels: Record<string, string>; annotations: Record<string, string>; createTimeSeconds: number };
  bodyTypeUrl: string;
  body: Uint8Array;
}

/**
 * The MCP resource of an entry, as cache entries for every ServiceEntry type URL (the same bytes
 * under each). `createdAt` is when zk-xds first published the service (seconds): istiod's older
 * MCP clients reject a resource without a creation time.
 */
export function mcpServiceEntryResources(entry: ServiceEntryObject, createdAtSeconds: number): EncodedResource[] {
  const name = mcpNameOf(entry);
  const version = contentHashOf(entry);
  const type = messageType(RESOURCE_MESSAGE);
  const resource = type.fromObject({
    metadata: {
      name,
      create_time: { seconds: createdAtSeconds, nanos: 0 },
      version,
      labels: entry.metadata.labels,
      annotations: entry.metadata.annotations,
    },
    body: { type_url: SERVICE_ENTRY_BODY_TYPE_URL, value: encodeServiceEntryBody(entry.spec) },
  });
  const anyBytes = encodeAny(MCP_RESOURCE_TYPE_URL, type.encode(resource).finish());
  return MCP_SERVICE_ENTRY_TYPE_URLS.map((typeUrl) => ({ name, typeUrl, version, anyBytes, object: entry as unknown as Record<string, unknown> }));
}

/** `<namespace>/<name>`: the MCP resource name istiod splits into namespace and name. */
export function mcpNameOf(entry: ServiceEntryObject): string {
  return `${entry.metadata.namespace}/${entry.metadata.name}`;
}

/** Decodes the Any bytes of one MCP resource (tests and debugging). */
export function decodeMcpResource(anyBytes: Uint8Array): { typeUrl: string; resource: McpResourceJson } {
  const any = messageType('google.protobuf.Any').decode(anyBytes) as unknown as { type_url: string; value: Uint8Array };
  return { typeUrl: any.type_url, resource: decodeMcpResourceValue(any.value) };
}

/** Decodes the value of an Any of istio.mcp.v1alpha1.Resource. */
export function decodeMcpResourceValue(value: Uint8Array): McpResourceJson {
  const decoded = messageType(RESOURCE_MESSAGE).decode(value) as unknown as {
    metadata?: {
      name?: string;
      version?: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
      create_time?: { seconds?: number | protobuf.Long };
    };
    body?: { type_url?: string; value?: Uint8Array };
  };
  const m = decoded.metadata ?? {};
  return {
    metadata: {
      name: m.name ?? '',
      version: m.version ?? '',
      labels: { ...m.labels },
      annotations: { ...m.annotations },
      createTimeSeconds: Number(m.create_time?.seconds ?? 0),
    },
    bodyTypeUrl: decoded.body?.type_url ?? '',
    body: decoded.body?.value ?? new Uint8Array(),
  };
}
