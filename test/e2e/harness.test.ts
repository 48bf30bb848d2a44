// Proves the end-to-end harness against a real proxyless gRPC client (@grpc/grpc-js-xds in a child
// process) and a test-only static ADS server, independently of the zk-xds product server, and pins
// down which resource shapes grpc-js-xds ACKs and how it NACKs.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.js';
import { startStaticXdsServer, TYPE_URL, type StaticXdsServer, type Variant } from '../support/static-xds-server.js';
import { XdsClientProcess, summarize } from '../support/xds-client-process.js';

const SERVICE = 'S';
const DEADLINE_EXCEEDED = 4;
const UNAVAILABLE = 14;

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('e2e harness: grpc-js-xds child process against a static ADS server', () => {
  let a: EchoBackend;
  let b: EchoBackend;
  const servers: StaticXdsServer[] = [];
  const clients: XdsClientProcess[] = [];

  async function setUp(variant: Variant): Promise<{ server: StaticXdsServer; client: XdsClientProcess }> {
    const server = await startStaticXdsServer({ service: SERVICE, backends: [a, b], variant });
    servers.push(server);
    const client = await XdsClientProcess.start({ xdsServer: server.address, nodeId: `harness-${variant}`, target: SERVICE });
    clients.push(client);
    return { server, client };
  }

  beforeAll(async () => {
    [a, b] = await Promise.all([startEchoBackend('a'), startEchoBackend('b')]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('routes calls to exactly the two EDS backends and ACKs LDS, RDS, CDS and EDS', async () => {
    const { server, client } = await setUp('good');

    const [first] = await client.call(1, { deadlineMs: 10_000 });
    const firstCallMs = Date.now() - client.startedAt;
    expect(first).toEqual({ ok: true, backend: expect.stringMatching(/^[ab]$/) });

    const waitedMs = await client.waitFor((seen) => seen.has('a') && seen.has('b'), { timeoutMs: 10_000 });
    const results = await client.call(20);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(new Set(results.map((r) => (r.ok ? r.backend : '')))).toEqual(new Set(['a', 'b']));
    expect(a.callCount()).toBeGreaterThan(0);
    expect(b.callCount()).toBeGreaterThan(0);

    for (const type of Object.values(TYPE_URL)) {
      expect(server.acks(type).map((r) => r.version_info)).toContain('1');
      expect(server.nacks(type)).toEqual([]);
    }
    // The node block comes only in the stream's first request.
    expect(server.requests[0]).toMatchObject({ type_url: TYPE_URL.LDS, resource_names: [SERVICE], node_id: 'harness-good' });
    expect(server.requests.slice(1).every((r) => r.node_id === undefined)).toBe(true);
    // The chain is followed by name: RDS by route_config_name, CDS by route cluster, EDS by cluster name.
    const subscribed = (t: string) => server.requests.find((r) => r.type_url === t)?.resource_names;
    expect(subscribed(TYPE_URL.RDS)).toEqual([`${SERVICE}-route`]);
    expect(subscribed(TYPE_URL.CDS)).toEqual([`${SERVICE}-cluster`]);
    expect(subscribed(TYPE_URL.EDS)).toEqual([`${SERVICE}-cluster`]);

    console.log(
      `harness timings: child ready ${client.readyMs} ms, first call answered ${firstCallMs} ms after fork, ` +
        `both backends seen ${waitedMs} ms later; 20 calls: ${summarize(results)}`,
    );
  });

  // What calls then do differs: a rejected Cluster fails them fast with the validation error,
  // a rejected ClusterLoadAssignment leaves them queued "waiting for name resolution".
  type NackCase = [variant: Variant, nackedType: string, expected: string, callFailure: { code: number; details: string }];
  it.each<NackCase>([
    [
      'cluster-without-eds-config',
      TYPE_URL.CDS,
      'resource index 0: Cluster message validation failed: [type == EDS but eds_cluster_config is unset]',
      { code: UNAVAILABLE, details: 'type == EDS but eds_cluster_config is unset' },
    ],
    [
      'eds-hostname',
      TYPE_URL.EDS,
      'resource index 0: ClusterLoadAssignment message validation failed: [endpoints[0].lb_endpoints[0].endpoint: address is not a valid IPv4 or IPv6 address: localhost,',
      { code: DEADLINE_EXCEEDED, details: 'waiting for name resolution' },
    ],
  ])('NACKs an invalid resource set (%s) with error_detail', async (variant, nackedType, expected, callFailure) => {
    const { server, client } = await setUp(variant);
    // The channel stays IDLE, and asks the xDS server nothing, until its first call.
    expect(server.requests).toEqual([]);

    const results = await client.call(2, { deadlineMs: 1000 });
    await until(() => server.nacks(nackedType).length > 0, 5000, `a NACK of ${nackedType}`);
    const [nack] = server.nacks(nackedType);
    expect(nack.version_info).toBe(''); // nothing of that type was ever accepted
    expect(nack.response_nonce).not.toBe('');
    expect(nack.error_detail?.message).toContain('xDS response validation errors: [');
    expect(nack.error_detail?.message).toContain(expected);

    // The types before the broken one were still ACKed.
    const order: string[] = [TYPE_URL.LDS, TYPE_URL.RDS, TYPE_URL.CDS, TYPE_URL.EDS];
    for (const type of order.slice(0, order.indexOf(nackedType))) {
      expect(server.acks(type).length).toBeGreaterThan(0);
    }

    for (const r of results) {
      expect(r).toMatchObject({ ok: false, code: callFailure.code, details: expect.stringContaining(callFailure.details) });
    }
  });
});
