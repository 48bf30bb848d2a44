// Test certificate authorities made with openssl: a CA, and leaf certificates it signs with the
// subjectAltName a test needs (IP/DNS for a server, a SPIFFE URI for a workload identity). Used by
// zk-tls.ts (ZooKeeper over TLS) and spiffe-certs.ts (mTLS between gRPC services).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface PemFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

function run(cmd: string, args: string[], cwd: string): void {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `<dir>/<name>.pem` and `<name>.key`: a self-signed CA valid for two days. */
export function makeCa(dir: string, name: string): void {
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`], dir);
}

/**
 * `<dir>/<name>.pem` and `<name>.key` signed by CA `ca`, with `subjectAltName` as openssl writes it
 * (e.g. `IP:127.0.0.1,DNS:localhost` or `URI:spiffe://example.org/sa/web`).
 */
export function makeLeaf(dir: string, name: string, ca: string, subjectAltName = 'IP:127.0.0.1,DNS:localhost'): PemFiles {
  run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${subjectAltName}\n`);
  run('openssl', ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir);
  return { caFile: path.join(dir, `${ca}.pem`), certFile: path.join(dir, `${name}.pem`), keyFile: path.join(dir, `${name}.key`) };
}
