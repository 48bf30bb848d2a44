import { isIP } from 'node:net';
import { NO_LOCALITY, type Instance, type RegistrationFormat } from '../../../src/catalog/model.js';
import { MAX_PAYLOAD_BYTES, parseRegistration } from '../../../src/registry/parsers/detect-format.js';

const ZNODE = 'instance-1';

const text = (value: string): Buffer => Buffer.from(value, 'utf8');
const json = (value: unknown): Buffer => text(JSON.stringify(value));

function instance(overrides: Partial<Instance> = {}): Instance {
  return {
    id: ZNODE,
    address: '10.0.0.1',
    port: 8080,
    weight: 1,
    healthy: true,
    locality: NO_LOCALITY,
    metadata: {},
    ...overrides,
  };
}

// Shapes exactly as Curator ServiceDiscovery and Spring Cloud Zookeeper write them.
const URI_SPEC = {
  parts: [
    { value: 'scheme', variable: true },
    { value: '://', variable: false },
  ],
};

function curator(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'orders',
    id: '3f0c2b8e-5d1a-4c1e-9a57-0f3b1d2e4c5a',
    address: '10.1.2.3',
    port: 8080,
    sslPort: null,
    payload: null,
    registrationTimeUTC: 1700000000000,
    serviceType: 'DYNAMIC',
    uriSpec: URI_SPEC,
    ...overrides,
  };
}

function springCloud(metadata: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  return curator({
    id: 'a1b2',
    payload: {
      '@class': 'org.springframework.cloud.zookeeper.discovery.ZookeeperInstance',
      id: 'orders',
      name: 'orders',
      metadata,
    },
    ...overrides,
  });
}

const CURATOR_ID = '3f0c2b8e-5d1a-4c1e-9a57-0f3b1d2e4c5a';

describe('parseRegistration: accepted registrations', () => {
  it.each<[string, string, Buffer | null, RegistrationFormat, Instance]>([
    // host:port text
    ['host:port IPv4', ZNODE, text('10.0.0.1:8080'), 'host-port', instance()],
    ['host:port with whitespace and newline', ZNODE, text('  10.0.0.1:8080\n'), 'host-port', instance()],
    ['host:port IPv6 in brackets', ZNODE, text('[fd00::1]:8080'), 'host-port', instance({ address: 'fd00::1' })],
    ['host:port IPv4-mapped IPv6', ZNODE, text('[::ffff:10.0.0.1]:443'), 'host-port', instance({ address: '::ffff:10.0.0.1', port: 443 })],
    ['host:port port bounds 1', ZNODE, text('10.0.0.1:1'), 'host-port', instance({ port: 1 })],
    ['host:port port bounds 65535', ZNODE, text('10.0.0.1:65535'), 'host-port', instance({ port: 65535 })],
    ['null data, znode name is host:port', '10.0.0.1:8080', null, 'host-port', instance({ id: '10.0.0.1:8080' })],
    ['empty data, znode name is host:port', '10.0.0.1:8080', Buffer.alloc(0), 'host-port', instance({ id: '10.0.0.1:8080' })],
    [
      'whitespace data, znode name is IPv6 host:port',
      '[fd00::2]:9090',
      text(' \n'),
      'host-port',
      instance({ id: '[fd00::2]:9090', address: 'fd00::2', port: 9090 }),
    ],
    // plain JSON
    ['json minimal with host', ZNODE, json({ host: '10.0.0.1', port: 8080 }), 'json', instance()],
    ['json minimal with address', ZNODE, json({ address: '10.0.0.1', port: 8080 }), 'json', instance()],
    ['json host and address agreeing', ZNODE, json({ host: '10.0.0.1', address: '10.0.0.1', port: 8080 }), 'json', instance()],
    ['json leading whitespace', ZNODE, text('\n  {"host":"10.0.0.1","port":8080}\n'), 'json', instance()],
    ['json IPv6', ZNODE, json({ host: 'fd00::1', port: 8080 }), 'json', instance({ address: 'fd00::1' })],
    ['json IPv6 in brackets', ZNODE, json({ host: '[fd00::1]', port: 8080 }), 'json', instance({ address: 'fd00::1' })],
    ['json port as digit string', ZNODE, json({ host: '10.0.0.1', port: '8080' }), 'json', instance()],
    [
      'json all optional fields',
      ZNODE,
      json({
        id: 'orders-1',
        host: '10.0.0.1',
        port: 8080,
        weight: 5,
        enabled: true,
        metadata: { version: 'v2', canary: true, shards: 3, nested: { a: 1 }, list: [1], gone: null },
        locality: { region: 'eu', zone: 'eu-1a', subZone: 'rack-7' },
        extra: 'ignored',
      }),
      'json',
      instance({
        id: 'orders-1',
        weight: 5,
        metadata: { version: 'v2', canary: 'true', shards: '3' },
        locality: { region: 'eu', zone: 'eu-1a', subZone: 'rack-7' },
      }),
    ],
    [
      'json partial locality',
      ZNODE,
      json({ host: '10.0.0.1', port: 8080, locality: { zone: 'z1' } }),
      'json',
      instance({ locality: { region: '', zone: 'z1', subZone: '' } }),
    ],
    [
      'json locality subzone (Istio spelling)',
      ZNODE,
      json({ host: '10.0.0.1', port: 8080, locality: { region: 'eu', zone: 'z1', subzone: 'r1' } }),
      'json',
      instance({ locality: { region: 'eu', zone: 'z1', subZone: 'r1' } }),
    ],
    [
      'json locality sub_zone (Envoy spelling)',
      ZNODE,
      json({ host: '10.0.0.1', port: 8080, locality: { region: 'eu', sub_zone: 'r1' } }),
      'json',
      instance({ locality: { region: 'eu', zone: '', subZone: 'r1' } }),
    ],
    [
      'json locality: two spellings that agree',
      ZNODE,
      json({ host: '10.0.0.1', port: 8080, locality: { subZone: 'r1', subzone: 'r1' } }),
      'json',
      instance({ locality: { region: '', zone: '', subZone: 'r1' } }),
    ],
    ['json weight 0: registered, takes no traffic', ZNODE, json({ host: '10.0.0.1', port: 8080, weight: 0 }), 'json', instance({ weight: 0, healthy: false })],
    [
      'json IPv6 zone id is removed, with a note',
      ZNODE,
      json({ host: 'fd00::2%eth0', port: 8080 }),
      'json',
      instance({ address: 'fd00::2', notes: ['IPv6 zone id "%eth0" removed from address "fd00::2%eth0": it names an interface of the registering host only'] }),
    ],
    [
      'host:port IPv6 zone id is removed',
      '[fe80::1%eth1]:8080',
      null,
      'host-port',
      instance({
        id: '[fe80::1%eth1]:8080',
        address: 'fe80::1',
        notes: ['IPv6 zone id "%eth1" removed from address "fe80::1%eth1": it names an interface of the registering host only'],
      }),
    ],
    ['json weight max', ZNODE, json({ host: '10.0.0.1', port: 8080, weight: 1000000 }), 'json', instance({ weight: 1000000 })],
    ['json enabled false is unhealthy', ZNODE, json({ host: '10.0.0.1', port: 8080, enabled: false }), 'json', instance({ healthy: false })],
    ['json empty id falls back to znode name', ZNODE, json({ id: '', host: '10.0.0.1', port: 8080 }), 'json', instance()],
    ['json with address but no Curator fields stays plain json', ZNODE, json({ address: '10.0.0.1', port: 8080, payload: null }), 'json', instance()],
    // Curator
    ['curator ServiceDiscovery, enabled missing is healthy', ZNODE, json(curator()), 'curator', instance({ id: CURATOR_ID, address: '10.1.2.3' })],
    ['curator enabled true', ZNODE, json(curator({ enabled: true })), 'curator', instance({ id: CURATOR_ID, address: '10.1.2.3' })],
    [
      'curator enabled false is unhealthy',
      ZNODE,
      json(curator({ enabled: false })),
      'curator',
      instance({ id: CURATOR_ID, address: '10.1.2.3', healthy: false }),
    ],
    [
      'curator detected by serviceType alone',
      ZNODE,
      json({ address: '10.1.2.3', port: 8080, serviceType: 'STATIC' }),
      'curator',
      instance({ address: '10.1.2.3' }),
    ],
    [
      'curator detected by registrationTimeUTC alone',
      ZNODE,
      json({ address: '10.1.2.3', port: 8080, registrationTimeUTC: 1 }),
      'curator',
      instance({ address: '10.1.2.3' }),
    ],
    [
      'curator detected by payload object alone',
      ZNODE,
      json({ address: '10.1.2.3', port: 8080, payload: { anything: 1 } }),
      'curator',
      instance({ address: '10.1.2.3' }),
    ],
    [
      'curator DYNAMIC_SEQUENTIAL: id differs from znode name',
      `${CURATOR_ID}0000000007`,
      json(curator({ serviceType: 'DYNAMIC_SEQUENTIAL' })),
      'curator',
      instance({ id: CURATOR_ID, address: '10.1.2.3' }),
    ],
    ['curator without id falls back to znode name', ZNODE, json(curator({ id: null })), 'curator', instance({ address: '10.1.2.3' })],
    [
      'curator sslPort only: uses sslPort and marks tls',
      ZNODE,
      json(curator({ port: null, sslPort: 8443 })),
      'curator',
      instance({ id: CURATOR_ID, address: '10.1.2.3', port: 8443, metadata: { tls: 'true' } }),
    ],
    ['curator port and sslPort: port wins', ZNODE, json(curator({ sslPort: 8443 })), 'curator', instance({ id: CURATOR_ID, address: '10.1.2.3' })],
    ['curator IPv6 address', ZNODE, json(curator({ address: 'fd00::3' })), 'curator', instance({ id: CURATOR_ID, address: 'fd00::3' })],
    [
      'curator unknown payload @class is tolerated',
      ZNODE,
      json(curator({ payload: { '@class': 'com.example.Custom', secretToken: 'x', metadata: 'not-a-map' } })),
      'curator',
      instance({ id: CURATOR_ID, address: '10.1.2.3' }),
    ],
    [
      'spring cloud payload with metadata',
      ZNODE,
      json(springCloud({ instance_status: 'UP', zone: 'z1', version: '2', weight: '7', secure: false })),
      'curator',
      instance({
        id: 'a1b2',
        address: '10.1.2.3',
        weight: 7,
        locality: { region: '', zone: 'z1', subZone: '' },
        metadata: { instance_status: 'UP', zone: 'z1', version: '2', weight: '7', secure: 'false' },
      }),
    ],
    [
      'spring cloud locality from region, zone and subZone',
      ZNODE,
      json(springCloud({ region: 'eu', zone: 'eu-1a', subZone: 'r7' })),
      'curator',
      instance({
        id: 'a1b2',
        address: '10.1.2.3',
        locality: { region: 'eu', zone: 'eu-1a', subZone: 'r7' },
        metadata: { region: 'eu', zone: 'eu-1a', subZone: 'r7' },
      }),
    ],
    [
      'spring cloud OUT_OF_SERVICE is unhealthy',
      ZNODE,
      json(springCloud({ instance_status: 'OUT_OF_SERVICE' })),
      'curator',
      instance({ id: 'a1b2', address: '10.1.2.3', healthy: false, metadata: { instance_status: 'OUT_OF_SERVICE' } }),
    ],
    [
      'spring cloud out_of_service (any case) is unhealthy',
      ZNODE,
      json(springCloud({ instance_status: 'Out_Of_Service' })),
      'curator',
      instance({ id: 'a1b2', address: '10.1.2.3', healthy: false, metadata: { instance_status: 'Out_Of_Service' } }),
    ],
    [
      'spring cloud DOWN is unhealthy',
      ZNODE,
      json(springCloud({ instance_status: 'down' })),
      'curator',
      instance({ id: 'a1b2', address: '10.1.2.3', healthy: false, metadata: { instance_status: 'down' } }),
    ],
    [
      'spring cloud metadata weight 0: registered, takes no traffic',
      ZNODE,
      json(springCloud({ weight: '0' })),
      'curator',
      instance({ id: 'a1b2', address: '10.1.2.3', weight: 0, healthy: false, metadata: { weight: '0' } }),
    ],
    [
      'spring cloud invalid metadata weight falls back to 1',
      ZNODE,
      json(springCloud({ weight: '-3' })),
      'curator',
      instance({ id: 'a1b2', address: '10.1.2.3', weight: 1, metadata: { weight: '-3' } }),
    ],
    [
      'spring cloud non-integer metadata weight falls back to 1',
      ZNODE,
      json(springCloud({ weight: '2.5' })),
      'curator',
      instance({ id: 'a1b2', address: '10.1.2.3', weight: 1, metadata: { weight: '2.5' } }),
    ],
  ])('%s', (_name, znodeName, data, format, expected) => {
    expect(parseRegistration(znodeName, data)).toEqual({ ok: true, format, instance: expected });
  });
});

describe('parseRegistration: rejected registrations', () => {
  const hostname = 'address "orders.example.com" is not an IP literal (hostnames are not resolved)';
  const longHost = `${'a'.repeat(100)}.example.com`;

  it.each<[string, string, Buffer | null, string]>([
    // bytes that are not text at all
    ['invalid utf-8', ZNODE, Buffer.from([0x31, 0x30, 0xc3, 0x28]), 'data is not valid utf-8'],
    ['garbage bytes', ZNODE, Buffer.from([0xff, 0xfe, 0xfd, 0x80, 0x81]), 'data is not valid utf-8'],
    ['java serialised object', ZNODE, Buffer.from([0xac, 0xed, 0x00, 0x05, 0x73, 0x72]), 'data is not valid utf-8'],
    ['binary data that happens to be utf-8', ZNODE, Buffer.from([0x00, 0x01, 0x02, 0x03]), 'data is binary (contains control characters)'],
    ['NUL inside otherwise valid host:port', ZNODE, text('10.0.0.1:8080\u0000'), 'data is binary (contains control characters)'],
    [
      'oversized payload (1 MB of invalid utf-8: size is checked first)',
      ZNODE,
      Buffer.alloc(1024 * 1024, 0xff),
      `data is 1048576 bytes, over the ${MAX_PAYLOAD_BYTES}-byte limit`,
    ],
    ['payload one byte over the limit', ZNODE, Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20), 'data is 65537 bytes, over the 65536-byte limit'],
    // empty data
    ['null data, znode name is not host:port', 'orders-1', null, 'empty data and the znode name is not host:port'],
    ['empty data, znode name is a hostname', 'orders.example.com:8080', Buffer.alloc(0), 'empty data and the znode name is not host:port'],
    ['whitespace data, znode name is not host:port', 'orders-1', text('  \n'), 'empty data and the znode name is not host:port'],
    // JSON that is not a registration object
    ['truncated json', ZNODE, text('{"host":"10.0.0.1","port":80'), 'data starts with "{" but is not valid json (malformed or truncated)'],
    ['malformed json', ZNODE, text('{host: 10.0.0.1}'), 'data starts with "{" but is not valid json (malformed or truncated)'],
    ['json array', ZNODE, json([{ host: '10.0.0.1', port: 8080 }]), 'data is json but not an object (got an array)'],
    ['json number', ZNODE, text('8080'), 'data is json but not an object (got a number)'],
    ['json string', ZNODE, json('10.0.0.1:8080'), 'data is json but not an object (got a string)'],
    ['json null', ZNODE, text('null'), 'data is json but not an object (got null)'],
    // host:port text
    ['garbage text', ZNODE, text('hello world'), 'text is not host:port (no ":" found)'],
    ['host:port hostname', ZNODE, text('orders.example.com:8080'), hostname],
    ['host:port empty host', ZNODE, text(':8080'), 'address is empty'],
    ['host:port port 0', ZNODE, text('10.0.0.1:0'), 'port "0" is out of range 1..65535'],
    ['host:port port 70000', ZNODE, text('10.0.0.1:70000'), 'port "70000" is out of range 1..65535'],
    ['host:port port abc', ZNODE, text('10.0.0.1:abc'), 'port "abc" is not an integer'],
    ['host:port port 8080.5', ZNODE, text('10.0.0.1:8080.5'), 'port "8080.5" is not an integer'],
    ['host:port missing port', ZNODE, text('10.0.0.1:'), 'port is empty'],
    ['host:port no port at all', ZNODE, text('10.0.0.1'), 'text is not host:port (no ":" found)'],
    ['host:port IPv6 without brackets', ZNODE, text('fd00::1:8080'), 'text is not host:port (an IPv6 address needs brackets, e.g. [fd00::1]:8080)'],
    ['host:port unclosed bracket', ZNODE, text('[fd00::1:8080'), 'text is not host:port (unclosed "[")'],
    ['host:port bracket without port', ZNODE, text('[fd00::1]'), 'text is not host:port (no ":port" after "]")'],
    ['host:port IPv4 in brackets', ZNODE, text('[10.0.0.1]:8080'), 'address "[10.0.0.1]" is not an IP literal (hostnames are not resolved)'],
    [
      'host:port long hostname is truncated in the reason',
      ZNODE,
      text(`${longHost}:80`),
      `address "${'a'.repeat(64)}…" is not an IP literal (hostnames are not resolved)`,
    ],
    // plain JSON
    ['json port 0', ZNODE, json({ host: '10.0.0.1', port: 0 }), 'port 0 is out of range 1..65535'],
    ['json port 70000', ZNODE, json({ host: '10.0.0.1', port: 70000 }), 'port 70000 is out of range 1..65535'],
    ['json port "abc"', ZNODE, json({ host: '10.0.0.1', port: 'abc' }), 'port "abc" is not an integer'],
    ['json port 8080.5', ZNODE, json({ host: '10.0.0.1', port: 8080.5 }), 'port 8080.5 is not an integer'],
    ['json port negative', ZNODE, json({ host: '10.0.0.1', port: -1 }), 'port -1 is out of range 1..65535'],
    ['json port boolean', ZNODE, json({ host: '10.0.0.1', port: true }), 'port true is not a number'],
    ['json port object', ZNODE, json({ host: '10.0.0.1', port: { n: 1 } }), 'port (an object) is not a number'],
    ['json missing port', ZNODE, json({ host: '10.0.0.1' }), 'port is missing'],
    ['json null port', ZNODE, json({ host: '10.0.0.1', port: null }), 'port is missing'],
    ['json missing address', ZNODE, json({ port: 8080 }), 'address is missing (expected "host" or "address")'],
    ['json hostname', ZNODE, json({ address: 'orders.example.com', port: 8080 }), hostname],
    [
      'json hostname in host',
      ZNODE,
      json({ host: 'orders.example.com', port: 8080 }),
      'host "orders.example.com" is not an IP literal (hostnames are not resolved)',
    ],
    ['json empty address', ZNODE, json({ address: '', port: 8080 }), 'address is empty'],
    ['json numeric address', ZNODE, json({ address: 167772161, port: 8080 }), 'address 167772161 is not a string'],
    ['json host and address disagree', ZNODE, json({ host: '10.0.0.1', address: '10.0.0.2', port: 8080 }), 'host "10.0.0.1" and address "10.0.0.2" disagree'],
    [
      'json locality with an unknown key',
      ZNODE,
      json({ host: '10.0.0.1', port: 8080, locality: { region: 'eu', rack: 'r1' } }),
      'locality.rack is not a locality field (expected region, zone, subZone)',
    ],
    [
      'json locality with two spellings that disagree',
      ZNODE,
      json({ host: '10.0.0.1', port: 8080, locality: { subZone: 'r1', sub_zone: 'r2' } }),
      'locality.subZone and locality.sub_zone disagree',
    ],
    ['json IPv4 with a zone id', ZNODE, json({ host: '10.0.0.1%eth0', port: 8080 }), 'host "10.0.0.1%eth0" is not an IP literal (hostnames are not resolved)'],
    ['json weight -1', ZNODE, json({ host: '10.0.0.1', port: 8080, weight: -1 }), 'weight -1 is out of range 0..1000000'],
    ['json weight 1.5', ZNODE, json({ host: '10.0.0.1', port: 8080, weight: 1.5 }), 'weight 1.5 is not an integer'],
    ['json weight too large', ZNODE, json({ host: '10.0.0.1', port: 8080, weight: 1000001 }), 'weight 1000001 is out of range 0..1000000'],
    ['json enabled not boolean', ZNODE, json({ host: '10.0.0.1', port: 8080, enabled: 'no' }), 'enabled "no" is not a boolean'],
    ['json id not a string', ZNODE, json({ id: 7, host: '10.0.0.1', port: 8080 }), 'id 7 is not a string'],
    ['json metadata not an object', ZNODE, json({ host: '10.0.0.1', port: 8080, metadata: ['a'] }), 'metadata must be an object, got an array'],
    ['json locality not an object', ZNODE, json({ host: '10.0.0.1', port: 8080, locality: 'eu' }), 'locality must be an object, got a string'],
    ['json locality zone not a string', ZNODE, json({ host: '10.0.0.1', port: 8080, locality: { zone: 1 } }), 'locality.zone 1 is not a string'],
    // Curator
    ['curator hostname', ZNODE, json(curator({ address: 'orders.example.com' })), hostname],
    ['curator empty address', ZNODE, json(curator({ address: '' })), 'address is empty'],
    ['curator no port and no sslPort', ZNODE, json(curator({ port: null })), 'port is missing (neither port nor sslPort is set)'],
    ['curator port out of range', ZNODE, json(curator({ port: 70000 })), 'port 70000 is out of range 1..65535'],
    ['curator sslPort out of range', ZNODE, json(curator({ port: null, sslPort: 0 })), 'sslPort 0 is out of range 1..65535'],
    ['curator enabled not boolean', ZNODE, json(curator({ enabled: 'false' })), 'enabled "false" is not a boolean'],
  ])('%s', (_name, znodeName, data, reason) => {
    expect(parseRegistration(znodeName, data)).toEqual({ ok: false, reason });
  });

  it('never echoes a whole payload in a reason', () => {
    const secret = 'S3CRET-TOKEN-'.repeat(20);
    const outcome = parseRegistration(ZNODE, text(`{"host":"${secret}","port":8080,"password":"${secret}"`));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.reason).not.toContain('S3CRET');
  });
});

describe('parseRegistration: robustness', () => {
  // mulberry32: a tiny seeded generator, so failures reproduce exactly.
  function seededRandom(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const SAMPLES = [
    '10.0.0.1:8080',
    '[fd00::1]:8080',
    JSON.stringify({ host: '10.0.0.1', port: 8080, weight: 2, metadata: { a: 'b' }, locality: { zone: 'z' } }),
    JSON.stringify(springCloud({ instance_status: 'UP', zone: 'z1' })),
  ];

  function randomBuffer(random: () => number): Buffer {
    const int = (max: number): number => Math.floor(random() * max);
    const kind = int(4);
    if (kind === 0) return Buffer.from(Array.from({ length: int(64) }, () => int(256)));
    if (kind === 1) return text(Array.from({ length: int(64) }, () => String.fromCharCode(32 + int(95))).join(''));
    // Mutate a valid registration: flip, drop or truncate bytes.
    const bytes = Buffer.from(SAMPLES[int(SAMPLES.length)] ?? '', 'utf8');
    if (kind === 2) return bytes.subarray(0, int(bytes.length + 1));
    const mutated = Buffer.from(bytes);
    for (let i = 0, flips = 1 + int(4); i < flips; i++) mutated[int(mutated.length)] = int(256);
    return mutated;
  }

  it('never throws and always returns a well-formed outcome for 200 random buffers', () => {
    const random = seededRandom(20240521);
    for (let i = 0; i < 200; i++) {
      const data = randomBuffer(random);
      const outcome = parseRegistration(`node-${i}`, data);
      if (outcome.ok) {
        expect(isIP(outcome.instance.address)).not.toBe(0);
        expect(outcome.instance.port).toBeGreaterThanOrEqual(1);
        expect(outcome.instance.port).toBeLessThanOrEqual(65535);
        expect(outcome.instance.weight).toBeGreaterThanOrEqual(1);
      } else {
        expect(outcome.reason).toMatch(/^[^A-Z]/);
        expect(outcome.reason.length).toBeLessThan(200);
      }
    }
  });
});
