// TLS for the xDS port (ADS, delta and MCP share it): the server certificate and key, and the CA
// that client certificates must chain to when mutual TLS is on. The files are re-read when their
// contents change (cert-manager and the SPIFFE CSI driver replace them in place, by symlink swap):
// grpc-js then gives the injector's TLS server a new secure context, which only new connections
// see; established connections and their streams keep the one they were set up with.
// A new file that does not load (unparseable, key not matching the certificate, empty CA bundle,
// half-written) keeps the previous material in force: it is logged with its path and counted.
import { readFile } from 'node:fs/promises';
import { type KeyObject, X509Certificate, createPrivateKey } from 'node:crypto';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { experimental } from '@grpc/grpc-js';
import type { Logger } from '../observability/logger.js';
import { securityMetrics, type SecurityMetrics } from '../observability/security-metrics.js';
import type { Registry } from 'prom-client';

type CertificateProvider = experimental.CertificateProvider;
type IdentityListener = experimental.IdentityCertificateUpdateListener;
type CaListener = experimental.CaCertificateUpdateListener;

export interface XdsTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** Set: clients must present a certificate chaining to this CA bundle (mutual TLS). */
  readonly clientCaFile?: string;
}

export interface XdsTlsOptions extends XdsTlsFiles {
  /** How often the files are compared with what is in force (default 10 s). */
  readonly reloadIntervalMs?: number;
}

export const DEFAULT_TLS_RELOAD_INTERVAL_MS = 10_000;

/** The material in force, as PEM bytes, plus what a log line may say about it. */
interface Material {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | null;
  readonly serial: string;
  readonly subject: string;
  readonly validTo: string;
}

/** Why a set of files cannot be served, naming the file at fault. */
class BadTlsFile extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

/** Parses and cross-checks the three files; throws BadTlsFile naming the one at fault. */
export function checkTlsMaterial(files: XdsTlsFiles, cert: Buffer, key: Buffer, ca: Buffer | null): Material {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new BadTlsFile(files.certFile, `not a PEM certificate (${(err as Error).message})`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    // The parser's message never quotes key bytes.
    throw new BadTlsFile(files.keyFile, `not a PEM private key (${(err as Error).message})`);
  }
  if (!leaf.checkPrivateKey(privateKey)) throw new BadTlsFile(files.keyFile, `private key does not match the certificate in ${files.certFile}`);
  if (ca !== null) {
    const pems = ca.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (pems.length === 0) throw new BadTlsFile(files.clientCaFile!, 'holds no PEM certificate');
    for (const pem of pems) {
      try {
        new X509Certificate(pem);
      } catch (err) {
        throw new BadTlsFile(files.clientCaFile!, `a certificate does not parse (${(err as Error).message})`);
      }
    }
  }
  try {
    // What grpc-js will hand to setSecureContext: if this fails there, grpc-js drops every new
    // connection until the next good update, so it is tried here first.
    tls.createSecureContext({ cert, key, ...(ca ? { ca } : {}) });
  } catch (err) {
    throw new BadTlsFile(files.certFile, `rejected by TLS (${(err as Error).message})`);
  }
  return { cert, key, ca, serial: leaf.serialNumber, subject: leaf.subject.replace(/\n/g, ', '), validTo: leaf.validTo };
}

async function readAll(files: XdsTlsFiles): Promise<{ cert: Buffer; key: Buffer; ca: Buffer | null }> {
  const read = (file: string) =>
    readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new BadTlsFile(file, `cannot be read (${err.code ?? err.message})`);
    });
  const [cert, key, ca] = await Promise.all([read(files.certFile), read(files.keyFile), files.clientCaFile ? read(files.clientCaFile) : Promise.resolve(null)]);
  return { cert, key, ca };
}

/**
 * The certificate, key and client CA of the xDS port, kept current from their files. It is the
 * grpc-js certificate provider of the server credentials (both identity and CA).
 */
export class XdsTlsSource implements CertificateProvider {
  private material: Material;
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly caListeners = new Set<CaListener>();
  private readonly timer: NodeJS.Timeout;
  private readonly metrics: SecurityMetrics;
  /** The bytes last rejected, so a bad file is reported once, not at every poll. */
  private lastRejected: string | null = null;
  private reloading = false;

  private constructor(
    private readonly opts: XdsTlsOptions,
    initial: Material,
    private readonly log: Logger,
    registry: Registry,
  ) {
    this.material = initial;
    this.metrics = securityMetrics(registry);
    this.recordInForce();
    // Polling, not fs.watch: a symlink swap (Kubernetes Secret volumes, cert-manager) replaces
    // the directory entry the watch was set on, and inotify misses it.
    this.timer = setInterval(() => void this.reload(), opts.reloadIntervalMs ?? DEFAULT_TLS_RELOAD_INTERVAL_MS);
    this.timer.unref();
  }

  /** Loads the files; a bad set at start-up is an error (there is nothing older to keep). */
  static async load(opts: XdsTlsOptions, log: Logger, registry: Registry): Promise<XdsTlsSource> {
    const { cert, key, ca } = await readAll(opts);
    const material = checkTlsMaterial(opts, cert, key, ca);
    log.info(
      { certFile: opts.certFile, serial: material.serial, subject: material.subject, validTo: material.validTo, mutualTls: !!opts.clientCaFile },
      'xDS port serves TLS',
    );
    return new XdsTlsSource(opts, material, log, registry);
  }

  /** Whether clients must present a certificate (mutual TLS). */
  get requiresClientCertificate(): boolean {
    return !!this.opts.clientCaFile;
  }

  /** Serial number of the certificate in force (tests, logs). */
  get serial(): string {
    return this.material.serial;
  }

  /** grpc-js server credentials that follow this source. */
  credentials(): grpc.ServerCredentials {
    // grpc-js names the parameters the other way round; the first one is the identity provider.
    return grpc.experimental.createCertificateProviderServerCredentials(this, this.requiresClientCertificate ? this : null, this.requiresClientCertificate);
  }

  /** Compares the files with the material in force and takes them if they changed and load. */
  async reload(): Promise<void> {
    if (this.reloading) return;
    this.reloading = true;
    try {
      let read: Awaited<ReturnType<typeof readAll>>;
      try {
        read = await readAll(this.opts);
      } catch (err) {
        this.reject(err as BadTlsFile, `${(err as Error).message}`);
        return;
      }
      const { cert, key, ca } = read;
      const m = this.material;
      if (cert.equals(m.cert) && key.equals(m.key) && (ca === null || (m.ca !== null && ca.equals(m.ca)))) {
        this.lastRejected = null;
        return;
      }
      let next: Material;
      try {
        next = checkTlsMaterial(this.opts, cert, key, ca);
      } catch (err) {
        this.reject(err as BadTlsFile, `${cert.length}:${key.length}:${ca?.length}:${(err as Error).message}`);
        return;
      }
      this.lastRejected = null;
      const identityChanged = !cert.equals(m.cert) || !key.equals(m.key);
      const caChanged = ca !== null && (m.ca === null || !ca.equals(m.ca));
      this.material = next;
      this.metrics.tlsReloads.inc({ result: 'loaded' });
      this.recordInForce();
      this.log.info(
        { certFile: this.opts.certFile, serial: next.serial, previousSerial: m.serial, subject: next.subject, validTo: next.validTo, caChanged },
        'xDS TLS files changed: new connections get the new certificate; open streams keep theirs',
      );
      if (identityChanged) for (const l of this.identityListeners) l(this.identityUpdate());
      if (caChanged) for (const l of this.caListeners) l(this.caUpdate()!);
    } finally {
      this.reloading = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    // Later, not now: grpc-js registers its own watcher only after adding this listener, and an
    // update it has no watcher for yet would leave its server without a context.
    queueMicrotask(() => {
      if (this.identityListeners.has(listener)) listener(this.identityUpdate());
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    queueMicrotask(() => {
      if (this.caListeners.has(listener)) listener(this.caUpdate());
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  private identityUpdate() {
    return { certificate: this.material.cert, privateKey: this.material.key };
  }

  private caUpdate() {
    return this.material.ca ? { caCertificate: this.material.ca } : null;
  }

  private reject(err: BadTlsFile | Error, fingerprint: string): void {
    if (fingerprint === this.lastRejected) return;
    this.lastRejected = fingerprint;
    const file = err instanceof BadTlsFile ? err.file : this.opts.certFile;
    this.metrics.tlsReloads.inc({ result: 'rejected' });
    this.log.error({ file, err: err.message, keptSerial: this.material.serial }, 'xDS TLS file rejected: the certificate in force stays until the files load');
  }

  private recordInForce(): void {
    const notAfter = Date.parse(this.material.validTo);
    if (Number.isFinite(notAfter)) this.metrics.tlsCertificateExpiry.set(notAfter / 1000);
  }
}
