import { describe, expect, it } from '@jest/globals';
import type { RegisteredInstance, ServiceIdentity } from '../../../src/catalog/model.js';
import { NO_LOCALITY } from '../../../src/catalog/model.js';
import { identityKey } from '../../../src/catalog/naming.js';
import { EMPTY_POLICY } from '../../../src/catalog/policy.js';
import { ServiceIndex, type NamedEntry } from '../../../src/registry/service-index.js';

function entry(name: string, identity: ServiceIdentity, address: string, ensemble: string, source: string): NamedEntry {
  const instance: RegisteredInstance = {
    id: address,
    address,
    port: 80,
    weight: 1,
    healthy: true,
    locality: NO_LOCALITY,
    metadata: {},
    source,
    format: 'json',
    ensemble,
  };
  return { name, identity, identityKey: identityKey(identity), instance };
}

const orders: ServiceIdentity = { kind: 'service', name: 'orders' };
const Orders: ServiceIdentity = { kind: 'service', name: 'Orders' };

describe('ServiceIndex', () => {
  it('merges one identity seen in two ensembles, sorted by path then ensemble', () => {
    const index = new ServiceIndex();
    index.update('b:/services/orders', [entry('orders', orders, '10.0.0.2', 'b', '/services/orders/x')]);
    const affected = index.update('a:/services/orders', [entry('orders', orders, '10.0.0.1', 'a', '/services/orders/x')]);
    expect([...affected]).toEqual(['orders']);
    const { service, newCollision } = index.build('orders', EMPTY_POLICY);
    expect(newCollision).toBeNull();
    expect(service.instances.map((i) => `${i.ensemble}/${i.address}`)).toEqual(['a/10.0.0.1', 'b/10.0.0.2']);
    expect(service.identity).toEqual(orders);
  });

  it('picks the same collision winner whatever the order the sources arrived in, and reports it once', () => {
    const winners = [0, 1].map((order) => {
      const index = new ServiceIndex();
      const updates: [string, NamedEntry][] = [
        ['a:/services/orders', entry('orders', orders, '10.0.0.1', 'a', '/services/orders/x')],
        ['a:/services/Orders', entry('orders', Orders, '10.0.0.9', 'a', '/services/Orders/x')],
      ];
      if (order === 1) updates.reverse();
      for (const [k, e] of updates) index.update(k, [e]);
      const first = index.build('orders', EMPTY_POLICY);
      const again = index.build('orders', EMPTY_POLICY);
      expect(first.newCollision?.identities).toEqual(['service:Orders', 'service:orders']);
      expect(again.newCollision).toBeNull();
      return first.service.instances.map((i) => i.address);
    });
    expect(winners).toEqual([['10.0.0.9'], ['10.0.0.9']]);
  });

  it('forgets a collision and a name once their sources are gone', () => {
    const index = new ServiceIndex();
    index.update('a:/s/orders', [entry('orders', orders, '10.0.0.1', 'a', '/s/orders/x')]);
    index.update('a:/s/Orders', [entry('orders', Orders, '10.0.0.9', 'a', '/s/Orders/x')]);
    index.build('orders', EMPTY_POLICY);
    expect(index.collisions()).toHaveLength(1);
    index.update('a:/s/Orders', []);
    expect(index.build('orders', EMPTY_POLICY).service.instances.map((i) => i.address)).toEqual(['10.0.0.1']);
    expect(index.collisions()).toEqual([]);
    index.update('a:/s/orders', []);
    expect(index.names()).toEqual([]);
    expect(index.build('orders', EMPTY_POLICY).service).toEqual({ name: 'orders', instances: [], policy: EMPTY_POLICY });
  });
});
