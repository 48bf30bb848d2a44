// Service -> envoy.config.cluster.v3.Cluster: an EDS cluster whose endpoints come over ADS.
import type { Service } from '../catalog/model.js';
import { ADS_CONFIG_SOURCE, durationMs, type Json } from './envoy-json.js';
import { resourceNamesFor } from './resource-names.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export function clusterFor(service: Service): Json {
  const names = resourceNamesFor(service.name);
  return {
    name: names.cluster,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_CONFIG_SOURCE, service_name: names.endpoints },
    connect_timeout: durationMs(DEFAULT_CONNECT_TIMEOUT_MS),
    lb_policy: 'ROUND_ROBIN',
  };
}
