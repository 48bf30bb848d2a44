import { describe, expect, it } from '@jest/globals';
import { ConvergenceSamples, quantile } from '../../../src/admin/convergence-samples.js';
import type { ProxyReply } from '../../../src/xds/stream-base.js';

const EDS = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
const change = (version: string, observedAt: number) => ({ typeUrl: EDS, version, seq: 1, changed: new Set<string>(), removed: new Set<string>(), observedAt });
const reply = (nodeId: string, version: string, at: number, kind: 'ack' | 'nack' = 'ack'): ProxyReply => ({ kind, nodeId, typeUrl: EDS, version, at });

describe('ConvergenceSamples', () => {
  it('counts change -> ACK for proxies that were answering before the change, and nothing else', () => {
    let wall = 1_000_000;
    const s = new ConvergenceSamples(16, () => wall);
    s.recordChanges([change('v1', 100)]);
    s.recordReply(reply('a', 'v1', 105)); // first reply of a: it connected after the change
    s.recordChanges([change('v2', 200)]);
    s.recordReply(reply('a', 'v2', 212)); // 12 ms
    s.recordReply(reply('a', 'v2', 213, 'nack')); // NACKs are not convergence
    s.recordReply(reply('b', 'v2', 250)); // b's first reply: a newcomer, not counted
    s.recordReply(reply('a', 'unknown', 300)); // a version never seen
    const summary = s.summary(600, 30);
    expect(summary).toMatchObject({ count: 1, p50: 0.012, p99: 0.012 });
    expect(summary.buckets).toHaveLength(20);
    expect(summary.buckets.at(-1)).toMatchObject({ count: 1, p50: 0.012 });
    wall += 601_000;
    expect(s.summary(600, 30)).toMatchObject({ count: 0, p50: null, p99: null });
  });

  it('keeps only the last samples (a fixed ring) and forgets nodes no longer connected', () => {
    const s = new ConvergenceSamples(4, () => 5_000);
    s.recordReply(reply('a', 'v0', 0));
    for (let i = 1; i <= 10; i++) {
      s.recordChanges([change(`v${i}`, i * 100)]);
      s.recordReply(reply('a', `v${i}`, i * 100 + i));
    }
    const summary = s.summary(60, 6);
    expect(summary.count).toBe(4);
    expect(summary.p99).toBeCloseTo(0.01);
    expect(s.trackedReplies).toBe(1);
    s.prune(new Set(['b']));
    expect(s.trackedReplies).toBe(0);
  });

  it('nearest-rank quantiles', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(
      quantile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        0.99,
      ),
    ).toBe(99);
  });
});
