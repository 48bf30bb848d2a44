// The effective mTLS mode and authorization rules of a service, in words, for /debug/resources and
// `zk-xds inspect`: what callers do, what its servers enforce at each registered address, and the
// names each kind of node must provide (zk-xds only names certificates; it never issues them).
import type { Service } from '../catalog/model.js';
import type { AuthorizationRule, StringMatch } from '../catalog/policy.js';
import { callersUseMtls, mtlsSettingsOf } from '../translate/mtls-settings.js';
import { serverListenerNameAt } from '../translate/server-listener.js';
import type { ServerListenerIndex } from '../publish/server-listener-index.js';

export interface SecuritySummary {
  readonly mode: 'DISABLE' | 'PERMISSIVE' | 'STRICT';
  /** What callers of the service send: mTLS (STRICT) or plaintext. */
  readonly callers: 'mTLS' | 'plaintext';
  /** SANs callers accept from the servers; empty: any certificate of the CA. */
  readonly serverIdentities: string[];
  /** The rules in evaluation order, one line each, then the default. */
  readonly rules: string[];
  /** The server Listener per registered address, with what it enforces there. */
  readonly servers: Array<{ address: string; listener: string; mode: string; conflict: string | null }>;
  /** Names that must exist on the nodes: bootstrap certificate providers (gRPC), SDS secrets (Envoy). */
  readonly nodeNeeds: { certificateProviders: string[]; sdsSecrets: string[]; sdsCluster: string } | null;
}

export function securitySummary(service: Service, servers: ServerListenerIndex): SecuritySummary {
  const s = mtlsSettingsOf(service);
  const usesCertificates = s.mode !== 'DISABLE';
  return {
    mode: s.mode,
    callers: callersUseMtls(s) ? 'mTLS' : 'plaintext',
    serverIdentities: s.serverIdentities.map(describeMatch),
    rules: describeRules(service.policy.authorization?.rules ?? []),
    servers: servers.addressesOf(service.name).map((address) => {
      const at = servers.securityAt(address);
      return { address, listener: serverListenerNameAt(address), mode: at?.settings.mode ?? s.mode, conflict: at?.conflict ?? null };
    }),
    nodeNeeds: usesCertificates
      ? {
          certificateProviders: [...new Set([s.identityProvider, s.caProvider])],
          sdsSecrets: [...new Set([s.sdsCertificate, s.sdsValidationContext])],
          sdsCluster: s.sdsCluster,
        }
      : null,
  };
}

function describeMatch(m: StringMatch): string {
  return 'exact' in m ? m.exact : `${m.prefix}*`;
}

function describeRules(rules: readonly AuthorizationRule[]): string[] {
  if (rules.length === 0) return ['no rules: every call is allowed'];
  const ordered = [...rules.filter((r) => r.action === 'DENY'), ...rules.filter((r) => r.action === 'ALLOW')];
  const lines = ordered.map((r) => `${r.action} ${describeRule(r)}`);
  lines.push(rules.some((r) => r.action === 'ALLOW') ? 'otherwise DENY (ALLOW rules exist)' : 'otherwise ALLOW');
  return lines;
}

function describeRule(r: AuthorizationRule): string {
  const from = r.from ? `from ${r.from.principals.map(describeMatch).join(' or ')}` : 'from anyone';
  if (!r.to) return `${from} to anything`;
  const targets = [...(r.to.methods ?? []), ...(r.to.paths ?? []).map(describeMatch)];
  const headers = (r.to.headers ?? []).map((h) => ('present' in h ? `${h.name} present` : 'exact' in h ? `${h.name}=${h.exact}` : `${h.name}=${h.prefix}*`));
  return [from, targets.length > 0 ? `to ${targets.join(' or ')}` : 'to anything', headers.length > 0 ? `with ${headers.join(' and ')}` : '']
    .filter(Boolean)
    .join(' ');
}
