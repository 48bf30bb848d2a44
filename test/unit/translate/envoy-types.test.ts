// The translators return the Envoy types generated from the vendored protos (src/generated/), and
// those types are what stands between a misspelled field and the wire: protobufjs's fromObject
// drops unknown fields without a word. The @ts-expect-error lines are the compile-time half of
// this test: if the types stopped catching these mistakes, `tsc` (make build) would fail with
// "Unused '@ts-expect-error' directive".
import { describe, expect, it } from '@jest/globals';
import { clusterFor } from '../../../src/translate/cluster.js';
import { ANY_TYPE, compact, typedAny } from '../../../src/translate/envoy-json.js';
import type { Cluster, Listener } from '../../../src/translate/envoy-types.js';
import { apiListenerFor } from '../../../src/translate/listener.js';
import { decodeAny, encodeResource } from '../../../src/xds/resource-encoding.js';
import { TYPE_URL } from '../../../src/xds/resource-types.js';
import { service } from '../../support/catalog-fixtures.js';

const TIMEOUT = { seconds: 2, nanos: 0 };

describe('generated Envoy types', () => {
  it('reject a misspelled field, an unknown enum name and a field of the wrong Any body at compile time', () => {
    // @ts-expect-error connect_timout is not a Cluster field (connect_timeout is)
    const misspelled: Cluster = { name: 'orders', type: 'EDS', connect_timout: TIMEOUT };
    // @ts-expect-error ROUND_ROBBIN is not an LbPolicy
    const badEnum: Cluster = { name: 'orders', lb_policy: 'ROUND_ROBBIN' };
    // compact() keeps the check when told the message type, as the translators call it.
    // @ts-expect-error max_ejection_percent belongs to OutlierDetection, not to Cluster
    const viaCompact = compact<Cluster>({ name: 'orders', max_ejection_percent: { value: 10 } });
    // @ts-expect-error the Router filter has no stat_prefix (the HttpConnectionManager does)
    const wrongBody = typedAny(ANY_TYPE.router, { stat_prefix: 'orders' });
    // @ts-expect-error a Listener's api_listener holds an ApiListener, not the Any itself
    const wrongNesting: Listener = { name: 'orders', api_listener: typedAny(ANY_TYPE.httpConnectionManager, { stat_prefix: 'orders' }) };
    expect([misspelled, badEnum, viaCompact, wrongBody, wrongNesting]).toHaveLength(5);
  });

  it('are needed: the encoder silently drops the misspelled field that the type rejects', () => {
    const misspelled = { name: 'orders', type: 'EDS', connect_timout: TIMEOUT };
    const decoded = decodeAny(encodeResource(TYPE_URL.cluster, 'orders', misspelled).anyBytes).object;
    expect(decoded).toEqual({ name: 'orders', type: 'EDS' });
    const spelled: Cluster = { name: 'orders', type: 'EDS', connect_timeout: TIMEOUT };
    expect(decodeAny(encodeResource(TYPE_URL.cluster, 'orders', spelled).anyBytes).object).toEqual({
      name: 'orders',
      type: 'EDS',
      connect_timeout: { seconds: '2', nanos: 0 },
    });
  });

  it('describe what the translators emit: every field set survives the encoder', () => {
    const svc = service('orders', 1, { connectTimeoutMs: 1500 });
    const cluster: Cluster = clusterFor(svc, 'sidecar');
    const listener: Listener = apiListenerFor(svc);
    const roundTrip = (typeUrl: string, o: object) => decodeAny(encodeResource(typeUrl, 'orders', o).anyBytes).object;
    expect(Object.keys(roundTrip(TYPE_URL.cluster, cluster)).sort()).toEqual(Object.keys(cluster).sort());
    expect(Object.keys(roundTrip(TYPE_URL.listener, listener)).sort()).toEqual(Object.keys(listener).sort());
  });
});
