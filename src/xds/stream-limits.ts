// The limits that keep one replica standing through connection storms and proxies that stop
// reading. Defaults are far above what a healthy fleet reaches: a real Envoy never meets them.

export interface StreamLimits {
  /** Listen backlog of the xDS port (the kernel caps it at net.core.somaxconn). */
  readonly listenBacklog: number;
  /** Open xDS streams per replica; more are refused with RESOURCE_EXHAUSTED (0 = no limit). */
  readonly maxStreams: number;
  /** Streams whose first response may be built per second; the rest wait their turn (0 = no limit). */
  readonly initialSyncsPerSecond: number;
  /** Bytes handed to the transport and not yet sent, over all streams; past it, writes wait (0 = no limit). */
  readonly maxBufferedBytes: number;
  /** A stream whose response has not left for this long is closed (0 = never). */
  readonly stuckStreamTimeoutMs: number;
  /** Connections are asked to go away (GOAWAY) after this long, with jitter (0 = never). */
  readonly maxConnectionAgeMs: number;
  /** After the GOAWAY, streams still open are closed after this long (0 = wait forever). */
  readonly maxConnectionAgeGraceMs: number;
  /** Largest request message a client may send; a larger one ends its stream with RESOURCE_EXHAUSTED. */
  readonly maxRequestBytes: number;
  /** Open xDS streams per client connection; more are refused with RESOURCE_EXHAUSTED (0 = no limit). */
  readonly maxStreamsPerConnection: number;
  /** Sustained requests per second one stream may send (token bucket; 0 = no limit). */
  readonly requestsPerSecond: number;
  /** Requests one stream may send at once before the rate applies (the bucket's size). */
  readonly requestBurst: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  listenBacklog: 65535,
  maxStreams: 50_000,
  initialSyncsPerSecond: 2000,
  maxBufferedBytes: 512 * 1024 * 1024,
  stuckStreamTimeoutMs: 60_000,
  maxConnectionAgeMs: 30 * 60_000,
  maxConnectionAgeGraceMs: 60_000,
  // An Envoy's DiscoveryRequest naming 100k resources stays under 8 MiB.
  maxRequestBytes: 16 * 1024 * 1024,
  // Envoy opens one stream per RDS route configuration without ADS; hundreds at most.
  maxStreamsPerConnection: 1000,
  // A proxy sends a request per subscription change and an ACK or NACK per response; responses to
  // one stream go one at a time and coalesce (min push interval), so tens per second is a storm.
  requestsPerSecond: 200,
  requestBurst: 2000,
};
