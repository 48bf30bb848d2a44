// Per-client limits over real gRPC: a request past --max-request-bytes, a stream past
// --max-streams-per-connection and a stream sending faster than --requests-per-second (past its
// burst) are each ended with RESOURCE_EXHAUSTED, logged and counted, while a normal client on the
// same server is served as usual.
import { afterEach, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { startHarness, type Harness } from '../support/xds-harness.js';
import { service } from '../support/catalog-fixtures.js';
import { serviceCtors } from '../support/ads-client.js';
import { eventually } from '../support/eventually.js';
import { TYPE_URL } from '../../src/xds/resource-types.js';

type AdsCall = grpc.ClientDuplexStream<object, object>;
type AdsGrpcClient = grpc.Client & { StreamAggregatedResources(): AdsCall };

interface RawStream {
  readonly responses: number[];
  status: grpc.StatusObject | null;
  readonly call: AdsCall;
}

const channels: grpc.Client[] = [];
const streams: RawStream[] = [];

/** A client on its own connection (grpc-js would otherwise share one among equal channels). */
function connection(address: string): AdsGrpcClient {
  const Ctor = serviceCtors().ads!;
  const client = new (Ctor as unknown as new (a: string, c: grpc.ChannelCredentials, o: object) => AdsGrpcClient)(address, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
  channels.push(client);
  return client;
}

function openStream(client: AdsGrpcClient, nodeId: string, names: string[] = []): RawStream {
  const call = client.StreamAggregatedResources();
  const s: RawStream = { responses: [], status: null, call };
  call.on('data', () => s.responses.push(performance.now()));
  call.on('status', (st: grpc.StatusObject) => (s.status = st));
  call.on('error', () => {});
  call.write({ type_url: TYPE_URL.cluster, resource_names: names, node: { id: nodeId, cluster: 'test', user_agent_name: 'grpc' } });
  streams.push(s);
  return s;
}

let h: Harness | undefined;
const logLines: Array<Record<string, unknown>> = [];
const log = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });

afterEach(async () => {
  for (const s of streams.splice(0)) s.call.cancel();
  for (const c of channels.splice(0)) c.close();
  await h?.server.shutdown(200);
  h = undefined;
  logLines.length = 0;
});

async function refusals(limit: string): Promise<number> {
  const m = (await h!.metrics.registry.getMetricsAsJSON()).find((x) => x.name === 'zkxds_xds_client_limit_refusals_total');
  return m?.values.find((v) => v.labels.limit === limit)?.value ?? 0;
}

describe('per-client limits', () => {
  it('ends a stream whose request is larger than --max-request-bytes; a normal client is served', async () => {
    h = await startHarness([service('a', 1)], { limits: { maxRequestBytes: 4096 }, log });
    const big = openStream(
      connection(h.address),
      'big',
      Array.from({ length: 500 }, (_, i) => `cluster-name-${i}`),
    );
    const normal = openStream(connection(h.address), 'normal');
    await eventually(() => expect(big.status?.code).toBe(grpc.status.RESOURCE_EXHAUSTED), 10000);
    await eventually(() => expect(normal.responses.length).toBe(1), 10000);
    expect(big.responses).toEqual([]);
    expect(normal.status).toBeNull();
    await eventually(async () => expect(await refusals('message_size')).toBe(1), 10000);
    expect(logLines.some((l) => String(l.msg).includes('--max-request-bytes'))).toBe(true);
    // Also once the stream has been answered (the status then goes in trailers).
    const later = openStream(connection(h.address), 'later');
    await eventually(() => expect(later.responses.length).toBe(1), 10000);
    later.call.write({ type_url: TYPE_URL.endpoint, resource_names: Array.from({ length: 500 }, (_, i) => `cluster-name-${i}`) });
    await eventually(() => expect(later.status?.code).toBe(grpc.status.RESOURCE_EXHAUSTED), 10000);
    await eventually(async () => expect(await refusals('message_size')).toBe(2), 10000);
    expect(logLines.some((l) => String(l.msg).includes('--max-request-bytes') && l.node === 'later')).toBe(true);
    expect(normal.status).toBeNull();
  });

  it('refuses a stream past --max-streams-per-connection; another connection is served', async () => {
    h = await startHarness([service('a', 1)], { limits: { maxStreamsPerConnection: 2 }, log });
    const one = connection(h.address);
    const first = openStream(one, 'p1');
    const second = openStream(one, 'p2');
    await eventually(() => expect([first.responses.length, second.responses.length]).toEqual([1, 1]), 10000);
    const third = openStream(one, 'p3');
    await eventually(() => expect(third.status?.code).toBe(grpc.status.RESOURCE_EXHAUSTED), 10000);
    expect(third.status?.details).toContain('maximum of 2 streams');
    const elsewhere = openStream(connection(h.address), 'p4');
    await eventually(() => expect(elsewhere.responses.length).toBe(1), 10000);
    expect([first.status, second.status, elsewhere.status]).toEqual([null, null, null]);
    expect(await refusals('streams_per_connection')).toBe(1);
    expect(logLines.some((l) => String(l.msg).includes('--max-streams-per-connection') && l.max === 2)).toBe(true);
  });

  it('ends a stream sending faster than --requests-per-second past its burst; a normal client is unaffected', async () => {
    h = await startHarness([service('a', 1)], { limits: { requestsPerSecond: 5, requestBurst: 10 }, log });
    const normal = openStream(connection(h.address), 'calm');
    const flood = openStream(connection(h.address), 'flood');
    for (let i = 0; i < 50; i++) flood.call.write({ type_url: TYPE_URL.endpoint, resource_names: [`n${i}`] });
    await eventually(() => expect(flood.status?.code).toBe(grpc.status.RESOURCE_EXHAUSTED), 10000);
    expect(flood.status?.details).toContain('requests per second');
    await eventually(() => expect(normal.responses.length).toBe(1), 10000);
    // A few more requests, as a proxy sends them (a subscription change, within the burst).
    normal.call.write({ type_url: TYPE_URL.endpoint, resource_names: ['a'] });
    await eventually(() => expect(normal.responses.length).toBe(2), 10000);
    expect(normal.status).toBeNull();
    expect(await refusals('request_rate')).toBe(1);
    expect(logLines.some((l) => String(l.msg).includes('--requests-per-second') && l.node === 'flood')).toBe(true);
  });
});
