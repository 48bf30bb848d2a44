// A raw state-of-the-world ADS client for protocol tests: sends exactly the requests a test writes
// (subscriptions, ACKs, NACKs, stale nonces) and records every response with its decoded resources.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_DIR } from '../../src/xds/protos.js';
import { decodeValue } from '../../src/xds/resource-encoding.js';
import { ResponseLog } from './response-log.js';

export interface ReceivedResponse {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  /** raw: the resource's Any as received (its own type URL and value bytes). */
  readonly resources: Array<{ name: string; object: Record<string, unknown>; raw: { typeUrl: string; value: Uint8Array } }>;
  readonly at: number;
}

export interface RequestSpec {
  typeUrl: string;
  names?: string[];
  versionInfo?: string;
  nonce?: string;
  error?: string;
  /** userAgent 'envoy' makes zk-xds serve the sidecar view. */
  node?: { id: string; cluster?: string; userAgent?: string; metadata?: Record<string, string> };
}

interface RawResponse {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: Array<{ type_url: string; value: Buffer }>;
}

type AdsStream = grpc.ClientDuplexStream<object, RawResponse>;
export type ServiceCtor = new (
  address: string,
  creds: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => grpc.Client & Record<string, (...a: unknown[]) => unknown>;

let ctorCache: Record<string, ServiceCtor> | undefined;

/** grpc-js client constructors for the discovery services (shared with the delta client). */
export function serviceCtors(): Record<string, ServiceCtor> {
  if (ctorCache) return ctorCache;
  const def = protoLoader.loadSync(['envoy/service/discovery/v3/ads.proto', 'envoy/service/endpoint/v3/eds.proto', 'envoy/service/cluster/v3/cds.proto'], {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [PROTO_DIR],
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    envoy: {
      service: { discovery: { v3: Record<string, ServiceCtor> }; endpoint: { v3: Record<string, ServiceCtor> }; cluster: { v3: Record<string, ServiceCtor> } };
    };
  };
  ctorCache = {
    ads: pkg.envoy.service.discovery.v3.AggregatedDiscoveryService!,
    eds: pkg.envoy.service.endpoint.v3.EndpointDiscoveryService!,
    cds: pkg.envoy.service.cluster.v3.ClusterDiscoveryService!,
  };
  return ctorCache;
}

const METHOD = { ads: 'StreamAggregatedResources', eds: 'StreamEndpoints', cds: 'StreamClusters' } as const;

export class AdsClient {
  private readonly log = new ResponseLog<ReceivedResponse>();
  readonly responses = this.log.responses;
  private readonly client: grpc.Client;
  private readonly stream: AdsStream;
  /** How the stream ended (null while open). */
  status: grpc.StatusObject | null = null;

  /** `options` e.g. `{ 'grpc.use_local_subchannel_pool': 1 }`: a connection of its own, not shared with other clients of the address. */
  constructor(
    address: string,
    api: keyof typeof METHOD = 'ads',
    creds: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
    options?: grpc.ChannelOptions,
  ) {
    const Ctor = serviceCtors()[api]!;
    const client = new Ctor(address, creds, options);
    this.client = client;
    this.stream = (client[METHOD[api]] as () => AdsStream).call(client);
    this.stream.on('data', (r: RawResponse) =>
      this.log.push({
        versionInfo: r.version_info,
        typeUrl: r.type_url,
        nonce: r.nonce,
        resources: r.resources.map((any) => {
          const object = decodeValue(any.type_url, any.value);
          return { name: String(object.name ?? object.cluster_name ?? ''), object, raw: { typeUrl: any.type_url, value: any.value } };
        }),
        at: performance.now(),
      }),
    );
    this.stream.on('status', (s: grpc.StatusObject) => (this.status = s));
    this.stream.on('error', () => this.log.end());
    this.stream.on('end', () => this.log.end());
  }

  get ended(): boolean {
    return this.log.ended;
  }

  next(typeUrl?: string, timeoutMs?: number, from?: number): Promise<ReceivedResponse> {
    return this.log.next(typeUrl, timeoutMs, from);
  }

  quietFor(ms: number): Promise<ReceivedResponse[]> {
    return this.log.quietFor(ms);
  }

  send(spec: RequestSpec): void {
    this.stream.write({
      type_url: spec.typeUrl,
      resource_names: spec.names ?? [],
      version_info: spec.versionInfo ?? '',
      response_nonce: spec.nonce ?? '',
      node: spec.node
        ? { id: spec.node.id, cluster: spec.node.cluster ?? 'test', user_agent_name: spec.node.userAgent ?? '', metadata: structOf(spec.node.metadata) }
        : undefined,
      error_detail: spec.error ? { code: 3, message: spec.error } : undefined,
    });
  }

  /** ACKs a response (version and nonce of it, same names). */
  ack(r: ReceivedResponse, names: string[] = []): void {
    this.send({ typeUrl: r.typeUrl, names, versionInfo: r.versionInfo, nonce: r.nonce });
  }

  nack(r: ReceivedResponse, keptVersion: string, message: string, names: string[] = []): void {
    this.send({ typeUrl: r.typeUrl, names, versionInfo: keptVersion, nonce: r.nonce, error: message });
  }

  close(): void {
    this.stream.end();
    this.client.close();
  }
}

/** A string map as google.protobuf.Struct in proto-loader's object form. */
function structOf(m: Record<string, string> | undefined): object | undefined {
  return m ? { fields: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, { stringValue: v }])) } : undefined;
}
