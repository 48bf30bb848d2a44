// Test certificates made with the real openssl: CAs and leaf certificates with chosen subjects and
// SANs (server certificates for 127.0.0.1/localhost, client certificates with SPIFFE IDs, DNS
// names or only a CN). Shared by the ZooKeeper TLS and xDS TLS tests.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';

export function runIn(dir: string, cmd: string, args: string[]): void {
  execFileSync(cmd, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** openssl -newkey argument: RSA 2048 (the default) or ECDSA P-256. */
export type KeyType = 'rsa' | 'ec';
const newkey = (key: KeyType = 'rsa') => (key === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048']);

/** `<name>.pem` and `<name>.key`: a self-signed CA. */
export function makeCa(dir: string, name: string, key?: KeyType): void {
  runIn(dir, 'openssl', ['req', '-x509', ...newkey(key), '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`]);
}

export interface LeafOptions {
  /** Subject CN (default: the name). */
  readonly cn?: string;
  /** subjectAltName value, e.g. `URI:spiffe://td/ns/a/sa/b,DNS:x`; '' for none (default: IP:127.0.0.1,DNS:localhost). */
  readonly san?: string;
  readonly key?: KeyType;
}

/** `<name>.pem` and `<name>.key`: a certificate signed by the CA `<ca>`. */
export function makeLeaf(dir: string, name: string, ca: string, opts: LeafOptions = {}): void {
  runIn(dir, 'openssl', ['req', ...newkey(opts.key), '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${opts.cn ?? name}`]);
  const san = opts.san ?? 'IP:127.0.0.1,DNS:localhost';
  writeFileSync(path.join(dir, `${name}.ext`), san ? `subjectAltName=${san}\n` : 'basicConstraints=CA:FALSE\n');
  runIn(dir, 'openssl', [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
}

/** Serial number of a PEM certificate file (as Node's X509Certificate and tls report it). */
export function serialOf(file: string): string {
  return new X509Certificate(readFileSync(file)).serialNumber;
}
