// Workload certificates for mTLS tests between gRPC services: one mesh CA signs SPIFFE identities
// (URI SANs), a foreign CA signs an impostor; plus the bootstrap `certificate_providers` block
// (gRPC's `file_watcher` plugin) that makes a proxyless node present one of them.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCa, makeLeaf } from './test-certs.js';

export interface PemFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export const TRUST_DOMAIN = 'zkxds.test';

export const spiffeId = (workload: string) => `spiffe://${TRUST_DOMAIN}/sa/${workload}`;

export interface SpiffeCerts {
  readonly dir: string;
  /** A workload's certificate (URI SAN spiffeId(workload)) signed by the mesh CA, with the mesh CA as roots. */
  readonly workload: (name: string) => PemFiles;
  /** A certificate claiming spiffeId(name) but signed by a foreign CA (it still trusts the mesh CA). */
  readonly impostor: (name: string) => PemFiles;
  remove(): void;
}

export function makeSpiffeCerts(): SpiffeCerts {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zkxds-spiffe-'));
  makeCa(dir, 'mesh-ca');
  makeCa(dir, 'foreign-ca');
  const made = new Map<string, PemFiles>();
  const once = (key: string, make: () => PemFiles): PemFiles => {
    const known = made.get(key);
    if (known) return known;
    const files = make();
    made.set(key, files);
    return files;
  };
  return {
    dir,
    workload: (name) => once(name, () => leaf(dir, name, 'mesh-ca', name)),
    // Signed by the foreign CA, but trusting the mesh CA like everyone else.
    impostor: (name) => once(`impostor-${name}`, () => leaf(dir, `impostor-${name}`, 'foreign-ca', name)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A certificate for spiffeId(workload) signed by `ca`, with the mesh CA as roots. */
function leaf(dir: string, name: string, ca: string, workload: string): PemFiles {
  makeLeaf(dir, name, ca, { san: `URI:${spiffeId(workload)}` });
  return { caFile: path.join(dir, 'mesh-ca.pem'), certFile: path.join(dir, `${name}.pem`), keyFile: path.join(dir, `${name}.key`) };
}

/** A bootstrap `certificate_providers` block: one `file_watcher` instance named `instance`. */
export function certificateProviders(files: PemFiles, instance = 'default'): Record<string, unknown> {
  return {
    [instance]: {
      plugin_name: 'file_watcher',
      config: { certificate_file: files.certFile, private_key_file: files.keyFile, ca_certificate_file: files.caFile, refresh_interval: '10s' },
    },
  };
}
