// Real payloads of every layout: Dubbo 2 provider URLs in every parameter form, Dubbo 3 metadata
// with several endpoints, Curator JSON with and without `enabled`, Spring Cloud OUT_OF_SERVICE.
import { describe, expect, it } from '@jest/globals';
import { parseDubboProvider } from '../../../src/registry/parsers/dubbo-provider.js';
import { parseDubboChild, parseDubboEndpoints, parseServiceChild } from '../../../src/registry/parsers/service-entries.js';

const enc = encodeURIComponent;
const GREETER = 'org.apache.dubbo.demo.GreeterService';
/** What Dubbo 2.7 writes: the whole URL encoded once, parameter values raw. */
const DUBBO_URL =
  `dubbo://10.0.0.1:20880/${GREETER}?anyhost=true&application=demo-provider&deprecated=false&dubbo=2.0.2&dynamic=true` +
  `&generic=false&group=blue&interface=${GREETER}&methods=sayHello,sayHelloAsync&pid=4242&release=2.7.23` +
  `&side=provider&timestamp=1700000000000&version=1.0.0&weight=200&default.timeout=3000&sayHello.retries=2`;

describe('Dubbo 2 provider URLs', () => {
  it('parses the usual provider URL: fields, and every other parameter as a label', () => {
    const parsed = parseDubboProvider(enc(DUBBO_URL), Buffer.from('10.0.0.1'));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value).toMatchObject({ protocol: 'dubbo', group: 'blue', version: '1.0.0', application: 'demo-provider' });
    expect(parsed.value.instance).toMatchObject({ id: '10.0.0.1:20880', address: '10.0.0.1', port: 20880, weight: 200, healthy: true });
    expect(parsed.value.instance.metadata).toMatchObject({
      application: 'demo-provider',
      methods: 'sayHello,sayHelloAsync',
      'default.timeout': '3000',
      'sayHello.retries': '2',
      protocol: 'dubbo',
      group: 'blue',
      version: '1.0.0',
    });
    // Fields are not duplicated as labels.
    expect(parsed.value.instance.metadata).not.toHaveProperty('weight');
    expect(parsed.value.instance.metadata).not.toHaveProperty('side');
  });

  it.each([
    ['bare key (flag)', 'anyhost&side=provider', { anyhost: '' }],
    ['empty value', 'token=&side=provider', { token: '' }],
    ['value encoded a second time', `methods=${enc('a,b')}`, { methods: 'a,b' }],
    ['repeated key: the last wins', 'tag=a&tag=b', { tag: 'b' }],
    ['"=" inside a value', 'expr=a%3Db', { expr: 'a=b' }],
    ['__proto__ stays data', '__proto__=x', { ['__proto__']: 'x' }],
  ])('parameter form: %s', (_label, query, labels) => {
    const parsed = parseDubboProvider(enc(`dubbo://10.0.0.1:20880/${GREETER}?${query}`), null);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    for (const [k, v] of Object.entries(labels)) expect(Object.getOwnPropertyDescriptor(parsed.value.instance.metadata, k)?.value).toBe(v);
    expect(Object.getPrototypeOf(parsed.value.instance.metadata)).toBe(Object.prototype);
  });

  it.each([
    ['enabled=false', 'enabled=false', false, 100],
    ['disabled=true', 'disabled=true', false, 100],
    ['bare disabled flag', 'disabled', false, 100],
    ['disabled=false', 'disabled=false', true, 100],
    ['weight=0: registered, takes no traffic', 'weight=0', false, 0],
    ['no weight: Dubbo default 100', 'side=provider', true, 100],
  ])('serving state: %s', (_label, query, healthy, weight) => {
    const parsed = parseDubboProvider(enc(`dubbo://10.0.0.1:20880/${GREETER}?${query}`), null);
    expect(parsed.ok && { healthy: parsed.value.instance.healthy, weight: parsed.value.instance.weight }).toEqual({ healthy, weight });
  });

  it('reads other protocols, IPv6 hosts, and the IP from the data when the URL carries a hostname', () => {
    const tri = parseDubboProvider(enc(`tri://[fd00::7]:50051/${GREETER}?side=provider`), null);
    expect(tri.ok && [tri.value.protocol, tri.value.instance.address, tri.value.instance.port]).toEqual(['tri', 'fd00::7', 50051]);
    const named = parseDubboProvider(enc(`dubbo://provider-1.example:20880/${GREETER}`), Buffer.from('10.0.0.9\n'));
    expect(named.ok && named.value.instance.address).toBe('10.0.0.9');
  });

  it.each([
    ['a consumer URL', `consumer://10.0.0.1/${GREETER}?side=consumer`, 'consumer:// url is not a provider'],
    ['side=consumer', `dubbo://10.0.0.1:20880/${GREETER}?side=consumer`, 'side "consumer" is not provider'],
    ['an empty:// placeholder', `empty://10.0.0.1/${GREETER}`, 'empty:// url is not a provider'],
    ['no port', `dubbo://10.0.0.1/${GREETER}`, 'port is missing'],
    ['port out of range', `dubbo://10.0.0.1:70000/${GREETER}`, 'port "70000" is out of range 1..65535'],
    ['hostname and no data', `dubbo://provider-1.example:20880/${GREETER}`, 'host "provider-1.example" is not an IP literal (hostnames are not resolved)'],
    ['bad weight', `dubbo://10.0.0.1:20880/${GREETER}?weight=heavy`, 'weight "heavy" is not an integer'],
    ['not a URL', 'just-a-node', 'znode name "just-a-node" is not a provider url (protocol://host:port/interface?params)'],
  ])('rejects %s with a reason', (_label, url, reason) => {
    expect(parseDubboProvider(enc(url), null)).toEqual({ ok: false, reason });
  });

  it('rejects broken URL encoding', () => {
    expect(parseDubboProvider('dubbo%3A%2F%2F%E0%A4%A', null)).toEqual({ ok: false, reason: 'znode name is not valid URL encoding' });
  });

  it('gives a service identity per interface, group and version', () => {
    const out = parseDubboChild(GREETER, enc(DUBBO_URL), null);
    expect(out.ok && out.entries.map((e) => [e.identity, e.format])).toEqual([
      [{ kind: 'dubbo-interface', interface: GREETER, group: 'blue', version: '1.0.0' }, 'dubbo'],
    ]);
  });
});

describe('Dubbo 3 application-level (Curator JSON with dubbo.endpoints)', () => {
  const dubbo3 = (endpoints: string) =>
    Buffer.from(
      JSON.stringify({
        name: 'shop',
        id: '10.0.0.5:20880',
        address: '10.0.0.5',
        port: 20880,
        sslPort: null,
        payload: {
          '@class': 'org.apache.dubbo.registry.zookeeper.ZookeeperInstance',
          id: '10.0.0.5:20880',
          name: 'shop',
          metadata: { 'dubbo.endpoints': endpoints, 'dubbo.metadata.revision': '8a7d', 'dubbo.metadata.storage-type': 'local' },
        },
        registrationTimeUTC: 1700000000000,
        serviceType: 'DYNAMIC',
        uriSpec: null,
      }),
    );

  it('gives the application on its registered port, plus one service per protocol with one port each', () => {
    const out = parseServiceChild('shop', '10.0.0.5:20880', dubbo3('[{"port":20880,"protocol":"dubbo"},{"port":50051,"protocol":"tri"}]'));
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(out.entries.map((e) => [e.identity, e.format, e.instance.port, e.instance.metadata.protocol])).toEqual([
      // The application's own entry speaks the protocol of the endpoint on its registered port.
      [{ kind: 'service', name: 'shop' }, 'curator', 20880, 'dubbo'],
      [{ kind: 'dubbo-application', application: 'shop', protocol: 'dubbo' }, 'dubbo-app', 20880, 'dubbo'],
      [{ kind: 'dubbo-application', application: 'shop', protocol: 'tri' }, 'dubbo-app', 50051, 'tri'],
    ]);
  });

  it.each([
    ['not json', '[{', 'metadata dubbo.endpoints is not valid json'],
    ['not an array', '{}', 'metadata dubbo.endpoints must be an array, got an object'],
    ['no protocol', '[{"port":1}]', 'metadata dubbo.endpoints[0].protocol is missing'],
    ['bad port', '[{"port":0,"protocol":"tri"}]', 'metadata dubbo.endpoints[0].port 0 is out of range 1..65535'],
    ['one protocol on two ports', '[{"port":1,"protocol":"tri"},{"port":2,"protocol":"tri"}]', 'metadata dubbo.endpoints lists protocol "tri" on two ports'],
  ])('rejects endpoints that are %s', (_label, text, reason) => {
    expect(parseDubboEndpoints(text)).toEqual({ ok: false, reason });
  });
});

describe('Curator ServiceDiscovery and Spring Cloud Zookeeper', () => {
  const curator = (extra: object) =>
    Buffer.from(
      JSON.stringify({
        name: 'inventory',
        id: 'c0ffee',
        address: '10.0.0.2',
        port: 8080,
        sslPort: null,
        payload: null,
        registrationTimeUTC: 1,
        serviceType: 'DYNAMIC',
        uriSpec: null,
        ...extra,
      }),
    );

  it('treats a missing `enabled` as serving and enabled=false as not serving', () => {
    const without = parseServiceChild('inventory', 'c0ffee', curator({}));
    const disabled = parseServiceChild('inventory', 'c0ffee', curator({ enabled: false }));
    expect(without.ok && without.entries.map((e) => [e.identity, e.instance.healthy])).toEqual([[{ kind: 'service', name: 'inventory' }, true]]);
    expect(disabled.ok && disabled.entries[0]!.instance.healthy).toBe(false);
  });

  it('treats Spring Cloud OUT_OF_SERVICE as not serving and keeps its metadata', () => {
    const spring = curator({
      payload: {
        '@class': 'org.springframework.cloud.zookeeper.discovery.ZookeeperInstance',
        id: 'billing-1',
        name: 'billing',
        metadata: { instance_status: 'OUT_OF_SERVICE', zone: 'z1' },
      },
    });
    const out = parseServiceChild('billing', 'c0ffee', spring);
    expect(out.ok && out.entries.map((e) => [e.identity, e.instance.healthy, e.instance.locality.zone])).toEqual([
      [{ kind: 'service', name: 'billing' }, false, 'z1'],
    ]);
  });
});
