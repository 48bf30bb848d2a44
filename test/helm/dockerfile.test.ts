// The image cannot be built here (no Docker engine), so this checks what a build would rely on:
// every path the Dockerfile copies is in the build context (.dockerignore lets it through) or is
// produced by the build stage, the context leaves out what must not go in, the runtime stage runs
// as a numeric non-root user, the code imports only production dependencies, and the runtime
// file set alone (dist/src, protos, node_modules, package.json) starts `zk-xds serve`.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { PROJECT_ROOT, renderChart } from './kube-tools.js';
import { envOf, only } from './chart-checks.js';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { CLI_MAIN } from './cli-env.js';
import { testMachineEnv } from './cli-run.js';
import { CliProcess } from '../support/cli-process.js';

interface Instruction {
  readonly stage: string;
  readonly keyword: string;
  readonly args: string;
}

/** Dockerfile instructions with their stage name (line continuations joined, comments dropped). */
function parseDockerfile(text: string): Instruction[] {
  const logical = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  let stage = '';
  return logical.map((line) => {
    const [keyword, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword!.toUpperCase() === 'FROM') stage = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? args;
    return { stage, keyword: keyword!.toUpperCase(), args };
  });
}

/** Whether .dockerignore lets a context path through (Docker's rule: the last matching line wins). */
function inContext(rules: readonly string[], file: string): boolean {
  let included = true;
  for (const raw of rules) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/\/$/, '');
    const re = new RegExp(
      `^${pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*')}(/.*)?$`,
    );
    if (re.test(file)) included = negate;
  }
  return included;
}

const dockerfile = parseDockerfile(readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8'));
const ignoreRules = readFileSync(path.join(PROJECT_ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const froms = dockerfile.filter((i) => i.keyword === 'FROM');
const runtimeStage = froms.at(-1)!.stage;
const inStage = (stage: string, keyword: string) => dockerfile.filter((i) => i.stage === stage && i.keyword === keyword);

/** [source, destination] of a COPY, and its --from stage if any. */
function copyParts(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
  const paths = words.filter((w) => !w.startsWith('--'));
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

describe('Dockerfile', () => {
  it('builds in node:20-bookworm and runs in node:20-bookworm-slim as uid 10001', () => {
    expect(froms.map((f) => f.args)).toEqual(['node:20-bookworm AS build', 'node:20-bookworm-slim AS runtime']);
    expect(inStage(runtimeStage, 'USER').map((i) => i.args)).toEqual(['10001:10001']);
    expect(inStage(runtimeStage, 'ENTRYPOINT').map((i) => i.args)).toEqual(['["node", "dist/src/cli/main.js"]']);
    expect(inStage(runtimeStage, 'CMD').map((i) => i.args)).toEqual(['["serve"]']);
    expect(inStage(runtimeStage, 'EXPOSE').map((i) => i.args)).toEqual(['18000 9901']);
    // The runtime stage installs nothing: no compiler or package manager run ends up in it.
    expect(
      inStage(runtimeStage, 'RUN')
        .map((i) => i.args)
        .join(' '),
    ).not.toMatch(/apt-get|npm/);
  });

  it('copies from the context only paths that exist and that .dockerignore lets through', () => {
    const sources = dockerfile.filter((i) => i.keyword === 'COPY' && !copyParts(i.args).from).flatMap((i) => copyParts(i.args).sources);
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect({ source, exists: existsSync(path.join(PROJECT_ROOT, source)) }).toEqual({ source, exists: true });
      expect({ source, inContext: inContext(ignoreRules, source) }).toEqual({ source, inContext: true });
    }
    // Every source file tsc compiles is in the context (the allow-list does not miss a folder).
    for (const f of readdirSync(path.join(PROJECT_ROOT, 'src'), { recursive: true }) as string[])
      expect(inContext(ignoreRules, path.posix.join('src', f))).toBe(true);
  });

  it('installs the patched zookeeper binding: the patch and its script are copied before npm ci, and the build checks the result', () => {
    const build = dockerfile.filter((i) => i.stage === froms[0]!.stage);
    const npmCi = build.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    const copied = build
      .slice(0, npmCi)
      .filter((i) => i.keyword === 'COPY')
      .flatMap((i) => copyParts(i.args).sources);
    expect(npmCi).toBeGreaterThan(0);
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'patches', 'scripts/patch-zookeeper.mjs']));
    const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.postinstall).toBe('node scripts/patch-zookeeper.mjs');
    expect(build.filter((i) => i.keyword === 'RUN' && i.args.includes('node scripts/patch-zookeeper.mjs --check'))).toHaveLength(1);
  });

  it('leaves node_modules, .run, dist, tests, benchmarks, git and deploy files out of the context', () => {
    for (const p of [
      'node_modules',
      'node_modules/zookeeper/build/Release/zookeeper.node',
      '.run',
      '.run/bin/helm',
      'dist',
      'test',
      'test/helm/values-full.yaml',
      'bench',
      '.git',
      'charts',
      'deploy',
      'docs',
      'scripts',
    ]) {
      expect({ p, inContext: inContext(ignoreRules, p) }).toEqual({ p, inContext: false });
    }
  });

  it('the runtime stage copies only what the build stage has: context copies or build outputs that a local build produces', () => {
    const buildDests = inStage('build', 'COPY').flatMap((i) => {
      const { sources, dest } = copyParts(i.args);
      return dest.endsWith('/') || sources.length > 1 ? sources.map((s) => path.posix.basename(s)) : [dest.replace(/^\.\//, '')];
    });
    const runtimeCopies = inStage(runtimeStage, 'COPY').map((i) => copyParts(i.args));
    expect(runtimeCopies.every((c) => c.from === 'build')).toBe(true);
    const fromBuild = runtimeCopies.flatMap((c) => c.sources.map((s) => path.posix.relative('/src', s)));
    expect(fromBuild.sort()).toEqual(['dist/src', 'node_modules', 'package.json', 'protos']);
    // node_modules (npm ci) and dist/src (tsc) are made in the build stage; the rest is copied in.
    for (const p of fromBuild.filter((p) => p !== 'node_modules' && p !== 'dist/src')) expect(buildDests).toContain(p);
    expect(existsSync(CLI_MAIN)).toBe(true);
    expect(existsSync(path.join(PROJECT_ROOT, 'node_modules/zookeeper/build/Release/zookeeper.node'))).toBe(true);
  });

  it('the compiled code imports only packages in "dependencies" (npm prune --omit=dev keeps nothing else)', () => {
    const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const distSrc = path.join(PROJECT_ROOT, 'dist/src');
    const imported = new Set<string>();
    for (const f of readdirSync(distSrc, { recursive: true }) as string[]) {
      if (!f.endsWith('.js')) continue;
      const code = readFileSync(path.join(distSrc, f), 'utf8');
      for (const m of code.matchAll(/(?:from\s+|import\s*\(\s*|require\(\s*)['"]([^'"./][^'"]*)['"]/g)) {
        const spec = m[1]!;
        if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    expect(imported.size).toBeGreaterThan(0);
    expect([...imported].filter((p) => !(p in pkg.dependencies))).toEqual([]);
  });

  describe('the runtime file set', () => {
    // Lays out /app as the runtime stage does (node_modules linked, not copied: it is the same
    // tree the build stage has before pruning) and starts the CLI from it.
    function runtimeLayout(withProtos: boolean): string {
      const app = mkdtempSync(path.join(os.tmpdir(), 'zkxds-image-'));
      cpSync(path.join(PROJECT_ROOT, 'package.json'), path.join(app, 'package.json'));
      cpSync(path.join(PROJECT_ROOT, 'dist/src'), path.join(app, 'dist/src'), { recursive: true });
      if (withProtos) cpSync(path.join(PROJECT_ROOT, 'protos'), path.join(app, 'protos'), { recursive: true });
      symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(app, 'node_modules'), 'dir');
      return app;
    }

    /** Starts `node dist/src/cli/main.js serve` in `app` with the env of the chart's default Deployment. */
    function serveLikeThePod(app: string): CliProcess {
      const podEnv = envOf(only<IDeployment>(renderChart(path.join(PROJECT_ROOT, 'test/helm/values-default.yaml')), 'Deployment'));
      return CliProcess.start(['serve'], testMachineEnv(podEnv), { cwd: app, main: 'dist/src/cli/main.js' });
    }

    it('starts zk-xds serve with the chart default env: /healthz 200, /readyz 503 before ZooKeeper, SIGTERM exits 0', async () => {
      const app = runtimeLayout(true);
      const proc = serveLikeThePod(app);
      try {
        const adminPort = await proc.adminPort();
        expect({ started: adminPort !== undefined, output: adminPort ? '' : proc.output() }).toEqual({ started: true, output: '' });
        expect((await fetch(`http://127.0.0.1:${adminPort}/healthz`)).status).toBe(200);
        expect((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status).toBe(503);
        proc.child.kill('SIGTERM');
        expect((await proc.exited).code).toBe(0);
      } finally {
        proc.child.kill('SIGKILL');
        rmSync(app, { recursive: true, force: true });
      }
    });

    it('fails to start without protos/ (which is why the image copies it)', async () => {
      const app = runtimeLayout(false);
      const proc = serveLikeThePod(app);
      try {
        expect((await proc.exited).code).not.toBe(0);
        expect(proc.output()).toMatch(/protos/);
      } finally {
        proc.child.kill('SIGKILL');
        rmSync(app, { recursive: true, force: true });
      }
    });
  });
});
