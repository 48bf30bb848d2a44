// The import graph of src/: which file imports which, and which folder ("room") each file lives in.
// Read with a regular expression over import/export statements: the tree is our own and formatted,
// so every relative specifier is a quoted string after `from` or `import(`.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

export interface ImportEdge {
  readonly from: string;
  readonly to: string;
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports of every file under `srcDir`, as paths relative to `srcDir` (`xds/stream-base.ts`). */
export function importEdges(srcDir: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of sourceFiles(srcDir)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(SPECIFIER)) {
      const target = normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts');
      edges.push({ from: relative(srcDir, file), to: relative(srcDir, target) });
    }
  }
  return edges;
}

/** The top folder of a path relative to src/ (`xds/stream-base.ts` → `xds`). */
export function roomOf(path: string): string {
  return path.split('/')[0]!;
}

/** Edges that leave their room for a room it may not import. */
export function forbiddenEdges(edges: readonly ImportEdge[], allowed: Readonly<Record<string, readonly string[]>>): ImportEdge[] {
  return edges.filter((e) => {
    const from = roomOf(e.from);
    const to = roomOf(e.to);
    return from !== to && !(allowed[from] ?? []).includes(to);
  });
}

/** Every cycle of files, each as the list of files on it (Tarjan's strongly connected components). */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return cycles;
}
