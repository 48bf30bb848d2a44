// A raw incremental (delta) xDS client for protocol tests, written against the vendored protos:
// subscribe, unsubscribe, initial_resource_versions, ACK and NACK exactly as a test says.
import * as grpc from '@grpc/grpc-js';
import { decodeValue } from '../../src/xds/resource-encoding.js';
import { serviceCtors } from './ads-client.js';
import { ResponseLog } from './response-log.js';

export interface DeltaResponse {
  readonly systemVersion: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: Array<{ name: string; version: string; object: Record<string, unknown> }>;
  readonly removed: string[];
}

export interface DeltaRequestSpec {
  typeUrl: string;
  subscribe?: string[];
  unsubscribe?: string[];
  initialVersions?: Record<string, string>;
  nonce?: string;
  error?: string;
  /** userAgent 'envoy' makes zk-xds serve the sidecar view. */
  node?: { id: string; cluster?: string; userAgent?: string };
}

interface RawDeltaResponse {
  system_version_info: string;
  type_url: string;
  nonce: string;
  resources: Array<{ name: string; version: string; resource: { type_url: string; value: Buffer } | null }>;
  removed_resources: string[];
}

type DeltaCall = grpc.ClientDuplexStream<object, RawDeltaResponse>;
const METHOD = { ads: 'DeltaAggregatedResources', eds: 'DeltaEndpoints', cds: 'DeltaClusters' } as const;

export class DeltaClient {
  private readonly log = new ResponseLog<DeltaResponse>();
  readonly responses = this.log.responses;
  private readonly client: grpc.Client;
  private readonly stream: DeltaCall;

  /** How the stream ended (null while open). */
  status: grpc.StatusObject | null = null;

  constructor(address: string, api: keyof typeof METHOD = 'ads', creds: grpc.ChannelCredentials = grpc.credentials.createInsecure()) {
    const Ctor = serviceCtors()[api]!;
    this.client = new Ctor(address, creds);
    this.stream = (this.client as unknown as Record<string, () => DeltaCall>)[METHOD[api]]!.call(this.client);
    this.stream.on('data', (r: RawDeltaResponse) =>
      this.log.push({
        systemVersion: r.system_version_info,
        typeUrl: r.type_url,
        nonce: r.nonce,
        resources: r.resources.map((res) => ({
          name: res.name,
          version: res.version,
          object: res.resource ? decodeValue(res.resource.type_url, res.resource.value) : {},
        })),
        removed: r.removed_resources,
      }),
    );
    this.stream.on('status', (s: grpc.StatusObject) => (this.status = s));
    this.stream.on('error', () => this.log.end());
    this.stream.on('end', () => this.log.end());
  }

  send(spec: DeltaRequestSpec): void {
    this.stream.write({
      type_url: spec.typeUrl,
      resource_names_subscribe: spec.subscribe ?? [],
      resource_names_unsubscribe: spec.unsubscribe ?? [],
      initial_resource_versions: spec.initialVersions ?? {},
      response_nonce: spec.nonce ?? '',
      node: spec.node ? { id: spec.node.id, cluster: spec.node.cluster ?? 'test', user_agent_name: spec.node.userAgent ?? '' } : undefined,
      error_detail: spec.error ? { code: 3, message: spec.error } : undefined,
    });
  }

  ack(r: DeltaResponse): void {
    this.send({ typeUrl: r.typeUrl, nonce: r.nonce });
  }

  nack(r: DeltaResponse, message: string): void {
    this.send({ typeUrl: r.typeUrl, nonce: r.nonce, error: message });
  }

  next(typeUrl?: string, timeoutMs?: number, from?: number): Promise<DeltaResponse> {
    return this.log.next(typeUrl, timeoutMs, from);
  }

  quietFor(ms: number): Promise<DeltaResponse[]> {
    return this.log.quietFor(ms);
  }

  get ended(): boolean {
    return this.log.ended;
  }

  close(): void {
    this.stream.end();
    this.client.close();
  }
}
