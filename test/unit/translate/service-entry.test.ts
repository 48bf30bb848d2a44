import { describe, expect, it } from '@jest/globals';
import { ServiceEntry } from '@kubernetes-models/istio/networking.istio.io/v1/ServiceEntry';
import { isLabelKey, isLabelValue, objectNameFor, sanitizeLabels, isDns1123Subdomain } from '../../../src/translate/kubernetes-names.js';
import { contentHashOf, istioLocalityOf, serviceEntryFor, type ServiceEntryOptions } from '../../../src/translate/service-entry.js';
import { sidecarDomains } from '../../../src/translate/virtual-host.js';
import { labelRuleFrom } from '../../../src/translate/endpoint-labels.js';
import { service } from '../../support/catalog-fixtures.js';

const OPTS: ServiceEntryOptions = { namespace: 'zk-xds', exportTo: ['*'], domainSuffix: 'zk.internal' };

function entryOf(...args: Parameters<typeof service>) {
  const entry = serviceEntryFor(service(...args), OPTS);
  if (!entry) throw new Error('expected an entry');
  return entry;
}

describe('serviceEntryFor', () => {
  it('maps a service to a STATIC MESH_INTERNAL entry on the sidecar port with the sidecar host', () => {
    const entry = entryOf('orders', [
      { address: '10.0.0.2', port: 8080, weight: 3, locality: { region: 'eu', zone: 'eu-1', subZone: 'rack7' }, metadata: { version: 'v2' } },
      { address: '10.0.0.1', port: 9090 },
      { address: '10.0.0.3', port: 8080 },
    ]);
    expect(entry.apiVersion).toBe('networking.istio.io/v1');
    expect(entry.kind).toBe('ServiceEntry');
    expect(entry.metadata.name).toBe('orders');
    expect(entry.metadata.namespace).toBe('zk-xds');
    expect(entry.spec.hosts).toEqual(['orders.zk.internal']);
    // The host is one of the names the sidecar route for the service answers to.
    expect(sidecarDomains('orders', 8080, 'zk.internal')).toContain(entry.spec.hosts[0]);
    expect(entry.spec.ports).toEqual([{ number: 8080, protocol: 'HTTP', name: 'http-8080' }]);
    expect(entry.spec.location).toBe('MESH_INTERNAL');
    expect(entry.spec.resolution).toBe('STATIC');
    expect(entry.spec.exportTo).toEqual(['*']);
    expect(entry.spec.endpoints).toEqual([
      { address: '10.0.0.1', ports: { 'http-8080': 9090 }, weight: 1 },
      { address: '10.0.0.2', ports: { 'http-8080': 8080 }, weight: 3, labels: { version: 'v2' }, locality: 'eu/eu-1/rack7' },
      { address: '10.0.0.3', ports: { 'http-8080': 8080 }, weight: 1 },
    ]);
  });

  it('uses the policy port and protocol, and leaves unhealthy instances out', () => {
    const entry = entryOf(
      'pay',
      [
        { address: '10.1.0.1', port: 7000 },
        { address: '10.1.0.2', port: 7000, healthy: false },
      ],
      { port: 50051, protocol: 'grpc' },
    );
    expect(entry.spec.ports).toEqual([{ number: 50051, protocol: 'GRPC', name: 'grpc-50051' }]);
    expect(entry.spec.endpoints.map((e) => e.address)).toEqual(['10.1.0.1']);
  });

  it("labels endpoints with stable metadata only: the default rule drops Dubbo's volatile keys, a rule of its own replaces it", () => {
    const metadata = {
      version: '1.0.0',
      group: 'g',
      application: 'app',
      tag: 'gray',
      mine: 'x',
      pid: '4242',
      timestamp: '1700000000000',
      methods: 'a,b',
      token: 's3cret',
      'dubbo.metadata.revision': 'r9',
      'qos.port': '22222',
    };
    expect(entryOf('svc', [{ address: '10.0.0.1', metadata }]).spec.endpoints[0]!.labels).toEqual({
      version: '1.0.0',
      group: 'g',
      application: 'app',
      tag: 'gray',
      mine: 'x',
    });
    const own = serviceEntryFor(service('svc', [{ address: '10.0.0.1', metadata }]), { ...OPTS, labelRule: labelRuleFrom(['mine', 'dubbo.*', ' ']) })!;
    expect(Object.keys(own.spec.endpoints[0]!.labels!).sort()).toEqual([
      'application',
      'group',
      'methods',
      'pid',
      'qos.port',
      'tag',
      'timestamp',
      'token',
      'version',
    ]);
    // A restart changes only volatile keys: the entry and its hash stay.
    const restarted = entryOf('svc', [{ address: '10.0.0.1', metadata: { ...metadata, pid: '5151', timestamp: '1700000009999' } }]);
    expect(contentHashOf(restarted)).toBe(contentHashOf(entryOf('svc', [{ address: '10.0.0.1', metadata }])));
  });

  it('maps registration protocols: dubbo is a TCP port, tri a GRPC port, an unknown one TCP; the policy overrides', () => {
    const ports = (protocol: string, policy = {}) =>
      serviceEntryFor(service('svc', [{ address: '10.0.0.1', port: 20880, metadata: { protocol } }], policy), OPTS)!.spec.ports;
    expect(ports('dubbo')).toEqual([{ number: 20880, protocol: 'TCP', name: 'tcp-20880' }]);
    expect(ports('tri')).toEqual([{ number: 20880, protocol: 'GRPC', name: 'grpc-20880' }]);
    expect(ports('rest')).toEqual([{ number: 20880, protocol: 'HTTP', name: 'http-20880' }]);
    expect(ports('zmtp')).toEqual([{ number: 20880, protocol: 'TCP', name: 'tcp-20880' }]);
    expect(ports('dubbo', { protocol: 'http' })).toEqual([{ number: 20880, protocol: 'HTTP', name: 'http-20880' }]);
  });

  it('lists an address and port once, however often it is registered', () => {
    const entry = entryOf('svc', [
      { address: '10.0.0.1', port: 80 },
      { address: '10.0.0.1', port: 80 },
      { address: '10.0.0.1', port: 81 },
    ]);
    expect(entry.spec.endpoints.map((e) => `${e.address}:${Object.values(e.ports)[0]}`)).toEqual(['10.0.0.1:80', '10.0.0.1:81']);
  });

  it('has no entry for a service with no port to declare, and an empty one with a policy port', () => {
    expect(serviceEntryFor(service('gone', 0), OPTS)).toBeUndefined();
    expect(serviceEntryFor(service('idle', 0, { port: 80 }), OPTS)?.spec.endpoints).toEqual([]);
  });

  it('sets istio.io/rev and extra labels, and the host without a suffix is the bare name', () => {
    const entry = serviceEntryFor(service('a', 1), { ...OPTS, domainSuffix: '', revision: 'canary', labels: { team: 'x' } })!;
    expect(entry.metadata.labels).toEqual({ team: 'x', 'istio.io/rev': 'canary' });
    expect(entry.spec.hosts).toEqual(['a']);
    expect(serviceEntryFor(service('a', 1), OPTS)!.metadata.labels).toEqual({});
  });

  it('has a content hash that changes only when the entry changes', () => {
    const a = entryOf('svc', [{ address: '10.0.0.1' }, { address: '10.0.0.2' }]);
    // Same registrations under other znodes and in another order: same entry, same hash.
    const reordered = serviceEntryFor({ ...service('svc', [{ address: '10.0.0.2' }, { address: '10.0.0.1' }]) }, OPTS)!;
    expect(reordered).toEqual(a);
    expect(contentHashOf(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(contentHashOf(entryOf('svc', [{ address: '10.0.0.1' }]))).not.toBe(contentHashOf(a));
    expect(contentHashOf(entryOf('svc', [{ address: '10.0.0.1' }, { address: '10.0.0.2', weight: 2 }]))).not.toBe(contentHashOf(a));
    expect(contentHashOf(serviceEntryFor(service('svc', [{ address: '10.0.0.1' }, { address: '10.0.0.2' }]), { ...OPTS, revision: 'r2' })!)).not.toBe(
      contentHashOf(a),
    );
  });

  it('produces objects the Istio CRD schema accepts', () => {
    const entry = entryOf('v6', [{ address: 'fd00::1', port: 443, metadata: { 'bad key!': 'v a l', 'app.kubernetes.io/name': 'x' } }]);
    expect(() => new ServiceEntry(entry).validate()).not.toThrow();
  });
});

describe('istioLocalityOf', () => {
  it.each([
    [{ region: '', zone: '', subZone: '' }, undefined],
    [{ region: 'r', zone: '', subZone: '' }, 'r'],
    [{ region: 'r', zone: 'z', subZone: '' }, 'r/z'],
    [{ region: 'r', zone: '', subZone: 's' }, 'r'],
    [{ region: 'r/x', zone: 'z', subZone: '' }, undefined],
    [{ region: '', zone: 'z', subZone: '' }, undefined],
  ])('%j -> %s', (locality, expected) => expect(istioLocalityOf(locality)).toBe(expected));
});

describe('Kubernetes names', () => {
  it.each([
    ['version', 'v1', 'version', 'v1'],
    ['app.kubernetes.io/name', 'web', 'app.kubernetes.io/name', 'web'],
    ['Bad Key!', 'x y', 'Bad-Key', 'x-y'],
    ['-lead', '_v_', 'lead', 'v'],
    ['Example.COM/x', '', 'example.com/x', ''],
    ['a/b/c', 'ok', 'a/b-c', 'ok'],
    ['k', 'x'.repeat(80), 'k', 'x'.repeat(63)],
  ])('label %j=%j -> %j=%j', (key, value, k, v) => {
    expect(sanitizeLabels({ [key]: value })).toEqual({ [k]: v });
    expect(isLabelKey(k) && isLabelValue(v)).toBe(true);
  });

  it('drops what cannot be mapped and resolves collisions by sorted original key', () => {
    expect(sanitizeLabels({ '!!!': 'x', k: '###', ok: 'yes' })).toEqual({ ok: 'yes' });
    expect(sanitizeLabels({ 'a b': '2', 'a-b': '1' })).toEqual({ 'a-b': '2' });
  });

  it('maps service names to distinct DNS-1123 object names', () => {
    expect(objectNameFor('orders')).toBe('orders');
    const names = ['Orders', 'orders_v2', '__', 'x'.repeat(300), 'a..b'].map(objectNameFor);
    for (const n of names) expect(isDns1123Subdomain(n)).toBe(true);
    expect(objectNameFor('Orders')).not.toBe('orders');
    expect(objectNameFor('Orders')).toBe(objectNameFor('Orders'));
    expect(new Set(names).size).toBe(names.length);
  });
});
