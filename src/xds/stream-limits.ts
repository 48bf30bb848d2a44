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
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  listenBacklog: 65535,
  maxStreams: 50_000,
  initialSyncsPerSecond: 2000,
  maxBufferedBytes: 512 * 1024 * 1024,
  stuckStreamTimeoutMs: 60_000,
  maxConnectionAgeMs: 30 * 60_000,
  maxConnectionAgeGraceMs: 60_000,
};
