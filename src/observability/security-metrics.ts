// Metrics of the xDS port's security: TLS file reloads, identity checks, per-client limits.
// One set per registry (tests start several servers in one process); createMetrics registers them
// up front so the series exist (at 0) before the first event, which alerts on increase() need.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface SecurityMetrics {
  /** result: loaded | rejected. */
  readonly tlsReloads: Counter<'result'>;
  readonly tlsCertificateExpiry: Gauge;
  /** Streams ended with PERMISSION_DENIED because the identity may not claim the node's cluster. */
  readonly identityDenied: Counter;
  /** limit: request_rate | streams_per_connection | message_size. */
  readonly clientLimitRefusals: Counter<'limit'>;
}

const perRegistry = new WeakMap<Registry, SecurityMetrics>();

export function securityMetrics(registry: Registry): SecurityMetrics {
  const known = perRegistry.get(registry);
  if (known) return known;
  const registers = [registry];
  const m: SecurityMetrics = {
    tlsReloads: new Counter({
      name: 'zkxds_xds_tls_reloads_total',
      help: 'Changed xDS TLS files taken (result="loaded") or rejected and the previous ones kept (result="rejected")',
      labelNames: ['result'],
      registers,
    }),
    tlsCertificateExpiry: new Gauge({
      name: 'zkxds_xds_tls_certificate_expiry_seconds',
      help: 'Expiry (Unix time) of the xDS server certificate in force',
      registers,
    }),
    identityDenied: new Counter({
      name: 'zkxds_xds_identity_denied_total',
      help: "Streams ended with PERMISSION_DENIED: the client certificate's identity may not claim the node's cluster",
      registers,
    }),
    clientLimitRefusals: new Counter({
      name: 'zkxds_xds_client_limit_refusals_total',
      help: 'Streams ended with RESOURCE_EXHAUSTED by a per-client limit',
      labelNames: ['limit'],
      registers,
    }),
  };
  // Every series at 0 from the start: increase() and rate() see the first event.
  for (const result of ['loaded', 'rejected']) m.tlsReloads.inc({ result }, 0);
  for (const limit of ['request_rate', 'streams_per_connection', 'message_size']) m.clientLimitRefusals.inc({ limit }, 0);
  perRegistry.set(registry, m);
  return m;
}
