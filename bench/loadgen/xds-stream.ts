// ADS streams on a shared grpc-js client. Requests are encoded by proto-loader from the vendored
// Envoy protos; responses are decoded by discovery-decode.ts, resources left as bytes for
// resource-scan.ts to read what is needed from them.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { decodeDeltaResponse, decodeSotwResponse, type DecodedResponse } from './discovery-decode.js';

export interface NodeMessage {
  readonly id: string;
  readonly cluster: string;
  readonly user_agent_name: string;
}

export interface SotwRequest {
  readonly type_url: string;
  readonly version_info: string;
  readonly response_nonce: string;
  readonly resource_names: readonly string[];
  readonly node?: NodeMessage;
}

export interface DeltaRequest {
  readonly type_url: string;
  readonly response_nonce: string;
  readonly resource_names_subscribe: readonly string[];
  readonly resource_names_unsubscribe: readonly string[];
  readonly node?: NodeMessage;
}

export interface StreamHandlers<Res> {
  /** Response headers arrived: the server accepted the stream. */
  onOpen(): void;
  onResponse(response: Res): void;
  /** The stream ended; `error` is null for a clean end by the server. Called once. */
  onClose(error: Error | null): void;
}

export interface RequestStream<Req> {
  write(request: Req): void;
  /** Drops the stream (the connection stays up for the other streams on it). */
  cancel(): void;
}

const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

interface AdsMethod<Req> {
  readonly path: string;
  readonly requestSerialize: (r: Req) => Buffer;
  readonly responseDeserialize: (b: Buffer) => DecodedResponse;
}

interface AdsMethods {
  readonly sotw: AdsMethod<SotwRequest>;
  readonly delta: AdsMethod<DeltaRequest>;
}

let methods: AdsMethods | undefined;

/** Loads the protos (some 400 ms): done before a run starts its clock. */
export function preloadProtos(): void {
  adsMethods();
}

function adsMethods(): AdsMethods {
  if (methods) return methods;
  const def = protoLoader.loadSync(['envoy/service/discovery/v3/ads.proto'], {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: false,
    includeDirs: [protoDir()],
  });
  const service = def[ADS_SERVICE] as unknown as Record<string, protoLoader.MethodDefinition<object, object>>;
  const sotw = service.StreamAggregatedResources as unknown as protoLoader.MethodDefinition<SotwRequest, object>;
  const delta = service.DeltaAggregatedResources as unknown as protoLoader.MethodDefinition<DeltaRequest, object>;
  methods = {
    sotw: { path: sotw.path, requestSerialize: withSharedNames(sotw.requestSerialize, 'resource_names'), responseDeserialize: decodeSotwResponse },
    delta: {
      path: delta.path,
      requestSerialize: withSharedNames(delta.requestSerialize, 'resource_names_subscribe'),
      responseDeserialize: decodeDeltaResponse,
    },
  };
  return methods;
}

// Resource-name lists: field 3 (repeated string) in both DiscoveryRequest and DeltaDiscoveryRequest.
const NAMES_TAG = (3 << 3) | 2;
const LARGE_LIST = 32;
const encodedLists = new WeakMap<readonly string[], Buffer>();

/**
 * An Envoy ACKs every EDS response with all its cluster names: 2,000 proxies x 1,000 names per ACK
 * is most of the generator's encoding work. Proxies that want the same names share one array
 * (proxy-state.ts namesOf), so a large list is encoded once and appended to the rest of the
 * request - a valid encoding, as protobuf fields may come in any order.
 */
function withSharedNames<R extends object>(serialize: (r: R) => Buffer, field: keyof R & string): (r: R) => Buffer {
  return (r) => {
    const names = r[field] as readonly string[];
    if (names.length < LARGE_LIST) return serialize(r);
    let block = encodedLists.get(names);
    if (!block) {
      const w = protobuf.Writer.create();
      for (const n of names) w.uint32(NAMES_TAG).string(n);
      block = Buffer.from(w.finish());
      encodedLists.set(names, block);
    }
    return Buffer.concat([serialize({ ...r, [field]: [] }), block]);
  };
}

export function openSotwStream(client: grpc.Client, handlers: StreamHandlers<DecodedResponse>): RequestStream<SotwRequest> {
  const m = adsMethods().sotw;
  return open(client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize), handlers);
}

export function openDeltaStream(client: grpc.Client, handlers: StreamHandlers<DecodedResponse>): RequestStream<DeltaRequest> {
  const m = adsMethods().delta;
  return open(client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize), handlers);
}

function open<Req, Res>(call: grpc.ClientDuplexStream<Req, Res>, h: StreamHandlers<Res>): RequestStream<Req> {
  let closed = false;
  const close = (err: Error | null) => {
    if (closed) return;
    closed = true;
    h.onClose(err);
  };
  call.on('metadata', () => h.onOpen());
  call.on('data', (r: Res) => h.onResponse(r));
  call.on('error', (err: Error) => close(err));
  call.on('end', () => close(null));
  return {
    write: (req) => {
      if (!closed) call.write(req);
    },
    cancel: () => {
      closed = true;
      call.cancel();
    },
  };
}

/** The vendored protos/ folder, found upwards from this file (works from bench/ and dist/bench/). */
function protoDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'protos', 'envoy');
    if (existsSync(candidate)) return path.dirname(candidate);
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the vendored protos/ folder');
    dir = parent;
  }
}
