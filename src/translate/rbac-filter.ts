// A service's `authorization` rules -> Envoy RBAC HTTP filters (envoy.extensions.filters.http.rbac.v3),
// which Envoy and gRPC servers (gRFC A41) both run. Pure.
//
// RBAC semantics in two filters, because one RBAC filter has one action: a DENY filter holding the
// DENY rules runs first, then, if there is any ALLOW rule, an ALLOW filter holding them (a call that
// matches none of them is refused: default deny). Without rules there is no filter at all.
//
// Each rule is one RBAC policy: its principals are the `from` identities (any one; absent: any
// caller) matched against the peer certificate's URI SAN; its permission is the `to` part: any of
// the methods or paths, and all of the headers (absent: any call).
import type { AuthorizationPolicy, AuthorizationRule, HeaderMatch } from '../catalog/policy.js';
import { ANY_TYPE, typedAny } from './envoy-json.js';
import type { HeaderMatcher, HttpFilter, RbacPermission, RbacPolicy } from './envoy-types.js';
import { stringMatcher } from './mtls-settings.js';

export const RBAC_DENY_FILTER = 'zkxds.rbac.deny';
export const RBAC_ALLOW_FILTER = 'zkxds.rbac.allow';

/** The RBAC filters for the rules, in the order they must run (before the router). */
export function rbacFiltersFor(authorization: AuthorizationPolicy | undefined): HttpFilter[] {
  const rules = authorization?.rules ?? [];
  const filters: HttpFilter[] = [];
  for (const [action, name] of [
    ['DENY', RBAC_DENY_FILTER],
    ['ALLOW', RBAC_ALLOW_FILTER],
  ] as const) {
    const policies: Record<string, RbacPolicy> = {};
    rules.forEach((rule, i) => {
      if (rule.action === action) policies[`rule-${i}`] = policyOf(rule);
    });
    if (Object.keys(policies).length === 0) continue;
    filters.push({ name, typed_config: typedAny(ANY_TYPE.rbac, { rules: { action, policies } }) });
  }
  return filters;
}

function policyOf(rule: AuthorizationRule): RbacPolicy {
  const principals = rule.from?.principals.map((p) => ({ authenticated: { principal_name: stringMatcher(p) } }));
  return { permissions: [permissionOf(rule.to)], principals: principals ?? [{ any: true }] };
}

function permissionOf(to: AuthorizationRule['to']): RbacPermission {
  if (!to) return { any: true };
  const targets: RbacPermission[] = [
    ...(to.methods ?? []).map(methodPath),
    ...(to.paths ?? []).map((p): RbacPermission => ({ url_path: { path: stringMatcher(p) } })),
  ];
  const parts: RbacPermission[] = [];
  if (targets.length > 0) parts.push(targets.length === 1 ? targets[0]! : { or_rules: { rules: targets } });
  for (const h of to.headers ?? []) parts.push({ header: headerMatcher(h) });
  return parts.length === 1 ? parts[0]! : { and_rules: { rules: parts } };
}

/** "pkg.Service/Method" is the path /pkg.Service/Method; "pkg.Service/*" every path under /pkg.Service/. */
function methodPath(method: string): RbacPermission {
  const [service, name] = method.split('/') as [string, string];
  return { url_path: { path: name === '*' ? { prefix: `/${service}/` } : { exact: `/${method}` } } };
}

function headerMatcher(h: HeaderMatch): HeaderMatcher {
  if ('present' in h) return { name: h.name, present_match: true };
  return { name: h.name, string_match: 'exact' in h ? { exact: h.exact } : { prefix: h.prefix } };
}
