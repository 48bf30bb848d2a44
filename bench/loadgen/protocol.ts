// The two ADS protocol variants behind one small interface: a proxy says which names it wants per
// type and gets responses back as plain resource bytes; this layer writes the requests (node on the
// first one only), and ACKs every response at once - never a NACK.
//   SotW:  ACK = version_info + response_nonce + the full current name list (empty = wildcard).
//   Delta: ACK = response_nonce; subscription changes travel as subscribe/unsubscribe lists.
import type * as grpc from '@grpc/grpc-js';
import { TYPE_URL, xdsTypeOf, type XdsType } from './resource-scan.js';
import { namesOf, type ProxyState, type SubscriptionChange } from './proxy-state.js';
import type { ResourceList } from './discovery-decode.js';
import { openDeltaStream, openSotwStream, type DeltaRequest, type NodeMessage, type RequestStream, type SotwRequest } from './xds-stream.js';

export type Protocol = 'sotw' | 'delta';

const NONE: readonly string[] = [];

/** A response as the proxy sees it, whichever the protocol. */
export interface IncomingResponse {
  readonly type: XdsType;
  readonly resources: ResourceList;
  readonly removed: readonly string[];
  /** SotW CDS/LDS: the response is the complete set. */
  readonly replace: boolean;
}

export interface SessionHandlers {
  onOpen(): void;
  /** Applies a response; returns the subscription changes to send before its ACK. */
  onResponse(response: IncomingResponse): readonly SubscriptionChange[];
  /** A response of a type the proxy never asked for (still ACKed). */
  onUnknownType(typeUrl: string): void;
  onClose(error: Error | null): void;
}

export interface XdsSession {
  send(changes: readonly SubscriptionChange[]): void;
  cancel(): void;
}

export function openSession(protocol: Protocol, client: grpc.Client, node: NodeMessage, state: ProxyState, h: SessionHandlers): XdsSession {
  return protocol === 'sotw' ? new SotwSession(client, node, state, h) : new DeltaSession(client, node, h);
}

class SotwSession implements XdsSession {
  private readonly stream: RequestStream<SotwRequest>;
  private node: NodeMessage | undefined;
  /** Per type: the version and nonce of the last response, echoed by every later request. */
  private readonly last = new Map<XdsType, { version: string; nonce: string }>();

  constructor(
    client: grpc.Client,
    node: NodeMessage,
    private readonly state: ProxyState,
    h: SessionHandlers,
  ) {
    this.node = node;
    this.stream = openSotwStream(client, {
      onOpen: () => h.onOpen(),
      onClose: (err) => h.onClose(err),
      onResponse: (r) => {
        const type = xdsTypeOf(r.typeUrl);
        if (!type) {
          h.onUnknownType(r.typeUrl);
          this.write({ type_url: r.typeUrl, version_info: r.version, response_nonce: r.nonce, resource_names: NONE });
          return;
        }
        this.last.set(type, { version: r.version, nonce: r.nonce });
        const changes = h.onResponse({ type, resources: r.resources, removed: NONE, replace: type === 'CDS' || type === 'LDS' });
        this.send(changes);
        this.write({ type_url: r.typeUrl, version_info: r.version, response_nonce: r.nonce, resource_names: this.names(type) });
      },
    });
  }

  send(changes: readonly SubscriptionChange[]): void {
    for (const c of changes) {
      const last = this.last.get(c.type);
      this.write({ type_url: TYPE_URL[c.type], version_info: last?.version ?? '', response_nonce: last?.nonce ?? '', resource_names: this.names(c.type) });
    }
  }

  cancel(): void {
    this.stream.cancel();
  }

  /** The same array for the same set: its encoding is cached (see xds-stream.ts). */
  private names(type: XdsType): readonly string[] {
    const t = this.state.types[type];
    return t.wildcard ? NONE : namesOf(t.wanted);
  }

  private write(req: SotwRequest): void {
    this.stream.write(this.node ? { ...req, node: this.node } : req);
    this.node = undefined;
  }
}

class DeltaSession implements XdsSession {
  private readonly stream: RequestStream<DeltaRequest>;
  private node: NodeMessage | undefined;

  constructor(client: grpc.Client, node: NodeMessage, h: SessionHandlers) {
    this.node = node;
    this.stream = openDeltaStream(client, {
      onOpen: () => h.onOpen(),
      onClose: (err) => h.onClose(err),
      onResponse: (r) => {
        const type = xdsTypeOf(r.typeUrl);
        if (!type) h.onUnknownType(r.typeUrl);
        else this.send(h.onResponse({ type, resources: r.resources, removed: r.removed, replace: false }));
        this.write({ type_url: r.typeUrl, response_nonce: r.nonce, resource_names_subscribe: NONE, resource_names_unsubscribe: NONE });
      },
    });
  }

  send(changes: readonly SubscriptionChange[]): void {
    for (const c of changes)
      this.write({ type_url: TYPE_URL[c.type], response_nonce: '', resource_names_subscribe: c.added, resource_names_unsubscribe: c.removed });
  }

  cancel(): void {
    this.stream.cancel();
  }

  private write(req: DeltaRequest): void {
    this.stream.write(this.node ? { ...req, node: this.node } : req);
    this.node = undefined;
  }
}
