#!/usr/bin/env node
// Applies zk-xds's patch to the `zookeeper` npm binding (node_modules/zookeeper) and rebuilds its
// native addon. Runs as the root package's postinstall, so `npm ci` on a fresh machine and in the
// Dockerfile ends with the patched build; scripts/install-deps.sh runs it too (for a node_modules
// installed before the patch existed).
//
// Why a patch: the binding never frees a watch callback (issue 11: every fired watch leaked its
// callback and everything the callback's closure holds); it also adds TLS (issue 12) and creates
// with an ACL (issue 12: every znode was world-writable). patches/README.md says what it changes.
//
//   node scripts/patch-zookeeper.mjs           apply if needed, rebuild if the addon is not the patched build
//   node scripts/patch-zookeeper.mjs --check   only verify that the installed addon is the patched build
//
// Idempotent: an applied patch is detected (it reverses cleanly) and a stamp in the addon's build
// folder (the patch's sha256) skips the rebuild when the addon already is the patched build. The
// build happens in a copy of the package; only a built and loadable addon replaces the installed
// one (by rename), so processes using the binding meanwhile never see a half-built one.
// Exits non-zero with one clear line when the patch does not fit the installed version.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the patched addon reports on its constructor (ZooKeeper.ZKXDS_PATCHES). */
const MARKER = 'free-watchers,tls,create-acl,drain-reads';
const BUILD_PREFIX = '.zookeeper-zkxds-build-';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = path.join(root, 'node_modules', 'zookeeper');
const stampFile = path.join(pkgDir, 'build', 'zkxds-patch.sha256');
/** The patch as last applied: a changed patch file reverses it first (an upgrade without npm ci). */
const appliedCopy = path.join(pkgDir, '.zkxds-applied.patch');

class Failure extends Error {}

/** Stops with one clear line (thrown, so that the temporary build folder is removed on the way out). */
function fail(message) {
  throw new Failure(message);
}

function say(message) {
  console.log(`patch-zookeeper: ${message}`);
}

/** The marker the addon built in `dir` reports, or null when it does not load or has none (unpatched build). */
function builtMarker(dir = pkgDir) {
  const probe = `try { const z = require('node-gyp-build')(process.argv[1]).ZooKeeper; process.stdout.write(String(z.ZKXDS_PATCHES ?? '')); } catch (e) { process.stdout.write(''); }`;
  const r = spawnSync(process.execPath, ['-e', probe, dir], { cwd: dir, encoding: 'utf8' });
  return r.status === 0 && r.stdout ? r.stdout : null;
}

/** GNU patch in `dir`, dry run or for real; true when it succeeded. */
function runPatch(dir, file, args) {
  const r = spawnSync('patch', ['-p1', '-f', '-s', '--no-backup-if-mismatch', '-d', dir, '-i', file, ...args], { encoding: 'utf8' });
  if (r.error) fail(`cannot run \`patch\` (${r.error.message}): install it (Debian: apt-get install patch)`);
  return r.status === 0;
}

/** node-gyp: the one npm runs scripts with (npm sets npm_config_node_gyp), else npm's bundled one. */
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return { script: fromNpm, extra: [] };
  let globalRoot;
  try {
    globalRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
  } catch (err) {
    fail(`cannot find node-gyp: run this through npm (npm run patch-zookeeper), or install npm (${err.message})`);
  }
  const script = path.join(globalRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!existsSync(script)) fail(`cannot find node-gyp at ${script}: run this through npm (npm run patch-zookeeper)`);
  // Outside npm, node-gyp does not see npm's config: pass the configured Node headers folder on.
  let nodedir = process.env.npm_config_nodedir ?? '';
  if (!nodedir) {
    try {
      nodedir = execFileSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8' }).trim();
    } catch {
      nodedir = '';
    }
  }
  const extra = nodedir && nodedir !== 'undefined' && nodedir !== 'null' ? [`--nodedir=${nodedir}`] : [];
  return { script, extra };
}

/**
 * Builds the patched addon in a copy of the package, then renames the result over the installed
 * addon: a process loading the binding meanwhile sees the old file or the new one, never a half
 * written one, and a failed build leaves the installed addon as it was.
 */
function buildAndInstall(patchFile) {
  const gyp = nodeGyp();
  // Beside the package, inside node_modules: the build resolves the binding's hoisted dependencies
  // (nan, node-gyp-build) from there. npm ignores dot folders; a leftover of a killed run goes too.
  for (const old of readdirSync(path.dirname(pkgDir)))
    if (old.startsWith(BUILD_PREFIX)) rmSync(path.join(path.dirname(pkgDir), old), { recursive: true, force: true });
  const work = mkdtempSync(path.join(path.dirname(pkgDir), BUILD_PREFIX));
  try {
    // Timestamps kept: the bundled C client's autotools Makefile would otherwise try to regenerate itself.
    cpSync(pkgDir, work, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    if (!runPatch(work, patchFile, ['-R', '--dry-run']) && !runPatch(work, patchFile, []))
      fail(`${path.relative(root, patchFile)} does not apply to a copy of ${pkgDir}`);
    say('building the patched zookeeper addon (node-gyp rebuild, 20 s to 2 min)');
    const r = spawnSync(process.execPath, [gyp.script, 'rebuild', ...gyp.extra], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) {
      process.stderr.write(`${(r.stdout ?? '').split('\n').slice(-30).join('\n')}\n${(r.stderr ?? '').split('\n').slice(-30).join('\n')}\n`);
      fail(`node-gyp rebuild failed (exit ${r.status ?? r.signal}); Node's headers are needed (npm config nodedir); the installed addon is unchanged`);
    }
    const built = builtMarker(work);
    if (built !== MARKER) fail(`the rebuilt addon does not report the patch (got ${JSON.stringify(built)}); the installed addon is unchanged`);
    // The sources too, so that the installed package is what its addon was built from.
    if (!runPatch(pkgDir, patchFile, ['-R', '--dry-run']) && !runPatch(pkgDir, patchFile, []))
      fail(`applying ${path.relative(root, patchFile)} to ${pkgDir} failed`);
    for (const rel of ['build/Release/zookeeper.node', 'build/zookeeper.node']) {
      const target = path.join(pkgDir, rel);
      mkdirSync(path.dirname(target), { recursive: true });
      copyFileSync(path.join(work, 'build/Release/zookeeper.node'), `${target}.zkxds-new`);
      renameSync(`${target}.zkxds-new`, target);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function main() {
  if (!existsSync(path.join(pkgDir, 'package.json'))) fail(`${pkgDir} is missing: run npm ci first`);
  const version = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
  const patchFile = path.join(root, 'patches', `zookeeper+${version}.patch`);

  if (process.argv.includes('--check')) {
    const marker = builtMarker();
    if (marker !== MARKER)
      fail(
        `the installed zookeeper addon is not zk-xds's patched build (reports ${JSON.stringify(marker)}, expected "${MARKER}"): run node scripts/patch-zookeeper.mjs`,
      );
    const tls = spawnSync(
      process.execPath,
      ['-e', "process.stdout.write(String(require('node-gyp-build')(process.argv[1]).ZooKeeper.ZKXDS_HAS_TLS))", pkgDir],
      { cwd: pkgDir, encoding: 'utf8' },
    ).stdout;
    say(
      `zookeeper ${version}: the patched addon is installed (${MARKER}; TLS to ZooKeeper ${tls === 'true' ? 'available' : 'NOT available: OpenSSL headers were missing at build'})`,
    );
    return;
  }

  if (!existsSync(patchFile))
    fail(
      `zookeeper ${version} is installed but patches/ has no zookeeper+${version}.patch: port the patch to this version (package-lock.json pins the one it fits)`,
    );
  const patchHash = createHash('sha256').update(readFileSync(patchFile)).digest('hex');

  let state;
  if (runPatch(pkgDir, patchFile, ['-R', '--dry-run'])) state = 'applied';
  else if (runPatch(pkgDir, patchFile, ['--dry-run'])) state = 'not applied yet';
  else if (revertedOlderPatch(pkgDir, appliedCopy, patchFile)) state = 'replacing an older version';
  else
    fail(
      `${path.relative(root, patchFile)} neither applies to nor is applied in ${pkgDir} (locally modified?): reinstall it (rm -rf node_modules/zookeeper && npm ci)`,
    );

  const stamp = existsSync(stampFile) ? readFileSync(stampFile, 'utf8').trim() : '';
  if (state === 'applied' && stamp === patchHash && builtMarker() === MARKER) {
    if (!existsSync(appliedCopy)) copyFileSync(patchFile, appliedCopy);
    say(`zookeeper ${version}: patch applied, addon up to date (${MARKER})`);
    return;
  }
  buildAndInstall(patchFile);
  if (builtMarker() !== MARKER) fail('the installed addon does not report the patch after installing the rebuilt one');
  writeFileSync(stampFile, `${patchHash}\n`);
  copyFileSync(patchFile, appliedCopy);
  say(`zookeeper ${version}: patch applied, addon rebuilt and installed (${MARKER})`);
}

try {
  main();
} catch (err) {
  if (!(err instanceof Failure)) throw err;
  console.error(`patch-zookeeper: ERROR: ${err.message}`);
  process.exit(1);
}

/** Reverts the previously applied patch (kept as `appliedCopy`) if the new one then applies cleanly. */
function revertedOlderPatch(pkgDir, appliedCopy, patchFile) {
  return (
    existsSync(appliedCopy) &&
    runPatch(pkgDir, appliedCopy, ['-R', '--dry-run']) &&
    runPatch(pkgDir, appliedCopy, ['-R']) &&
    runPatch(pkgDir, patchFile, ['--dry-run'])
  );
}
