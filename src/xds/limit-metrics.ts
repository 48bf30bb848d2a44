// Metrics of the stream limits (stream-limits.ts), registered next to the others on the server's
// registry; one set per registry (tests start several servers on one).
import { Counter, Gauge, type Registry } from 'prom-client';

export interface LimitMetrics {
  readonly bufferedBytes: Gauge;
  readonly bufferedBytesLimit: Gauge;
  readonly heldForBytes: Gauge;
  readonly waitingInitialSync: Gauge;
  readonly shedStreams: Counter;
  readonly stuckStreamsClosed: Counter;
  readonly nackLogsSuppressed: Counter;
}

const perRegistry = new WeakMap<Registry, LimitMetrics>();

export function limitMetrics(registry: Registry): LimitMetrics {
  const known = perRegistry.get(registry);
  if (known) return known;
  const registers = [registry];
  const m: LimitMetrics = {
    bufferedBytes: new Gauge({
      name: 'zkxds_xds_buffered_bytes',
      help: 'Response bytes handed to the transport and not yet sent, over all streams',
      registers,
    }),
    bufferedBytesLimit: new Gauge({
      name: 'zkxds_xds_buffered_bytes_limit',
      help: 'Ceiling of zkxds_xds_buffered_bytes past which writes wait (0 = none)',
      registers,
    }),
    heldForBytes: new Gauge({
      name: 'zkxds_xds_streams_held_for_buffer',
      help: 'Streams whose next response waits because the buffered bytes are over the ceiling',
      registers,
    }),
    waitingInitialSync: new Gauge({
      name: 'zkxds_xds_initial_syncs_waiting',
      help: 'New streams whose first response waits for its turn (initial-sync rate)',
      registers,
    }),
    shedStreams: new Counter({
      name: 'zkxds_xds_streams_shed_total',
      help: 'Streams refused with RESOURCE_EXHAUSTED because the replica holds --max-streams',
      registers,
    }),
    stuckStreamsClosed: new Counter({
      name: 'zkxds_xds_stuck_streams_closed_total',
      help: 'Streams closed because a response had not left after --stuck-stream-timeout-ms',
      registers,
    }),
    nackLogsSuppressed: new Counter({
      name: 'zkxds_xds_nack_logs_suppressed_total',
      help: 'NACKs not logged because the same rejection was logged recently (still counted in zkxds_xds_nacks_total)',
      registers,
    }),
  };
  perRegistry.set(registry, m);
  return m;
}
