import { describe, expect, it } from '@jest/globals';
import protobuf from 'protobufjs';
import {
  decodeMcpResource,
  decodeServiceEntryBody,
  encodeServiceEntryBody,
  mcpServiceEntryResources,
  MCP_RESOURCE_TYPE_URL,
  MCP_SERVICE_ENTRY_TYPE_URLS,
  SERVICE_ENTRY_BODY_TYPE_URL,
} from '../../../src/publish/mcp-resources.js';
import { serviceEntryFor, type ServiceEntryObject, type ServiceEntryOptions } from '../../../src/translate/service-entry.js';
import { service } from '../../support/catalog-fixtures.js';

const OPTS: ServiceEntryOptions = { namespace: 'mesh-ns', exportTo: ['*'], domainSuffix: 'zk.internal' };

function entry(...args: Parameters<typeof service>): ServiceEntryObject {
  return serviceEntryFor(service(...args), OPTS)!;
}

const ENTRIES: Array<[string, ServiceEntryObject]> = [
  ['plain', entry('orders', 2)],
  [
    'labels, localities, weights, IPv6',
    entry('geo', [
      {
        address: 'fd00::5',
        port: 9000,
        weight: 7,
        locality: { region: 'eu', zone: 'eu-1', subZone: 's' },
        metadata: { version: 'v2', 'app.kubernetes.io/name': 'geo' },
      },
      { address: '10.0.0.9', port: 9001 },
    ]),
  ],
  ['grpc on a policy port, no instances', entry('idle', 0, { port: 50051, protocol: 'grpc' })],
  ['tcp', entry('db', [{ port: 5432, metadata: { protocol: 'tcp' } }])],
  [
    'targetPort and exportTo list',
    {
      ...entry('t', 1),
      spec: { ...entry('t', 1).spec, ports: [{ number: 80, protocol: 'HTTP', name: 'http-80', targetPort: 8080 }], exportTo: ['.', 'other'] },
    },
  ],
];

describe('ServiceEntry protobuf body', () => {
  it.each(ENTRIES)('%s: the spec survives encode and decode unchanged', (_name, e) => {
    expect(decodeServiceEntryBody(encodeServiceEntryBody(e.spec))).toEqual(e.spec);
  });

  it('puts fields at the numbers of istio/api (location 4, resolution 5, endpoints 6, export_to 7)', () => {
    const body = encodeServiceEntryBody(entry('orders', 1).spec);
    const fields = new Map<number, unknown>();
    const reader = protobuf.Reader.create(body);
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const [field, wire] = [tag >>> 3, tag & 7];
      fields.set(field, wire === 0 ? reader.uint32() : reader.bytes());
    }
    expect(Buffer.from(fields.get(1) as Uint8Array).toString()).toBe('orders.zk.internal');
    expect(fields.get(4)).toBe(1); // MESH_INTERNAL
    expect(fields.get(5)).toBe(1); // STATIC
    expect(fields.has(6)).toBe(true);
    expect(Buffer.from(fields.get(7) as Uint8Array).toString()).toBe('*');
  });
});

describe('MCP resource wrapping', () => {
  it('wraps the body in istio.mcp.v1alpha1.Resource named <namespace>/<name>, versioned by content hash', () => {
    const e = entryOf();
    const resources = mcpServiceEntryResources(e, 1_700_000_000);
    expect(resources.map((r) => r.typeUrl)).toEqual([...MCP_SERVICE_ENTRY_TYPE_URLS]);
    expect(new Set(resources.map((r) => r.anyBytes)).size).toBe(1);
    const { typeUrl, resource } = decodeMcpResource(resources[0]!.anyBytes);
    expect(typeUrl).toBe(MCP_RESOURCE_TYPE_URL);
    expect(resource.metadata).toEqual({
      name: 'mesh-ns/orders',
      version: e.metadata.annotations['zk-xds/content-hash'],
      labels: { 'istio.io/rev': 'canary' },
      annotations: e.metadata.annotations,
      createTimeSeconds: 1_700_000_000,
    });
    expect(resource.bodyTypeUrl).toBe(SERVICE_ENTRY_BODY_TYPE_URL);
    expect(decodeServiceEntryBody(resource.body)).toEqual(e.spec);
    expect(resources[0]!.name).toBe('mesh-ns/orders');
    expect(resources[0]!.version).toBe(resource.metadata.version);
  });

  it('gives equal bytes for equal entries and a new version when the entry changes', () => {
    const [a] = mcpServiceEntryResources(entryOf(), 5);
    const [b] = mcpServiceEntryResources(entryOf(), 5);
    expect(Buffer.from(b!.anyBytes).equals(Buffer.from(a!.anyBytes))).toBe(true);
    const [c] = mcpServiceEntryResources(serviceEntryFor(service('orders', 3), { ...OPTS, revision: 'canary' })!, 5);
    expect(c!.version).not.toBe(a!.version);
  });
});

function entryOf(): ServiceEntryObject {
  return serviceEntryFor(service('orders', 2), { ...OPTS, revision: 'canary' })!;
}
