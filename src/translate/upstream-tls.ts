// The transport_socket of a service's Cluster when callers must use mTLS (mtls mode STRICT): an
// UpstreamTlsContext that presents the caller's certificate and checks the server's against the CA
// and the policy's server identities. Proxyless gRPC names certificate provider instances of its
// bootstrap (gRFC A29); Envoy names SDS secrets served by a local agent. Pure.
import type { Service } from '../catalog/model.js';
import { ANY_TYPE, compact, typedAny, type Audience } from './envoy-json.js';
import type { CommonTlsContext, SdsSecretConfig, TransportSocket, UpstreamTlsContext } from './envoy-types.js';
import { callersUseMtls, mtlsSettingsOf, stringMatcher, type MtlsSettings } from './mtls-settings.js';

export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';

/** The Cluster's transport_socket for mTLS, or undefined when callers use plaintext. */
export function upstreamMtlsFor(service: Service, audience: Audience): TransportSocket | undefined {
  const settings = mtlsSettingsOf(service);
  if (!callersUseMtls(settings)) return undefined;
  const context = audience === 'proxyless' ? proxylessContext(settings) : sidecarContext(settings, service.policy.tls?.sni ?? service.name);
  return { name: TLS_TRANSPORT_SOCKET, typed_config: typedAny(ANY_TYPE.upstreamTls, context) };
}

function proxylessContext(s: MtlsSettings): UpstreamTlsContext {
  return {
    common_tls_context: {
      tls_certificate_provider_instance: { instance_name: s.identityProvider },
      validation_context: compact<NonNullable<CommonTlsContext['validation_context']>>({
        ca_certificate_provider_instance: { instance_name: s.caProvider },
        match_subject_alt_names: s.serverIdentities.length > 0 ? s.serverIdentities.map(stringMatcher) : undefined,
      }),
    },
  };
}

function sidecarContext(s: MtlsSettings, sni: string): UpstreamTlsContext {
  return {
    sni,
    common_tls_context: {
      tls_certificate_sds_secret_configs: [sdsSecret(s.sdsCertificate, s.sdsCluster)],
      combined_validation_context: {
        default_validation_context: compact<NonNullable<NonNullable<CommonTlsContext['combined_validation_context']>['default_validation_context']>>({
          match_typed_subject_alt_names:
            s.serverIdentities.length > 0 ? s.serverIdentities.map((m) => ({ san_type: 'URI', matcher: stringMatcher(m) })) : undefined,
        }),
        validation_context_sds_secret_config: sdsSecret(s.sdsValidationContext, s.sdsCluster),
      },
    },
  };
}

/** An SDS secret fetched over gRPC from the agent reached through the bootstrap cluster `cluster`. */
export function sdsSecret(name: string, cluster: string): SdsSecretConfig {
  return {
    name,
    sds_config: {
      resource_api_version: 'V3',
      api_config_source: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: cluster } }] },
    },
  };
}
