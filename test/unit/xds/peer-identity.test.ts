// The identity of a client certificate (URI SAN, else DNS SAN, else CN), its name part, and which
// node clusters the default rule and an identities file let it claim.
import { describe, expect, it } from '@jest/globals';
import { IdentityPolicy, identityPolicyFrom, parseSubjectAltNames, peerIdentity } from '../../../src/xds/peer-identity.js';

describe('peer identity', () => {
  it("reads Node's subjectaltname string, JSON-quoted values included", () => {
    expect(parseSubjectAltNames('DNS:a.example, IP Address:10.0.0.1, URI:spiffe://td/ns/x/sa/y')).toEqual([
      { type: 'DNS', value: 'a.example' },
      { type: 'IP Address', value: '10.0.0.1' },
      { type: 'URI', value: 'spiffe://td/ns/x/sa/y' },
    ]);
    expect(parseSubjectAltNames('URI:"spiffe://td/ns/x/sa/a,b", DNS:c')).toEqual([
      { type: 'URI', value: 'spiffe://td/ns/x/sa/a,b' },
      { type: 'DNS', value: 'c' },
    ]);
    expect(parseSubjectAltNames(undefined)).toEqual([]);
  });

  it('takes the URI SAN first, then the DNS SAN, then the CN; the name part of a SPIFFE ID is its service account', () => {
    const cert = (subjectaltname: string | undefined, CN?: string) => ({ subjectaltname, subject: { CN } as never });
    expect(peerIdentity(cert('DNS:orders.shop.svc, URI:spiffe://cluster.local/ns/shop/sa/orders', 'x'))).toEqual({
      id: 'spiffe://cluster.local/ns/shop/sa/orders',
      source: 'uri',
      name: 'orders',
    });
    expect(peerIdentity(cert('URI:https://example.com/workloads/billing/'))?.name).toBe('billing');
    expect(peerIdentity(cert('DNS:payments', 'x'))).toEqual({ id: 'payments', source: 'dns', name: 'payments' });
    expect(peerIdentity(cert(undefined, 'inventory'))).toEqual({ id: 'inventory', source: 'cn', name: 'inventory' });
    expect(peerIdentity(cert(undefined))).toBeNull();
    expect(peerIdentity(undefined)).toBeNull();
  });

  it('allows the own name by default, mapped clusters (or any with "*") from the identities file, and nothing for an empty cluster', () => {
    const orders = { id: 'spiffe://td/ns/shop/sa/orders', source: 'uri' as const, name: 'orders' };
    const gw = { id: 'spiffe://td/ns/shop/sa/gateway', source: 'uri' as const, name: 'gateway' };
    const istiod = { id: 'spiffe://td/ns/istio-system/sa/istiod', source: 'uri' as const, name: 'istiod' };
    const policy = identityPolicyFrom({ identities: { [gw.id]: ['orders', 'payments'], [istiod.id]: ['*'] } }, 'test');
    expect(policy.allows(orders, 'orders')).toBe(true);
    expect(policy.allows(orders, 'payments')).toBe(false);
    expect(policy.allows(orders, '')).toBe(false);
    expect(policy.allows(gw, 'payments')).toBe(true);
    expect(policy.allows(gw, 'billing')).toBe(false);
    expect(policy.allows(istiod, 'Kubernetes')).toBe(true);
    expect(new IdentityPolicy().allows(gw, 'orders')).toBe(false);
  });

  it('rejects an identities file with unknown fields or clusters that are not a list', () => {
    expect(() => identityPolicyFrom({ identities: { a: 'b' } }, 'f.yaml')).toThrow('invalid identities in f.yaml: identities.a: must be array');
    expect(() => identityPolicyFrom({ identity: {} }, 'f.yaml')).toThrow(/unknown field "identity"/);
    expect(() => identityPolicyFrom({ identities: { a: [] } }, 'f.yaml')).toThrow(/must NOT have fewer than 1 items/);
  });
});
