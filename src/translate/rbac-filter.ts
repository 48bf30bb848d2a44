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
import { ANY_TYPE, type Json } from './envoy-json.js';
import type { HttpFilter } from './envoy-types.js';
import type { AnyExtension } from '@grpc/proto-loader';
import { stringMatcher } from './mtls-settings.js';

export const RBAC_DENY_FILTER = 'zkxds.rbac.deny';
export const RBAC_ALLOW_FILTER = 'zkxds.rbac.allow';

/** The RBAC filters for the rules, in the order they must run (before the router). */
export function rbacFiltersFor(authorization: AuthorizationPolicy | undefined): HttpFilter[] {
  const rules = authorization?.rules ?? [];
  const filters: HttpFilter[] = [];
  for (const [action, name] of [['DENY', RBAC_DENY_FILTER], ['ALLOW', RBAC_ALLOW_FILTER]] as const) {
    const policies: Record<string, Json> = {};
    rules.forEach((rule, i) => {
      if (rule.action === action) policies[`rule-${i}`] = policyOf(rule);
    });
    if (Object.keys(policies).length === 0) continue;
    // RBAC is not among the generated types (src/generated): its body stays untyped proto-JSON,
    // checked by the proto-constraint tests instead.
    filters.push({ name, typed_config: { '@type': ANY_TYPE.rbac, rules: { action, policies } } as AnyExtension });
  }
  return filters;
}

function policyOf(rule: AuthorizationRule): Json {
  const principals = rule.from?.principals.map((p) => ({ authenticated: { principal_name: stringMatcher(p) } }));
  return { permissions: [permissionOf(rule.to)], principals: principals ?? [{ any: true }] };
}

function permissionOf(to: AuthorizationRule['to']): Json {
  if (!to) return { any: true };
  const targets = [...(to.methods ?? []).map(methodPath), ...(to.paths ?? []).map((p) => ({ url_path: { path: stringMatcher(p) } }))];
  const parts: Json[] = [];
  if (targets.length > 0) parts.push(targets.length === 1 ? targets[0]! : { or_rules: { rules: targets } });
  for (const h of to.headers ?? []) parts.push({ header: headerMatcher(h) });
  return parts.length === 1 ? parts[0]! : { and_rules: { rules: parts } };
}

/** "pkg.Service/Method" is the path /pkg.Service/Method; "pkg.Service/*" every path under /pkg.Service/. */
function methodPath(method: string): Json {
  const [service, name] = method.split('/') as [string, string];
  return { url_path: { path: name === '*' ? { prefix: `/${service}/` } : { exact: `/${method}` } } };
}

function headerMatcher(h: HeaderMatch): Json {
  if ('present' in h) return { name: h.name, present_match: true };
  return { name: h.name, string_match: 'exact' in h ? { exact: h.exact } : { prefix: h.prefix } };
}
