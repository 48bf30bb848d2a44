// TEST-ONLY static ADS server (not the product server): answers xDS requests with fixed
// LDS/RDS/CDS/EDS resources for one service name pointing at given backends, so the harness can
// be proven against real grpc-js-xds independently of zk-xds, and so a test pins down exactly
// which resource shapes grpc-js-xds accepts. Every request is recorded (ACKs and NACKs).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_DIR, messageType } from '../../src/xds/protos.js';
import { shutdown } from './echo-backend.js';

export const TYPE_URL = {
  LDS: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RDS: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  CDS: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  EDS: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;
export const HCM_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

/** 'good', or a deliberately invalid resource set that grpc-js-xds must NACK. */
export type Variant = 'good' | 'cluster-without-eds-config' | 'eds-hostname';

export interface RecordedRequest {
  type_url: string;
  version_info: string;
  response_nonce: string;
  resource_names: string[];
  error_detail?: { code: number; message: string };
  node_id?: string;
}

/** google.protobuf.Any holding `json` encoded as the message named by the type URL. */
export function packAny(typeUrl: string, json: object): { type_url: string; value: Uint8Array } {
  const type = messageType(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
  return { type_url: typeUrl, value: type.encode(type.fromObject(json)).finish() };
}

/** The resources (as JSON, keepCase field names) served for `service`, keyed by type URL. */
export function staticResources(service: string, backends: ReadonlyArray<{ host: string; port: number }>, variant: Variant = 'good'): Record<string, object[]> {
  const route = `${service}-route`;
  const cluster = `${service}-cluster`;
  const hcm = {
    rds: { config_source: { ads: {} }, route_config_name: route },
    http_filters: [{ name: 'router', typed_config: packAny(ROUTER_TYPE_URL, {}) }],
  };
  return {
    [TYPE_URL.LDS]: [{ name: service, api_listener: { api_listener: packAny(HCM_TYPE_URL, hcm) } }],
    [TYPE_URL.RDS]: [
      {
        name: route,
        virtual_hosts: [{ name: service, domains: [service], routes: [{ match: { prefix: '' }, route: { cluster } }] }],
      },
    ],
    [TYPE_URL.CDS]: [
      variant === 'cluster-without-eds-config'
        ? { name: cluster, type: 'EDS' }
        : { name: cluster, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } },
    ],
    [TYPE_URL.EDS]: [
      {
        cluster_name: cluster,
        endpoints: [
          {
            locality: {},
            load_balancing_weight: { value: 1 },
            lb_endpoints: backends.map((b) => ({
              endpoint: {
                address: { socket_address: { address: variant === 'eds-hostname' ? 'localhost' : b.host, port_value: b.port } },
              },
            })),
          },
        ],
      },
    ],
  };
}

export interface StaticXdsServer {
  /** host:port for the client bootstrap. */
  address: string;
  /** Every DiscoveryRequest received, in order. */
  requests: RecordedRequest[];
  resources: Record<string, object[]>;
  /** Requests that ACKed a response of this type (nonce set, no error_detail). */
  acks(typeUrl: string): RecordedRequest[];
  /** Requests that NACKed a response of this type. */
  nacks(typeUrl: string): RecordedRequest[];
  stop(): Promise<void>;
}

let adsService: grpc.ServiceDefinition | undefined;

function loadAdsService(): grpc.ServiceDefinition {
  const def = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return (adsService ??= def['envoy.service.discovery.v3.AggregatedDiscoveryService'] as grpc.ServiceDefinition);
}

export async function startStaticXdsServer(opts: {
  service: string;
  backends: ReadonlyArray<{ host: string; port: number }>;
  variant?: Variant;
}): Promise<StaticXdsServer> {
  const resources = staticResources(opts.service, opts.backends, opts.variant);
  const requests: RecordedRequest[] = [];
  let nonce = 0;
  const server = new grpc.Server();
  server.addService(loadAdsService(), {
    StreamAggregatedResources: (call: grpc.ServerDuplexStream<any, any>) => {
      const answered = new Map<string, string>(); // type URL -> resource names of the last response
      call.on('data', (req) => {
        requests.push({
          type_url: req.type_url,
          version_info: req.version_info,
          response_nonce: req.response_nonce,
          resource_names: [...req.resource_names],
          ...(req.error_detail ? { error_detail: { code: req.error_detail.code, message: req.error_detail.message } } : {}),
          ...(req.node ? { node_id: req.node.id } : {}),
        });
        const names = JSON.stringify([...req.resource_names].sort());
        // An ACK or NACK of what was already sent for these names needs no answer (or it would loop).
        if (req.response_nonce !== '' && answered.get(req.type_url) === names) return;
        const fixed = resources[req.type_url];
        if (!fixed) return;
        answered.set(req.type_url, names);
        call.write({
          version_info: '1',
          type_url: req.type_url,
          nonce: String(++nonce),
          resources: fixed.map((r) => packAny(req.type_url, r)),
        });
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const ofType = (t: string, nack: boolean) => requests.filter((r) => r.type_url === t && r.response_nonce !== '' && Boolean(r.error_detail) === nack);
  return {
    address: `127.0.0.1:${port}`,
    requests,
    resources,
    acks: (t) => ofType(t, false),
    nacks: (t) => ofType(t, true),
    stop: () => shutdown(server),
  };
}
