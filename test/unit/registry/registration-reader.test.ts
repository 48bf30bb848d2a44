// The pure half of the registry: znode name + data → named entries, or a reason. Table-driven.
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_NAMING } from '../../../src/catalog/naming.js';
import { RegistrationReader } from '../../../src/registry/registration-reader.js';

const GREETER = 'org.apache.dubbo.demo.GreetingService';
const dubboUrl = (host: string, port: number) =>
  encodeURIComponent(
    `dubbo://${host}:${port}/${GREETER}?anyhost=true&application=demo-provider&interface=${GREETER}&methods=greet&side=provider&version=1.0.0`,
  );

describe('RegistrationReader', () => {
  const reader = new RegistrationReader('east', DEFAULT_NAMING);
  const read = (service: string, child: string, data: string | null, dubbo = false) =>
    reader.read(`/services/${service}/${child}`, service, child, data === null ? null : Buffer.from(data), dubbo);

  it.each([
    ['a host:port child with no data', 'orders', '10.0.0.1:8080', null, { name: 'orders', address: '10.0.0.1', port: 8080, format: 'host-port' }],
    [
      'a plain JSON registration',
      'orders',
      'i-1',
      JSON.stringify({ address: '10.0.0.2', port: 9090 }),
      { name: 'orders', address: '10.0.0.2', port: 9090, format: 'json' },
    ],
  ])('names %s and tags it with its ensemble and path', (_what, service, child, data, want) => {
    const parsed = read(service, child, data);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const [entry] = parsed.entries;
    expect(entry!.name).toBe(want.name);
    expect(entry!.instance).toMatchObject({
      address: want.address,
      port: want.port,
      format: want.format,
      ensemble: 'east',
      source: `/services/${service}/${child}`,
    });
  });

  it('reads a Dubbo provider URL under its interface node', () => {
    const parsed = reader.read(`/dubbo/${GREETER}/providers/x`, GREETER, dubboUrl('10.0.0.3', 20880), null, true);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.entries[0]!.instance).toMatchObject({ address: '10.0.0.3', port: 20880, format: 'dubbo' });
  });

  it.each([
    ['data that is not a registration', 'orders', 'i-2', '\u0001\u0002binary'],
    ['a service name with no DNS-safe character', '!!!', '10.0.0.1:80', null],
  ])('rejects %s with a reason', (_what, service, child, data) => {
    const parsed = read(service, child, data);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).not.toBe('');
  });

  it('gives every instance of a service one shared identity object', () => {
    const a = read('pay', '10.0.0.1:80', null);
    const b = read('pay', '10.0.0.2:80', null);
    expect(a.ok && b.ok).toBe(true);
    if (a.ok && b.ok) expect(a.entries[0]!.identity).toBe(b.entries[0]!.identity);
  });

  it('names a service node by itself (an empty service stays served), but not one whose name is invalid', () => {
    expect(reader.serviceNodeEntry('orders')).toMatchObject({ name: 'orders', instance: null });
    expect(reader.serviceNodeEntry('!!!')).toBeNull();
    expect(reader.displayName('!!!', false)).toBe('!!!');
    expect(reader.displayName(GREETER, true)).toBe(GREETER);
  });
});
