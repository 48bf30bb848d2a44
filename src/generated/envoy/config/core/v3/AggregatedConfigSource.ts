// Original file: protos/envoy/config/core/v3/config_source.proto


/**
 * Aggregated Discovery Service (ADS) options. This is currently empty, but when
 * set in :ref:`ConfigSource <envoy_v3_api_msg_config.core.v3.ConfigSource>` can be used to
 * specify that ADS is to be used.
 */
export interface AggregatedConfigSource {
}

/**
 * Aggregated Discovery Service (ADS) options. This is currently empty, but when
 * set in :ref:`ConfigSource <envoy_v3_api_msg_config.core.v3.ConfigSource>` can be used to
 * specify that ADS is to be used.
 */
export interface AggregatedConfigSource__Output {
}
