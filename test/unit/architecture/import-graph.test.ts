// The folders are the pipeline: registry → catalog → translate → publish → xds, with zookeeper,
// istio, admin, cli and observability beside it. Data flows one way: no file imports a room
// upstream or sideways of its own. This test reads every import in src/ and fails on any that does.
import { describe, expect, it } from '@jest/globals';
import { forbiddenEdges, importCycles, importEdges, type ImportEdge } from '../../support/import-graph.js';

/** For each room, the rooms its files may import (its own is always allowed). */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  observability: [],
  // Envoy message types made by proto-loader-gen-types (make protos); only translate reads them.
  generated: [],
  zookeeper: ['observability'],
  catalog: ['observability'],
  registry: ['zookeeper', 'catalog', 'observability'],
  translate: ['catalog', 'generated'],
  xds: ['observability'],
  publish: ['translate', 'catalog', 'xds', 'observability'],
  // ServiceEntries as Kubernetes objects: built by translate, written by the replica the election picks.
  istio: ['translate', 'catalog', 'zookeeper', 'observability'],
  // Read-only pages over the running parts, behind report interfaces.
  admin: ['catalog', 'translate', 'publish', 'xds', 'observability'],
  // The composition root wires everything.
  cli: ['admin', 'catalog', 'istio', 'observability', 'publish', 'registry', 'translate', 'xds', 'zookeeper'],
};

const edges = importEdges(new URL('../../../src', import.meta.url).pathname);

describe('the import graph of src/', () => {
  it('is read (a sanity check on the reader itself)', () => {
    expect(edges.length).toBeGreaterThan(200);
    expect(edges).toContainEqual({ from: 'cli/serve.ts', to: 'xds/xds-server.ts' });
  });

  it('has every file in a known room', () => {
    const rooms = new Set(edges.flatMap((e) => [e.from, e.to]).map((p) => p.split('/')[0]));
    expect([...rooms].filter((r) => !(r! in MAY_IMPORT))).toEqual([]);
  });

  it('never crosses the pipeline backwards or sideways', () => {
    const bad = forbiddenEdges(edges, MAY_IMPORT).map((e) => `${e.from} imports ${e.to}`);
    expect(bad).toEqual([]);
  });

  it('has no import cycles (the generated types mirror recursive proto messages, and are left out)', () => {
    expect(importCycles(edges.filter((e) => !e.from.startsWith('generated/')))).toEqual([]);
  });
});

describe('the checks themselves', () => {
  const e = (from: string, to: string): ImportEdge => ({ from, to });

  it('reports an edge upstream and allows one downstream', () => {
    const graph = [e('xds/a.ts', 'catalog/model.ts'), e('translate/b.ts', 'catalog/model.ts'), e('xds/a.ts', 'xds/c.ts')];
    expect(forbiddenEdges(graph, MAY_IMPORT)).toEqual([e('xds/a.ts', 'catalog/model.ts')]);
  });

  it('finds a cycle of three files and ignores a chain', () => {
    const graph = [e('x/a.ts', 'x/b.ts'), e('x/b.ts', 'x/c.ts'), e('x/c.ts', 'x/a.ts'), e('x/c.ts', 'x/d.ts')];
    expect(importCycles(graph)).toEqual([['x/a.ts', 'x/b.ts', 'x/c.ts']]);
    expect(importCycles(graph.slice(1))).toEqual([]);
  });
});
