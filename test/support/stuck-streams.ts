// Proxies that stop reading, as a raw HTTP/2 client: each stream subscribes to everything over ADS
// (wildcard CDS and LDS, every EDS and RDS name) like an Envoy, then never reads a byte. The
// connections advertise a tiny flow-control window, so the server's responses stop in its own
// transport: what the server then holds per stream is what these streams measure.
import http2 from 'node:http2';
import { messageType } from '../../src/xds/protos.js';
import { TYPE_URL } from '../../src/xds/resource-types.js';

export interface StuckStreamsOptions {
  /** host:port of the xDS server. */
  readonly address: string;
  readonly streams: number;
  readonly connections: number;
  /** Node id prefix (`<prefix>-<i>`). */
  readonly nodePrefix?: string;
}

export interface StuckStreams {
  /** Streams the server reset or ended (e.g. closed as stuck), with the RST code or 0. */
  readonly closed: number[];
  /** Streams whose response headers arrived (the server accepted them). */
  readonly opened: () => number;
  /** Closes every connection. */
  close(): Promise<void>;
}

const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

function request(nodeId: string | null, typeUrl: string): Buffer {
  const type = messageType('envoy.service.discovery.v3.DiscoveryRequest');
  const msg = type.fromObject({ type_url: typeUrl, ...(nodeId ? { node: { id: nodeId, cluster: 'stuck', user_agent_name: 'envoy' } } : {}) });
  return frame(type.encode(msg).finish());
}

export async function openStuckStreams(o: StuckStreamsOptions): Promise<StuckStreams> {
  const sessions: http2.ClientHttp2Session[] = [];
  const closed: number[] = [];
  let opened = 0;
  for (let c = 0; c < o.connections; c++) {
    // A 1 KiB window and no reads: the server can send almost nothing.
    const session = http2.connect(`http://${o.address}`, { settings: { initialWindowSize: 1024 } });
    session.on('error', () => {});
    sessions.push(session);
    await new Promise<void>((resolve, reject) => {
      session.once('connect', () => resolve());
      session.once('error', reject);
    });
  }
  for (let i = 0; i < o.streams; i++) {
    const session = sessions[i % sessions.length]!;
    const stream = session.request({ ':method': 'POST', ':path': ADS_PATH, 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('response', () => opened++);
    stream.on('error', () => {});
    stream.on('close', () => closed.push(stream.rstCode ?? 0));
    // Every type, every name (empty names: wildcard); the node goes in the first request only.
    stream.write(request(`${o.nodePrefix ?? 'stuck'}-${i}`, TYPE_URL.cluster));
    stream.write(request(null, TYPE_URL.endpoint));
    stream.write(request(null, TYPE_URL.listener));
    stream.write(request(null, TYPE_URL.route));
    // Never read: no 'data' listener, so the stream stays paused and its window stays shut.
    stream.pause();
    if (i % 200 === 199) await new Promise((r) => setImmediate(r));
  }
  return {
    closed,
    opened: () => opened,
    close: async () => {
      await Promise.all(
        sessions.map(
          (s) =>
            new Promise<void>((resolve) => {
              if (s.destroyed) return resolve();
              s.once('close', () => resolve());
              s.destroy();
            }),
        ),
      );
    },
  };
}
