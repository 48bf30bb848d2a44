// A raw state-of-the-world ADS client for protocol tests: sends exactly the requests a test writes
// (subscriptions, ACKs, NACKs, stale nonces) and records every response with its decoded resources.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_DIR } from '../../src/xds/protos.js';
import { decodeAny } from '../../src/xds/resource-encoding.js';

export interface ReceivedResponse {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: Array<{ name: string; object: Record<string, unknown> }>;
  readonly at: number;
}

export interface RequestSpec {
  typeUrl: string;
  names?: string[];
  versionInfo?: string;
  nonce?: string;
  error?: string;
  node?: { id: string; cluster?: string };
}

interface RawResponse {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: Array<{ type_url: string; value: Buffer }>;
}

type AdsStream = grpc.ClientDuplexStream<object, RawResponse>;
type ServiceCtor = new (address: string, creds: grpc.ChannelCredentials) => grpc.Client & Record<string, (...a: unknown[]) => unknown>;

let ctorCache: Record<string, ServiceCtor> | undefined;

function serviceCtors(): Record<string, ServiceCtor> {
  if (ctorCache) return ctorCache;
  const def = protoLoader.loadSync(
    ['envoy/service/discovery/v3/ads.proto', 'envoy/service/endpoint/v3/eds.proto', 'envoy/service/cluster/v3/cds.proto'],
    { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_DIR] },
  );
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    envoy: { service: { discovery: { v3: Record<string, ServiceCtor> }; endpoint: { v3: Record<string, ServiceCtor> }; cluster: { v3: Record<string, ServiceCtor> } } };
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
  readonly responses: ReceivedResponse[] = [];
  private waiters: Array<() => void> = [];
  private readonly client: grpc.Client;
  private readonly stream: AdsStream;
  ended = false;

  constructor(address: string, api: keyof typeof METHOD = 'ads') {
    const Ctor = serviceCtors()[api]!;
    const client = new Ctor(address, grpc.credentials.createInsecure());
    this.client = client;
    this.stream = (client[METHOD[api]] as () => AdsStream).call(client);
    this.stream.on('data', (r: RawResponse) => {
      this.responses.push({
        versionInfo: r.version_info,
        typeUrl: r.type_url,
        nonce: r.nonce,
        resources: r.resources.map((any) => {
          const { object } = decodeAny(Buffer.concat([anyHeader(any.type_url), anyValue(any.value)]));
          return { name: String(object.name ?? object.cluster_name ?? ''), object };
        }),
        at: performance.now(),
      });
      for (const w of this.waiters.splice(0)) w();
    });
    this.stream.on('error', () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w();
    });
    this.stream.on('end', () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  send(spec: RequestSpec): void {
    this.stream.write({
      type_url: spec.typeUrl,
      resource_names: spec.names ?? [],
      version_info: spec.versionInfo ?? '',
      response_nonce: spec.nonce ?? '',
      node: spec.node ? { id: spec.node.id, cluster: spec.node.cluster ?? 'test' } : undefined,
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

  /** Waits for the next response (of a type, if given) after index `from`. */
  async next(typeUrl?: string, timeoutMs = 3000, from = this.consumed): Promise<ReceivedResponse> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const i = this.responses.findIndex((r, idx) => idx >= from && (!typeUrl || r.typeUrl === typeUrl));
      if (i >= 0) {
        this.consumed = i + 1;
        return this.responses[i]!;
      }
      const left = deadline - performance.now();
      if (left <= 0 || this.ended) throw new Error(`no ${typeUrl ?? 'response'} within ${timeoutMs} ms (got ${this.responses.length} responses)`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Asserts that nothing more arrives within `ms` (returns the extra responses, if any). */
  async quietFor(ms: number): Promise<ReceivedResponse[]> {
    const before = this.responses.length;
    await new Promise((r) => setTimeout(r, ms));
    return this.responses.slice(before);
  }

  consumed = 0;

  close(): void {
    this.stream.end();
    this.client.close();
  }
}

// Re-encode an Any from its parts (proto-loader hands us the decoded Any).
function anyHeader(typeUrl: string): Buffer {
  const url = Buffer.from(typeUrl);
  return Buffer.concat([Buffer.from([0x0a]), varint(url.length), url]);
}
function anyValue(value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x12]), varint(value.length), value]);
}
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
