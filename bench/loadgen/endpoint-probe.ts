// One decoding probe proxy: an Envoy-style proxy (the load generator's own, so it subscribes and
// ACKs exactly like the simulated ones) that fully decodes every ClusterLoadAssignment it receives
// and notes when each endpoint (address:port) first appears. A driver that changes endpoints
// (e.g. a new port per write) then knows, per change, when the new state reached a proxy: the
// figure the issue calls write -> receipt, exact per change rather than matched by cluster name.
// It speaks only xDS, so it times any server.
import type protobuf from 'protobufjs';
import { envoyRoot } from '../../src/xds/protos.js';
import { resourceAt } from './discovery-decode.js';
import { unwrapResource } from './resource-scan.js';
import { startLoad, type LoadRun, type Protocol } from './run.js';
import type { ResponseRecord } from './simulated-proxy.js';

interface SocketAddress {
  address?: string;
  port_value?: number;
}
interface Assignment {
  cluster_name?: string;
  endpoints?: Array<{ lb_endpoints?: Array<{ endpoint?: { address?: { socket_address?: SocketAddress } } }> }>;
}

export interface ProbeOptions {
  readonly server: string;
  readonly protocol?: Protocol;
  /** Node id (distinct from the load's proxies). */
  readonly nodeId?: string;
  /** Told of each endpoint the first time it is received (epoch ms). */
  readonly onFirstSeen?: (endpoint: string, t: number) => void;
}

export class EndpointProbe {
  private readonly firstSeen = new Map<string, number>();
  private readonly assignmentType: protobuf.Type;
  private run: LoadRun | null = null;
  /** EDS responses and ClusterLoadAssignments decoded. */
  responses = 0;
  assignments = 0;

  constructor(private readonly o: ProbeOptions) {
    this.assignmentType = envoyRoot().lookupType('envoy.config.endpoint.v3.ClusterLoadAssignment');
  }

  /** Connects; resolves once the probe is synced (holds every cluster's endpoints). */
  async start(): Promise<void> {
    this.run = startLoad({
      server: this.o.server,
      proxies: 1,
      protocol: this.o.protocol ?? 'sotw',
      style: 'envoy',
      nodeIdTemplate: this.o.nodeId ?? 'endpoint-probe',
      onResponse: (r) => this.onResponse(r),
    });
    await this.run.settled();
  }

  /** Epoch ms when `address:port` was first received, if it was. */
  seenAt(address: string, port: number): number | undefined {
    return this.firstSeen.get(`${address}:${port}`);
  }

  stop(): void {
    this.run?.stop();
    this.run = null;
  }

  private onResponse(r: ResponseRecord): void {
    if (r.type !== 'EDS' || !r.resources) return;
    this.responses++;
    for (let i = 0; i < r.resources.starts.length; i++) {
      const entry = resourceAt(r.resources, i);
      const cla = this.assignmentType.toObject(this.assignmentType.decode(unwrapResource(entry.typeUrl, entry.value).bytes)) as Assignment;
      this.assignments++;
      for (const locality of cla.endpoints ?? []) {
        for (const lb of locality.lb_endpoints ?? []) {
          const sa = lb.endpoint?.address?.socket_address;
          if (!sa?.address || sa.port_value === undefined) continue;
          const key = `${sa.address}:${sa.port_value}`;
          if (this.firstSeen.has(key)) continue;
          this.firstSeen.set(key, r.t);
          this.o.onFirstSeen?.(key, r.t);
        }
      }
    }
  }
}
