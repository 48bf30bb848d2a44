// The server Listener index: which addresses change when services move or change policy, the
// Listener that stays after its instances left, and the fail-closed conflict of two services that
// share an address but not their security policy.
import { describe, expect, it } from '@jest/globals';
import { ServerListenerIndex } from '../../../src/publish/server-listener-index.js';
import { decodeAny, encodeResource } from '../../../src/xds/resource-encoding.js';
import { TYPE_URL } from '../../../src/xds/resource-types.js';
import { serverListenerFor } from '../../../src/translate/server-listener.js';
import { INBOUND_LISTENER, sidecarInboundFor } from '../../../src/translate/sidecar-inbound.js';
import { service } from '../../support/catalog-fixtures.js';

const at = (...ports: number[]) => ports.map((port) => ({ address: '10.0.0.1', port }));

function dirtyAfter(index: ServerListenerIndex, ...services: ReturnType<typeof service>[]): string[] {
  const dirty = new Set<string>();
  for (const s of services) index.track(s, dirty);
  return [...dirty].sort();
}

describe('ServerListenerIndex', () => {
  it('reports the addresses whose Listener changes, and only those', () => {
    const index = new ServerListenerIndex();
    const off = { mtls: { mode: 'DISABLE' as const } };
    // No security section: no server Listener at all (opt-in).
    expect(dirtyAfter(index, service('a', at(1, 2)))).toEqual([]);
    expect(dirtyAfter(index, service('a', at(1, 2), off))).toEqual(['10.0.0.1:1', '10.0.0.1:2']);
    expect(dirtyAfter(index, service('a', at(1, 2), off))).toEqual([]);
    expect(dirtyAfter(index, service('a', at(2, 3), off))).toEqual(['10.0.0.1:1', '10.0.0.1:3']);
    expect(dirtyAfter(index, service('a', at(2, 3), { mtls: { mode: 'STRICT' } }))).toEqual(['10.0.0.1:2', '10.0.0.1:3']);
    // A policy field servers do not enforce changes no Listener.
    expect(dirtyAfter(index, service('a', at(2, 3), { mtls: { mode: 'STRICT' }, requestTimeoutMs: 100 }))).toEqual([]);
  });

  it('keeps no Listener to build for an address nobody is registered at, and builds the one in force', () => {
    const index = new ServerListenerIndex();
    dirtyAfter(index, service('a', at(1), { mtls: { mode: 'STRICT' } }));
    const listener = decodeAny(index.encode('10.0.0.1:1')!.anyBytes).object as { name: string; filter_chains: Array<{ transport_socket?: object }> };
    expect(listener.name).toBe('grpc/server?xds.resource.listening_address=10.0.0.1:1');
    expect(listener.filter_chains[0]!.transport_socket).toBeDefined();
    dirtyAfter(index, service('a', []));
    expect(index.encode('10.0.0.1:1')).toBeUndefined();
  });

  it('records a conflict while two services on one address disagree', () => {
    const index = new ServerListenerIndex();
    dirtyAfter(index, service('a', at(1), { mtls: { mode: 'STRICT' } }), service('b', at(1), { mtls: { mode: 'DISABLE' } }));
    index.encode('10.0.0.1:1');
    expect(index.conflicts.get('10.0.0.1:1')).toMatch(/services a, b share this address/);
    dirtyAfter(index, service('b', at(1), { mtls: { mode: 'STRICT' } }));
    index.encode('10.0.0.1:1');
    expect(index.conflicts.size).toBe(0);
  });

  it('encodes Listeners from shared chain bytes that decode to the whole translated Listener', () => {
    const index = new ServerListenerIndex();
    const rules = { rules: [{ action: 'ALLOW' as const, from: { principals: [{ exact: 'spiffe://a/b' }] } }] };
    dirtyAfter(
      index,
      service('a', at(1, 2), { mtls: { mode: 'STRICT' }, authorization: rules }),
      service('b', [{ address: '10.0.0.2', port: 3 }], { mtls: { mode: 'PERMISSIVE' } }),
    );
    for (const address of ['10.0.0.1:1', '10.0.0.1:2', '10.0.0.2:3']) {
      const [ip, port] = address.split(':') as [string, string];
      const whole = encodeResource(TYPE_URL.listener, 'x', serverListenerFor(ip, Number(port), index.securityAt(address)!));
      expect(decodeAny(index.encode(address)!.anyBytes).object).toEqual(decodeAny(whole.anyBytes).object);
    }
    const inbound = index.encodeInbound()!;
    const whole = encodeResource(TYPE_URL.listener, INBOUND_LISTENER, sidecarInboundFor(index.inboundTargets())!.listener);
    expect(decodeAny(inbound.listener.anyBytes).object).toEqual(decodeAny(whole.anyBytes).object);
    // Same input, same bytes and version; a changed address changes them.
    expect(index.encodeInbound()!.listener.version).toBe(inbound.listener.version);
    dirtyAfter(index, service('b', [{ address: '10.0.0.2', port: 3 }], { mtls: { mode: 'STRICT' } }));
    const changed = index.encodeInbound()!;
    expect(changed.listener.version).not.toBe(inbound.listener.version);
    expect(decodeAny(changed.listener.anyBytes).object).toEqual(
      decodeAny(encodeResource(TYPE_URL.listener, INBOUND_LISTENER, sidecarInboundFor(index.inboundTargets())!.listener).anyBytes).object,
    );
  });
});
