// Service -> envoy.config.listener.v3.Listener for proxyless gRPC: an api_listener whose
// HttpConnectionManager takes its routes from RDS over ADS, with the router filter last.
import type { Service } from '../catalog/model.js';
import { ADS_CONFIG_SOURCE, ANY_TYPE, ROUTER_FILTER, typedAny } from './envoy-json.js';
import type { Listener } from './envoy-types.js';
import { resourceNamesFor } from './resource-names.js';

export function apiListenerFor(service: Service): Listener {
  const names = resourceNamesFor(service.name);
  return {
    name: names.listener,
    api_listener: {
      api_listener: typedAny(ANY_TYPE.httpConnectionManager, {
        stat_prefix: service.name,
        rds: { config_source: ADS_CONFIG_SOURCE, route_config_name: names.route },
        http_filters: [ROUTER_FILTER],
      }),
    },
  };
}
