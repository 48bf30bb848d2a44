import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceEntry } from '@kubernetes-models/istio/networking.istio.io/v1/ServiceEntry';
import { ServiceEntry as ServiceEntryV1alpha3 } from '@kubernetes-models/istio/networking.istio.io/v1alpha3/ServiceEntry';
import { silentLogger } from '../../../src/observability/logger.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { CatalogPublisher } from '../../../src/publish/catalog-publisher.js';
import { ResourceCache } from '../../../src/xds/resource-cache.js';
import { RESOURCE_KINDS, TYPE_URL } from '../../../src/xds/resource-types.js';
import { decodeAny } from '../../../src/xds/resource-encoding.js';
import { outboundName } from '../../../src/translate/sidecar-listener.js';
import type { ServicePolicy } from '../../../src/catalog/policy.js';
import type { Service } from '../../../src/catalog/model.js';
import { checkServiceEntry, checkWorkloadEntry, type ServiceEntrySpecInput, type WorkloadEntryInput } from '../../../src/translate/service-entry-checks.js';
import { serviceEntryFor, type ServiceEntryOptions } from '../../../src/translate/service-entry.js';
import { service, type InstanceSpec } from '../../support/catalog-fixtures.js';

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
    .flatMap((f) =>
      (JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as Array<IstioCase<T>>).map((c): [string, IstioCase<T>] => [`${f.split('-')[1]}: ${c.name}`, c]),
    );
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
      { metadata: { ünïcode: 'välue', '-._': '._-', version: 'v1.2.3' } },
    ]),
    {},
  ],
  [
    'localities',
    service('geo', [
      { locality: { region: 'eu-west', zone: 'eu-west-1a', subZone: 'rack-1' } },
      { locality: { region: 'us', zone: '' } },
      { locality: { region: 'a/b', zone: 'c' } },
      { locality: { region: '', zone: 'z' } },
    ]),
    {},
  ],
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
    entry!.spec.endpoints.forEach((e) => {
      expect(checkWorkloadEntry(e)).toEqual({ errors: [], warnings: [] });
    });
  });

  it('a service name that is not a host name gives an entry the checks reject (the publisher leaves it out)', () => {
    const entry = serviceEntryFor(service('Billing_Service.V2', 2), OPTS)!;
    expect(() => new ServiceEntry(entry).validate()).not.toThrow();
    expect(checkServiceEntry(entry.spec, entry.metadata).errors).toEqual([
      'hosts[0]: "Billing_Service.V2.zk.internal" is not a host name (a wildcard may only be the first label)',
    ]);
  });

  it('the checks catch what the schema lets through', () => {
    const entry = serviceEntryFor(service('x', 1), OPTS)!;
    const broken = {
      ...entry,
      spec: { ...entry.spec, endpoints: [{ address: 'not-an-ip', ports: { 'http-9': 8080 }, labels: { 'bad key': 'v' }, weight: 1 }] },
    };
    expect(() => new ServiceEntry(broken).validate()).not.toThrow();
    expect(checkServiceEntry(broken.spec, broken.metadata).errors).toEqual([
      'endpoints[0].address: "not-an-ip" must be an IP address with resolution STATIC',
      'endpoints[0].ports: "http-9" is not a port of the ServiceEntry',
      'endpoints[0].labels: "bad key" is not a label key',
    ]);
  });
});

// A generated catalog: every ServiceEntry must be valid for both API versions and agree with the
// Envoy sidecar view (same port, and a host the port's route answers to).
const POLICIES: ServicePolicy[] = [
  {},
  { protocol: 'grpc' },
  { protocol: 'tcp', port: 5432 },
  { port: 8443 },
  {
    trafficSplit: {
      label: 'version',
      subsets: [
        { value: 'v1', weight: 50 },
        { value: 'v2', weight: 50 },
      ],
    },
  },
];

function generatedCatalog(size: number): Service[] {
  return Array.from({ length: size }, (_, n) => {
    const instances: InstanceSpec[] = Array.from({ length: n % 6 }, (_, i) => ({
      address: i % 3 === 2 ? `2001:db8::${n.toString(16)}:${i + 1}` : `10.${n >> 8}.${n & 255}.${i + 1}`,
      port: [8080, 9090, 80, 3000][(n + i) % 4]!,
      weight: 1 + ((n * 7 + i) % 5),
      healthy: i !== 1,
      locality: { region: n % 3 ? `r${i % 2}` : '', zone: `z${i % 3}`, subZone: i % 2 ? 'rack' : '' },
      metadata: { version: i % 2 ? 'v2' : 'v1', 'team name': `t ${n % 4}`, ...(n % 5 === 0 ? { protocol: 'grpc' } : {}) },
    }));
    return service(`svc-${n}`, instances, POLICIES[n % POLICIES.length]);
  });
}

describe('the ServiceEntries of a generated catalog of 300 services', () => {
  const catalog = generatedCatalog(300);
  const types = RESOURCE_KINDS.map((k) => TYPE_URL[k]);
  const sidecar = new ResourceCache(types);
  const publisher = new CatalogPublisher(
    { proxyless: new ResourceCache(types), sidecar },
    { domainSuffix: 'svc.mesh', sidecarBindAddress: '0.0.0.0' },
    silentLogger(),
    createMetrics({ defaultMetrics: false }),
  );
  publisher.publish({ upserts: catalog });
  const entries = catalog.flatMap((s) => {
    const e = serviceEntryFor(s, { ...OPTS, domainSuffix: 'svc.mesh' });
    return e ? [[s, e] as const] : [];
  });

  it('leaves out only the services without a port', () => {
    expect(entries.length).toBe(catalog.filter((s) => s.instances.length > 0 || s.policy.port !== undefined).length);
  });

  it('are valid for the v1 and v1alpha3 CRD schemas and for the webhook rules', () => {
    for (const [, e] of entries) {
      expect(() => new ServiceEntry(e).validate()).not.toThrow();
      expect(() => new ServiceEntryV1alpha3({ metadata: e.metadata, spec: e.spec }).validate()).not.toThrow();
      expect(checkServiceEntry(e.spec, e.metadata)).toEqual({ errors: [], warnings: [] });
    }
  });

  it('declare the port and host the sidecar view routes the service on', () => {
    const conflicts = publisher.sidecarConflicts();
    let checked = 0;
    for (const [s, e] of entries) {
      if (conflicts.has(s.name)) continue;
      const [port] = e.spec.ports;
      expect(sidecar.get(TYPE_URL.listener, outboundName(port!.number))).toBeDefined();
      if (port!.protocol === 'TCP') continue;
      const route = decodeAny(sidecar.get(TYPE_URL.route, outboundName(port!.number))!.anyBytes).object as {
        virtual_hosts: Array<{ name: string; domains: string[] }>;
      };
      expect(route.virtual_hosts.find((v) => v.name === s.name)?.domains).toContain(e.spec.hosts[0]);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });
});
