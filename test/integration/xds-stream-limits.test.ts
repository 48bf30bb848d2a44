// The per-replica stream limits over real gRPC: streams past --max-streams are refused with
// RESOURCE_EXHAUSTED, first responses wait their turn at the initial-sync rate but every stream is
// answered in arrival order, and connections past their maximum age are closed (the client
// reconnects and is served again).
import { afterEach, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { startHarness, type Harness } from '../support/xds-harness.js';
import { service } from '../support/catalog-fixtures.js';
import { serviceCtors } from '../support/ads-client.js';
import { eventually } from '../support/eventually.js';
import { TYPE_URL } from '../../src/xds/resource-types.js';

interface RawStream {
  readonly responses: number[];
  status: grpc.StatusObject | null;
  readonly call: grpc.ClientDuplexStream<object, object>;
  readonly client: grpc.Client;
}

/** An ADS stream asking for every cluster; records when responses arrive and how it ended. */
function openStream(address: string, nodeId: string): RawStream {
  const Ctor = serviceCtors().ads!;
  const client = new Ctor(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    StreamAggregatedResources(): grpc.ClientDuplexStream<object, object>;
  };
  const call = client.StreamAggregatedResources();
  const s: RawStream = { responses: [], status: null, call, client };
  call.on('data', () => s.responses.push(performance.now()));
  call.on('status', (st: grpc.StatusObject) => (s.status = st));
  call.on('error', () => {});
  call.write({ type_url: TYPE_URL.cluster, resource_names: [], node: { id: nodeId, cluster: 'test', user_agent_name: 'grpc' } });
  return s;
}

let h: Harness | undefined;
const opened: RawStream[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) {
    s.call.cancel();
    s.client.close();
  }
  await h?.server.shutdown(200);
  h = undefined;
});

describe('xDS stream limits', () => {
  it('refuses streams past --max-streams with RESOURCE_EXHAUSTED and serves those within it', async () => {
    h = await startHarness([service('a', 1)], { limits: { maxStreams: 2 } });
    for (let i = 0; i < 3; i++) opened.push(openStream(h.address, `p${i}`));
    await eventually(() => expect(opened[2]!.status?.code).toBe(grpc.status.RESOURCE_EXHAUSTED), 10000);
    expect(opened[2]!.status?.details).toContain('maximum of 2 streams');
    await eventually(() => expect(opened.slice(0, 2).map((s) => s.responses.length)).toEqual([1, 1]), 10000);
    expect(h.server.connectedStreams().length).toBe(2);
  });

  it('answers every stream of a burst past the initial-sync rate, first responses in arrival order', async () => {
    h = await startHarness([service('a', 1)], { limits: { initialSyncsPerSecond: 4 } });
    for (let i = 0; i < 10; i++) {
      opened.push(openStream(h.address, `p${i}`));
      // Arrival order is the order of the first requests at the server.
      await eventually(() => expect(h!.server.connectedStreams().length).toBe(i + 1), 10000);
    }
    await eventually(() => expect(opened.every((s) => s.responses.length === 1)).toBe(true), 20000);
    const firstAt = opened.map((s) => s.responses[0]!);
    expect([...firstAt].sort((x, y) => x - y)).toEqual(firstAt);
  });

  it('closes a connection past its maximum age, and the client is served again on a new one', async () => {
    h = await startHarness([service('a', 1)], { limits: { maxConnectionAgeMs: 500, maxConnectionAgeGraceMs: 200 } });
    const s = openStream(h.address, 'aging');
    opened.push(s);
    await eventually(() => expect(s.responses.length).toBe(1), 10000);
    await eventually(() => expect(s.status).not.toBeNull(), 10000);
    const again = openStream(h.address, 'aging');
    opened.push(again);
    await eventually(() => expect(again.responses.length).toBe(1), 10000);
  });
});
