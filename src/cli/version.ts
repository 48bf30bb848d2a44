// The version `zk-xds --version` prints: the one in the package.json shipped next to the compiled
// code (dist/src/cli/ in a checkout and in the container image, src/cli/ under ts-jest).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest package.json above this file that belongs to zk-xds; `unknown` when none is found. */
export function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === 'zk-xds' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // An unreadable package.json further down (a build folder's) is not ours: keep looking.
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}
