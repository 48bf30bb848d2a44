// `serve` flags for the xDS stream limits (src/xds/stream-limits.ts): connection storms and
// proxies that stop reading. Defaults come from DEFAULT_STREAM_LIMITS.
import { Option } from 'commander';
import { DEFAULT_STREAM_LIMITS, type StreamLimits } from '../xds/stream-limits.js';
import { int } from './zookeeper-flags.js';

/** What commander hands over for these flags (property names follow the flag names). */
export type StreamLimitFlags = Partial<StreamLimits>;

const MAX_INT = 2 ** 31 - 1;
const d = DEFAULT_STREAM_LIMITS;

export function streamLimitOptions(): Option[] {
  return [
    new Option('--listen-backlog <n>', 'listen backlog of the xDS port, sized for connection storms (the kernel caps it at net.core.somaxconn)')
      .env('ZKXDS_LISTEN_BACKLOG')
      .default(d.listenBacklog)
      .argParser(int(1, 1 << 20)),
    new Option('--max-streams <n>', 'most open xDS streams per replica; more are refused with RESOURCE_EXHAUSTED and retried by the proxy (0 = no limit)')
      .env('ZKXDS_MAX_STREAMS')
      .default(d.maxStreams)
      .argParser(int(0, MAX_INT)),
    new Option('--initial-syncs-per-second <n>', 'new streams whose first response is built per second; the others wait their turn, in order (0 = no limit)')
      .env('ZKXDS_INITIAL_SYNCS_PER_SECOND')
      .default(d.initialSyncsPerSecond)
      .argParser(int(0, 1_000_000)),
    new Option(
      '--max-buffered-bytes <n>',
      'ceiling of response bytes waiting in the transport over all streams; past it, responses wait instead of being buffered (0 = no limit)',
    )
      .env('ZKXDS_MAX_BUFFERED_BYTES')
      .default(d.maxBufferedBytes)
      .argParser(int(0, Number.MAX_SAFE_INTEGER)),
    new Option('--stuck-stream-timeout-ms <ms>', 'a stream whose response has not left for this long (a proxy that stopped reading) is closed (0 = never)')
      .env('ZKXDS_STUCK_STREAM_TIMEOUT_MS')
      .default(d.stuckStreamTimeoutMs)
      .argParser(int(0, MAX_INT)),
    new Option('--max-connection-age-ms <ms>', 'connections are asked to go away after this long (±10%), so proxies rebalance over replicas (0 = never)')
      .env('ZKXDS_MAX_CONNECTION_AGE_MS')
      .default(d.maxConnectionAgeMs)
      .argParser(int(0, MAX_INT)),
    new Option('--max-request-bytes <n>', 'largest request message a client may send; a larger one ends its stream with RESOURCE_EXHAUSTED')
      .env('ZKXDS_MAX_REQUEST_BYTES')
      .default(d.maxRequestBytes)
      .argParser(int(1024, MAX_INT)),
    new Option('--max-streams-per-connection <n>', 'most open xDS streams on one client connection; more are refused with RESOURCE_EXHAUSTED (0 = no limit)')
      .env('ZKXDS_MAX_STREAMS_PER_CONNECTION')
      .default(d.maxStreamsPerConnection)
      .argParser(int(0, MAX_INT)),
    new Option(
      '--requests-per-second <n>',
      'sustained requests per second one stream may send; past it (and --request-burst) the stream ends with RESOURCE_EXHAUSTED (0 = no limit)',
    )
      .env('ZKXDS_REQUESTS_PER_SECOND')
      .default(d.requestsPerSecond)
      .argParser(int(0, 1_000_000)),
    new Option('--request-burst <n>', 'requests one stream may send at once before --requests-per-second applies')
      .env('ZKXDS_REQUEST_BURST')
      .default(d.requestBurst)
      .argParser(int(1, 10_000_000)),
    new Option('--max-connection-age-grace-ms <ms>', 'after that, streams still open on the connection are closed after this long (0 = wait for them)')
      .env('ZKXDS_MAX_CONNECTION_AGE_GRACE_MS')
      .default(d.maxConnectionAgeGraceMs)
      .argParser(int(0, MAX_INT)),
  ];
}

/** The limits set by flags (unset ones keep the defaults). */
export function streamLimitsFrom(flags: StreamLimitFlags): Partial<StreamLimits> {
  const out: Partial<Record<keyof StreamLimits, number>> = {};
  for (const key of Object.keys(d) as Array<keyof StreamLimits>) if (typeof flags[key] === 'number') out[key] = flags[key];
  return out;
}
