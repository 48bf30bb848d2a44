import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceEntry } from '@kubernetes-models/istio/networking.istio.io/v1/ServiceEntry';
import type { Service } from '../../../src/catalog/model.js';
import { checkServiceEntry, checkWorkloadEntry, type ServiceEntrySpecInput, type WorkloadEntryInput } from '../../../src/istio/service-entry-checks.js';
import { serviceEntryFor, type ServiceEntryOptions } from '../../../src/translate/service-entry.js';
import { service } from '../../support/catalog-fixtures.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/istio-validation');

interface IstioCase<T> {
  name: string;
  in: T;
  valid: boolean;
  warning: boolean;
  labels?: Record<string, string>;
}

/** `1.29.0: case name` -> 29 */
function minorOf(caseName: string): number {
  return Number(caseName.split('.')[1]);
}

function casesOf<T>(test: string): Array<[string, IstioCase<T>]> {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith(`-${test}.json`))
    .flatMap((f) => (JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as Array<IstioCase<T>>).map((c): [string, IstioCase<T>] => [`${f.split('-')[1]}: ${c.name}`, c]));
}

describe("Istio's own ServiceEntry validation cases", () => {
  const cases = casesOf<ServiceEntrySpecInput>('TestValidateServiceEntries');
  it('are all present', () => expect(cases.length).toBeGreaterThan(150));
  it.each(cases)('%s', (name, c) => {
    const result = checkServiceEntry(c.in, { name: 'foo', namespace: 'bar', labels: c.labels }, { istioMinor: minorOf(name) });
    expect({ valid: result.errors.length === 0, warning: result.warnings.length > 0, ...result }).toMatchObject({ valid: c.valid, warning: c.warning });
  });
});

describe("Istio's own WorkloadEntry validation cases", () => {
  it.each(casesOf<WorkloadEntryInput>('TestValidateWorkloadEntry'))('%s', (_name, c) => {
    const result = checkWorkloadEntry(c.in);
    expect({ valid: result.errors.length === 0, warning: result.warnings.length > 0, ...result }).toMatchObject({ valid: c.valid, warning: c.warning });
  });
});

const OPTS: ServiceEntryOptions = { namespace: 'zk-xds', exportTo: ['*'], domainSuffix: 'zk.internal' };

// Varied catalogs: every generated entry must pass the CRD schema and the webhook rules.
const CATALOG: Array<[string, Service, Partial<ServiceEntryOptions>]> = [
  ['one instance', service('orders', 1), {}],
  ['several ports across instances', service('mixed', [{ port: 8080 }, { port: 9090 }, { port: 9090 }, { port: 7000 }]), {}],
  ['IPv6 and IPv4 instances', service('dual', [{ address: 'fd00::1' }, { address: '2001:db8::17', port: 443 }, { address: '10.9.0.1' }]), {}],
  ['no instances, policy port', service('empty', 0, { port: 8443, protocol: 'grpc' }), {}],
  ['only unhealthy instances', service('down', [{ healthy: false }, { healthy: false }]), {}],
  [
    'odd metadata',
    service('odd', [
      { metadata: { 'Bad Key!': 'v a l', '': 'x', 'x/y/z': '-', 'UPPER.example.COM/k': 'ok', 'security.istio.io/tlsMode': 'istio', long: 'v'.repeat(100) } },
      { metadata: { 'ünïcode': 'välue', '-._': '._-', version: 'v1.2.3' } },
    ]),
    {},
  ],
  ['localities', service('geo', [{ locality: { region: 'eu-west', zone: 'eu-west-1a', subZone: 'rack-1' } }, { locality: { region: 'us', zone: '' } }, { locality: { region: 'a/b', zone: 'c' } }, { locality: { region: '', zone: 'z' } }]), {}],
  ['weights', service('weighted', [{ weight: 1 }, { weight: 100 }, { weight: 0xffffffff }]), {}],
  ['tcp protocol', service('db', [{ port: 5432, metadata: { protocol: 'tcp' } }]), {}],
  ['no domain suffix, a revision and extra labels', service('plain', 1), { domainSuffix: '', revision: 'canary-1-24', labels: { team: 'payments' } }],
  ['private export', service('private', 1), { exportTo: ['.'] }],
  ['export to namespaces', service('shared', 1), { exportTo: ['ns-a', 'ns-b'] }],
];

describe('generated ServiceEntries', () => {
  it.each(CATALOG)('%s: valid by schema and webhook rules', (_name, svc, opts) => {
    const entry = serviceEntryFor(svc, { ...OPTS, ...opts });
    expect(entry).toBeDefined();
    expect(() => new ServiceEntry(entry!).validate()).not.toThrow();
    expect(checkServiceEntry(entry!.spec, entry!.metadata)).toEqual({ errors: [], warnings: [] });
    entry!.spec.endpoints.forEach((e) => expect(checkWorkloadEntry(e)).toEqual({ errors: [], warnings: [] }));
  });

  it('a service name that is not a host name gives an entry the checks reject (the publisher leaves it out)', () => {
    const entry = serviceEntryFor(service('Billing_Service.V2', 2), OPTS)!;
    expect(() => new ServiceEntry(entry).validate()).not.toThrow();
    expect(checkServiceEntry(entry.spec, entry.metadata).errors).toEqual(['hosts[0]: "Billing_Service.V2.zk.internal" is not a host name (a wildcard may only be the first label)']);
  });

  it('the checks catch what the schema lets through', () => {
    const entry = serviceEntryFor(service('x', 1), OPTS)!;
    const broken = { ...entry, spec: { ...entry.spec, endpoints: [{ address: 'not-an-ip', ports: { 'http-9': 8080 }, labels: { 'bad key': 'v' }, weight: 1 }] } };
    expect(() => new ServiceEntry(broken).validate()).not.toThrow();
    expect(checkServiceEntry(broken.spec, broken.metadata).errors).toEqual([
      'endpoints[0].address: "not-an-ip" must be an IP address with resolution STATIC',
      'endpoints[0].ports: "http-9" is not a port of the ServiceEntry',
      'endpoints[0].labels: "bad key" is not a label key',
    ]);
  });
});
