// /metrics of `serve --workers N`: the main's registry merged with every serving worker's, so a
// scrape sees the whole replica. Work each process does on its own streams (streams, pushes, ACKs,
// latencies, CPU and memory) is summed. What every process computes from the same replicated
// catalog (services, endpoints, resources per view, conflicts) or only the main does (ZooKeeper,
// Kubernetes, registrations) is the main's alone: a sum would count it N times.
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

const MAIN_ONLY_PREFIXES = [
  'zkxds_zookeeper_',
  'zkxds_catalog_',
  'zkxds_invalid_',
  'zkxds_name_collisions',
  'zkxds_k8s_',
  'zkxds_scope_',
  'zkxds_serving_workers',
];
const MAIN_ONLY = new Set([
  'zkxds_services',
  'zkxds_endpoints',
  'zkxds_leader',
  'zkxds_xds_resources',
  'zkxds_sidecar_port_conflicts',
  'zkxds_server_listener_conflicts',
  'zkxds_translation_errors_total',
  'zkxds_istio_service_entries_rejected',
  'zkxds_istio_service_entries_rejected_total',
  'zkxds_xds_tls_certificate_expiry_seconds',
  'zkxds_serving_worker_restarts_total',
]);
/** Per process, where the worst process is the answer. */
const MAX_OF_PROCESSES = new Set(['zkxds_xds_stale_proxy_max_seconds']);

export function isMainOnly(name: string): boolean {
  return MAIN_ONLY.has(name) || MAIN_ONLY_PREFIXES.some((p) => name.startsWith(p));
}

/** One registry from the main's metrics and the workers' (getMetricsAsJSON of each). */
export function mergeMetrics(main: MetricsJson, workers: readonly MetricsJson[]): Registry {
  const mark = (m: MetricObjectWithValues<MetricValue<string>>) => (MAX_OF_PROCESSES.has(m.name) ? ({ ...m, aggregator: 'max' } as typeof m) : m);
  return AggregatorRegistry.aggregate([main.map(mark), ...workers.map((w) => w.filter((m) => !isMainOnly(m.name)).map(mark))]);
}
