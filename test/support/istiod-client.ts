// A state-of-the-world ADS client that subscribes as istiod's MCP-over-xDS config source does
// (Istio 1.24-1.29, see NOTES.md "Istio MCP-over-xDS"): the first request carries the node and asks
// for MeshConfig, then one request per Istio config type in istiod's order; every first request
// carries a nonce zk-xds never sent (a Go timestamp string) and an empty version. istiod becomes
// ready once each type got one response, and ACKs every response with its version and nonce.
import type * as grpc from '@grpc/grpc-js';
import { AdsClient, type ReceivedResponse } from './ads-client.js';

export const MESH_CONFIG_TYPE_URL = 'core/v1alpha1/MeshConfig';

/** The config types istiod 1.24-1.29 asks for after MeshConfig, in its order. */
export const ISTIOD_CONFIG_TYPE_URLS = [
  'security.istio.io/v1/AuthorizationPolicy',
  'networking.istio.io/v1/DestinationRule',
  'networking.istio.io/v1alpha3/EnvoyFilter',
  'networking.istio.io/v1/Gateway',
  'security.istio.io/v1/PeerAuthentication',
  'networking.istio.io/v1beta1/ProxyConfig',
  'security.istio.io/v1/RequestAuthentication',
  'networking.istio.io/v1/ServiceEntry',
  'networking.istio.io/v1/Sidecar',
  'telemetry.istio.io/v1/Telemetry',
  'networking.istio.io/v1/VirtualService',
  'extensions.istio.io/v1alpha1/WasmPlugin',
  'networking.istio.io/v1/WorkloadEntry',
  'networking.istio.io/v1/WorkloadGroup',
];

/** Istio 1.22/1.23 ask for the same kinds, ServiceEntry and the other networking kinds under v1alpha3. */
export const ISTIOD_1_23_SERVICE_ENTRY = 'networking.istio.io/v1alpha3/ServiceEntry';

/** A Go time.Time String(), as istiod puts in response_nonce of its first requests. */
export function goTimestampNonce(at = new Date()): string {
  const iso = at.toISOString().replace('T', ' ').replace('Z', '');
  return `${iso}000000 +0000 UTC m=+${(performance.now() / 1000).toFixed(9)}`;
}

export class IstiodLikeClient {
  readonly ads: AdsClient;

  constructor(
    address: string,
    readonly types: readonly string[] = [MESH_CONFIG_TYPE_URL, ...ISTIOD_CONFIG_TYPE_URLS],
    /** istiod's configSources tlsSettings: SIMPLE is grpc.credentials.createSsl(ca). */
    creds?: grpc.ChannelCredentials,
  ) {
    this.ads = new AdsClient(address, 'ads', creds);
  }

  /** Sends istiod's opening requests: the node with the first (MeshConfig), then every type. */
  subscribe(nodeId = 'istiod-6d4f9c7b8-x2x9z.istio-system'): void {
    for (const [i, typeUrl] of this.types.entries()) {
      this.ads.send({
        typeUrl,
        nonce: goTimestampNonce(),
        versionInfo: '',
        node: i === 0 ? { id: nodeId, cluster: 'Kubernetes', metadata: { ISTIO_VERSION: '1.29.0', GENERATOR: 'mcp' } } : undefined,
      });
    }
  }

  /** The latest response of each type received so far. */
  latest(): Map<string, ReceivedResponse> {
    const out = new Map<string, ReceivedResponse>();
    for (const r of this.ads.responses) out.set(r.typeUrl, r);
    return out;
  }

  /** Responses of one type, oldest first. */
  responsesOf(typeUrl: string): ReceivedResponse[] {
    return this.ads.responses.filter((r) => r.typeUrl === typeUrl);
  }

  ack(r: ReceivedResponse): void {
    this.ads.send({ typeUrl: r.typeUrl, versionInfo: r.versionInfo, nonce: r.nonce });
  }

  close(): void {
    this.ads.close();
  }
}
