// TLS to an ensemble's secure client port. Lives with the connection; the sources file only carries it.

/** PEM files: the CA that signed the servers' certificates, and this client's certificate and key. */
export interface ZkTlsConfig {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}
