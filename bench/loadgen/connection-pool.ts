// HTTP/2 connections shared by simulated proxies: proxy i uses connection floor(i / perConnection).
// Thousands of proxies then need tens of sockets, not thousands, while the server still sees one
// ADS stream per proxy. perConnection = 1 gives every proxy its own socket, as real sidecars have.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';

/**
 * Mutual TLS when LOADGEN_TLS_CA, LOADGEN_TLS_CERT and LOADGEN_TLS_KEY name PEM files (the
 * connection storm's --tls); plaintext otherwise. One credentials object for all connections.
 */
function channelCredentials(): grpc.ChannelCredentials {
  const { LOADGEN_TLS_CA: ca, LOADGEN_TLS_CERT: cert, LOADGEN_TLS_KEY: key } = process.env;
  if (!ca) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(readFileSync(ca), key ? readFileSync(key) : null, cert ? readFileSync(cert) : null);
}

export interface PoolOptions {
  readonly address: string;
  readonly proxiesPerConnection: number;
  /** HTTP/2 stream and connection flow-control window; large so big responses are not throttled. */
  readonly flowControlWindowBytes: number;
}

export class ConnectionPool {
  private readonly clients: grpc.Client[] = [];
  private readonly credentials = channelCredentials();

  constructor(private readonly opts: PoolOptions) {
    if (!(opts.proxiesPerConnection >= 1)) throw new Error('proxiesPerConnection must be at least 1');
  }

  /** The client (one HTTP/2 connection) for the proxy at `slot` (0-based within this pool). */
  clientFor(slot: number): grpc.Client {
    const k = Math.floor(slot / this.opts.proxiesPerConnection);
    let client = this.clients[k];
    if (!client) {
      client = new grpc.Client(this.opts.address, this.credentials, {
        // Without a local pool, grpc-js shares one subchannel (one socket) among all clients
        // with the same target and options.
        'grpc.use_local_subchannel_pool': 1,
        'grpc.max_receive_message_length': -1,
        'grpc.max_send_message_length': -1,
        // Retries would make grpc-js buffer every request written on the stream.
        'grpc.enable_retries': 0,
        'grpc-node.flow_control_window': this.opts.flowControlWindowBytes,
      });
      this.clients[k] = client;
    }
    return client;
  }

  get connections(): number {
    return this.clients.filter(Boolean).length;
  }

  close(): void {
    for (const c of this.clients) c?.close();
    this.clients.length = 0;
  }
}
