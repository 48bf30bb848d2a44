// `serve` flags for TLS on the xDS port (ADS, delta and MCP share it) and the identity check of
// mutual TLS; builds what XdsServer takes from them (src/xds/tls-credentials.ts, peer-identity.ts).
import { Option } from 'commander';
import type * as grpc from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import type { Logger } from '../observability/logger.js';
import { DEFAULT_TLS_RELOAD_INTERVAL_MS, XdsTlsSource } from '../xds/tls-credentials.js';
import { IdentityPolicy, identityPolicyFrom } from '../xds/peer-identity.js';
import { readYamlFile } from './yaml-file.js';
import { int } from './zookeeper-flags.js';

/** What commander hands over for these flags. */
export interface XdsTlsFlags {
  readonly xdsTlsCertFile?: string;
  readonly xdsTlsKeyFile?: string;
  readonly xdsTlsClientCaFile?: string;
  readonly xdsIdentitiesFile?: string;
  readonly xdsTlsReloadIntervalMs?: number;
}

export function xdsTlsOptions(): Option[] {
  return [
    new Option('--xds-tls-cert-file <path>', 'PEM certificate (chain) the xDS port serves TLS with; re-read when it changes; unset: plaintext').env(
      'ZKXDS_XDS_TLS_CERT_FILE',
    ),
    new Option('--xds-tls-key-file <path>', 'PEM private key of --xds-tls-cert-file').env('ZKXDS_XDS_TLS_KEY_FILE'),
    new Option(
      '--xds-tls-client-ca-file <path>',
      "PEM CA bundle client certificates must chain to; set: mutual TLS, and each stream's identity must match the node cluster it claims",
    ).env('ZKXDS_XDS_TLS_CLIENT_CA_FILE'),
    new Option(
      '--xds-identities-file <path>',
      'YAML/JSON map of client identities (URI SAN, DNS SAN or CN) to the node clusters they may claim besides their own name ("*": any)',
    ).env('ZKXDS_XDS_IDENTITIES_FILE'),
    new Option('--xds-tls-reload-interval-ms <ms>', 'how often the TLS files are checked for changes')
      .env('ZKXDS_XDS_TLS_RELOAD_INTERVAL_MS')
      .default(DEFAULT_TLS_RELOAD_INTERVAL_MS)
      .argParser(int(100, 3_600_000)),
  ];
}

export interface XdsTransport {
  readonly credentials: grpc.ServerCredentials;
  /** Set with mutual TLS. */
  readonly identities?: IdentityPolicy;
  readonly source: XdsTlsSource;
}

/** TLS of the xDS port from the flags; null for plaintext. Throws a clear error for a bad combination or file. */
export async function xdsTransportFrom(flags: XdsTlsFlags, log: Logger, registry: Registry): Promise<XdsTransport | null> {
  const { xdsTlsCertFile: certFile, xdsTlsKeyFile: keyFile, xdsTlsClientCaFile: clientCaFile, xdsIdentitiesFile } = flags;
  if (!certFile && !keyFile) {
    if (clientCaFile) throw new Error('--xds-tls-client-ca-file needs --xds-tls-cert-file and --xds-tls-key-file');
    if (xdsIdentitiesFile) throw new Error('--xds-identities-file needs mutual TLS (--xds-tls-client-ca-file)');
    return null;
  }
  if (!certFile || !keyFile) throw new Error('--xds-tls-cert-file and --xds-tls-key-file go together');
  if (xdsIdentitiesFile && !clientCaFile) throw new Error('--xds-identities-file needs mutual TLS (--xds-tls-client-ca-file)');
  const identities = clientCaFile
    ? xdsIdentitiesFile
      ? identityPolicyFrom(readYamlFile(xdsIdentitiesFile, 'identities file'), `identities file ${xdsIdentitiesFile}`)
      : new IdentityPolicy()
    : undefined;
  const source = await XdsTlsSource.load(
    { certFile, keyFile, ...(clientCaFile ? { clientCaFile } : {}), reloadIntervalMs: flags.xdsTlsReloadIntervalMs ?? DEFAULT_TLS_RELOAD_INTERVAL_MS },
    log,
    registry,
  );
  if (identities)
    log.info(
      { mappedIdentities: identities.size },
      'xDS clients must present a certificate; each identity may claim its own node cluster and those the identities file maps',
    );
  return { credentials: source.credentials(), ...(identities ? { identities } : {}), source };
}
