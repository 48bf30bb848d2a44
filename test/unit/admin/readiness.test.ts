// /readyz's verdict from the registry status: not ready while a first read is incomplete or a root
// is refused, ready (with the staleness figure) while ZooKeeper is merely out of reach.
import { describe, expect, it } from '@jest/globals';
import { registryReadiness } from '../../../src/admin/readiness.js';
import type { EnsembleStatus, RegistryStatus } from '../../../src/registry/zk-registry.js';

function ensemble(over: Partial<EnsembleStatus> = {}): EnsembleStatus {
  return {
    name: 'main',
    connect: 'zk:2181',
    chroot: '',
    roots: [{ path: '/services', layout: 'auto' }],
    authUser: null,
    state: 'connected',
    initialSyncDone: true,
    lastFullSyncAt: '2026-01-01T00:00:00.000Z',
    sessionsOpened: 1,
    services: 3,
    invalidRegistrations: 0,
    unreadableRoots: [],
    disconnectedSince: null,
    ...over,
  };
}

function status(ensembles: EnsembleStatus[], staleSeconds = 0): RegistryStatus {
  return {
    connect: 'zk:2181',
    root: '/services',
    state: ensembles[0]!.state,
    initialSyncDone: ensembles.every((e) => e.initialSyncDone),
    lastFullSyncAt: null,
    sessionsOpened: 1,
    services: 3,
    invalidRegistrations: 0,
    policyRoot: '/zk-xds/policy',
    invalidPolicies: 0,
    ensembles,
    nameCollisions: [],
    staleSeconds,
  };
}

describe('registryReadiness', () => {
  it('is ready when every ensemble read completely and nothing is refused', () => {
    expect(registryReadiness(status([ensemble(), ensemble({ name: 'legacy' })]))).toEqual({ ready: true, notReady: [], catalogStaleSeconds: 0 });
  });

  it('is not ready before an ensemble completes its first read, naming it', () => {
    const r = registryReadiness(status([ensemble(), ensemble({ name: 'legacy', initialSyncDone: false, state: 'connecting' })]));
    expect(r.ready).toBe(false);
    expect(r.notReady).toEqual([{ ensemble: 'legacy', reason: expect.stringContaining('first complete read') }]);
  });

  it('is not ready while a root is refused, naming the root and why', () => {
    const refused = {
      path: '/prod/dubbo',
      kind: 'services' as const,
      reason: "ZooKeeper denied reading it (NoAuth) with the credentials of user 'ops'",
      since: '2026-01-01T00:00:00.000Z',
    };
    const r = registryReadiness(status([ensemble({ initialSyncDone: false, unreadableRoots: [refused] })]));
    expect(r.ready).toBe(false);
    expect(r.notReady).toEqual([{ ensemble: 'main', root: '/prod/dubbo', reason: expect.stringMatching(/^services root unreadable since .*NoAuth.*'ops'/) }]);
  });

  it('stays ready while an ensemble that was read is disconnected, reporting the staleness', () => {
    const r = registryReadiness(status([ensemble({ state: 'disconnected', disconnectedSince: '2026-01-01T00:00:00.000Z' })], 12.345));
    expect(r).toEqual({ ready: true, notReady: [], catalogStaleSeconds: 12.3 });
  });
});
