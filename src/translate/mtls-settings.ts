// What a service's `mtls` policy means once its defaults are filled in, for both ends of a call.
// Pure. The names are node-local: a proxyless node's bootstrap must define the certificate
// provider instances, an Envoy node's SDS agent must serve the secrets (zk-xds is not a CA).
import type { Service } from '../catalog/model.js';
import { MTLS_DEFAULTS, type MtlsMode, type StringMatch } from '../catalog/policy.js';
import type { StringMatcher } from './envoy-types.js';

export interface MtlsSettings {
  readonly mode: MtlsMode;
  /** Proxyless gRPC: bootstrap `certificate_providers` instance names. */
  readonly identityProvider: string;
  readonly caProvider: string;
  /** Envoy: SDS secret names and the bootstrap cluster of the SDS agent. */
  readonly sdsCertificate: string;
  readonly sdsValidationContext: string;
  readonly sdsCluster: string;
  /** SANs callers accept from the service's servers; empty: any certificate the CA signed. */
  readonly serverIdentities: readonly StringMatch[];
}

/** The service's mTLS settings; mode DISABLE without a policy. */
export function mtlsSettingsOf(service: Service): MtlsSettings {
  const m = service.policy.mtls;
  return {
    mode: m?.mode ?? 'DISABLE',
    identityProvider: m?.certificateProviders?.identity ?? MTLS_DEFAULTS.identityProvider,
    caProvider: m?.certificateProviders?.ca ?? MTLS_DEFAULTS.caProvider,
    sdsCertificate: m?.sdsSecrets?.certificate ?? MTLS_DEFAULTS.sdsCertificate,
    sdsValidationContext: m?.sdsSecrets?.validationContext ?? MTLS_DEFAULTS.sdsValidationContext,
    sdsCluster: m?.sdsSecrets?.sdsCluster ?? MTLS_DEFAULTS.sdsCluster,
    serverIdentities: m?.serverIdentities ?? [],
  };
}

/**
 * Whether callers of the service originate mTLS. Only in STRICT: in PERMISSIVE the servers accept
 * plaintext too (Envoy) or only plaintext (proxyless gRPC, whose servers cannot tell TLS from
 * plaintext on one port, gRFC A36), so callers keep plaintext and switching to PERMISSIVE breaks
 * no call; STRICT then moves callers and servers to mTLS together.
 */
export function callersUseMtls(settings: MtlsSettings): boolean {
  return settings.mode === 'STRICT';
}

/** proto-JSON of an envoy.type.matcher.v3.StringMatcher. */
export function stringMatcher(m: StringMatch): StringMatcher {
  return 'exact' in m ? { exact: m.exact } : { prefix: m.prefix };
}
