import { describe, expect, it } from '@jest/globals';
import { DEFAULT_NAMING, dnsLabel, identityKey, meshName } from '../../../src/catalog/naming.js';
import type { ServiceIdentity } from '../../../src/catalog/model.js';

const nameOf = (identity: ServiceIdentity, naming = DEFAULT_NAMING) => {
  const n = meshName(identity, naming);
  return n.ok ? n.name : `!${n.reason}`;
};
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

describe('mesh names', () => {
  it.each([
    [{ kind: 'service', name: 'orders' }, 'orders'],
    [{ kind: 'service', name: 'Orders_Service' }, 'orders-service'],
    [{ kind: 'service', name: 'com.acme.Billing' }, 'com.acme.billing'],
    [{ kind: 'service', name: 'pay@v2 (eu)' }, 'pay-v2--eu'],
    [{ kind: 'dubbo-interface', interface: 'org.apache.dubbo.demo.GreeterService', group: '', version: '' }, 'org.apache.dubbo.demo.greeterservice'],
    [
      { kind: 'dubbo-interface', interface: 'org.apache.dubbo.demo.GreeterService', group: 'blue', version: '1.0.0' },
      '1-0-0.blue.org.apache.dubbo.demo.greeterservice',
    ],
    [{ kind: 'dubbo-interface', interface: 'org.x.Greeter', group: 'Team_A', version: '' }, 'team-a.org.x.greeter'],
    [{ kind: 'dubbo-application', application: 'shop', protocol: 'tri' }, 'tri.shop'],
  ] as [ServiceIdentity, string][])('%j -> %s', (identity, expected) => {
    expect(nameOf(identity)).toBe(expected);
    expect(expected).toMatch(DNS_NAME);
  });

  it('is configurable by template', () => {
    const naming = { dubboInterface: '{interface}.{group}.v{version}', dubboApplication: '{application}-{protocol}' };
    expect(nameOf({ kind: 'dubbo-interface', interface: 'org.x.Greeter', group: 'blue', version: '2.1' }, naming)).toBe('org.x.greeter.blue.v2-1');
    expect(nameOf({ kind: 'dubbo-application', application: 'shop', protocol: 'tri' }, naming)).toBe('shop-tri');
  });

  it('shortens a label over 63 characters deterministically, keeping different long labels apart', () => {
    const a = dnsLabel(`${'x'.repeat(70)}A`);
    const b = dnsLabel(`${'x'.repeat(70)}B`);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(/^x{54}-[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
    expect(dnsLabel(`${'x'.repeat(70)}A`)).toBe(a);
  });

  it('refuses names with nothing DNS-safe left, or over 253 characters', () => {
    expect(nameOf({ kind: 'service', name: '___' })).toBe('!service:___ has no DNS-safe characters to name it by');
    const long = Array.from({ length: 60 }, (_, i) => `label${i}`).join('.');
    expect(nameOf({ kind: 'service', name: long })).toMatch(/^!mesh name for service:.* is \d+ characters, over 253$/);
  });

  it('maps different identities that differ only in case to one name, which the registry reports', () => {
    const a: ServiceIdentity = { kind: 'service', name: 'Orders' };
    const b: ServiceIdentity = { kind: 'service', name: 'orders' };
    expect(nameOf(a)).toBe(nameOf(b));
    expect(identityKey(a)).not.toBe(identityKey(b));
  });
});
