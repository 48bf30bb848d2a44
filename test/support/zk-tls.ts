// Certificates and server settings for a real ZooKeeper serving TLS on its secure client port with
// client authentication: a test CA (openssl) signs a server and a client certificate; the server
// gets a PKCS12 keystore (openssl) and truststore (keytool, from the JDK), and the Netty connection
// factory (the NIO one has no TLS). A second CA signs an "intruder" client certificate that the
// server must refuse.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts, type ZooKeeperServerOptions } from './zookeeper-server.js';
import { makeCa, makeLeaf, runIn } from './test-certs.js';

export interface ClientPem {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface ZkTlsSetup {
  readonly dir: string;
  readonly securePort: number;
  /** Options for ZooKeeperServer.start(): the secure port, its stores, Netty. */
  readonly serverOptions: ZooKeeperServerOptions;
  /** Files of a client the server trusts (its CA also signed the server). */
  readonly client: ClientPem;
  /** A client certificate signed by another CA (it trusts the server's CA, the server does not trust it). */
  readonly intruder: ClientPem;
  remove(): void;
}

/** Netty's codec and resolver are not on zookeeper.jar's manifest class path. */
const NETTY_JARS = ['/usr/share/java/netty-codec.jar', '/usr/share/java/netty-resolver.jar'];
const STORE_PASSWORD = 'test-store-password';

const run = (cmd: string, args: string[], cwd: string): void => runIn(cwd, cmd, args);

export async function zkTlsSetup(): Promise<ZkTlsSetup> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zk-tls-'));
  makeCa(dir, 'test-ca');
  makeCa(dir, 'other-ca');
  makeLeaf(dir, 'server', 'test-ca');
  makeLeaf(dir, 'client', 'test-ca');
  makeLeaf(dir, 'intruder', 'other-ca');
  run('openssl', ['pkcs12', '-export', '-in', 'server.pem', '-inkey', 'server.key', '-out', 'server.p12', '-passout', `pass:${STORE_PASSWORD}`], dir);
  run(
    'keytool',
    ['-importcert', '-noprompt', '-alias', 'test-ca', '-file', 'test-ca.pem', '-keystore', 'trust.p12', '-storetype', 'PKCS12', '-storepass', STORE_PASSWORD],
    dir,
  );
  const [securePort] = await freePorts(1);
  const f = (name: string) => path.join(dir, name);
  return {
    dir,
    securePort: securePort!,
    serverOptions: {
      extraClasspath: NETTY_JARS,
      // Keys ZooKeeper does not know become zookeeper.* system properties (serverCnxnFactory, ssl.*).
      extraConfig: [
        `secureClientPort=${securePort}`,
        'secureClientPortAddress=127.0.0.1',
        'serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory',
        `ssl.keyStore.location=${f('server.p12')}`,
        `ssl.keyStore.password=${STORE_PASSWORD}`,
        'ssl.keyStore.type=PKCS12',
        `ssl.trustStore.location=${f('trust.p12')}`,
        `ssl.trustStore.password=${STORE_PASSWORD}`,
        'ssl.trustStore.type=PKCS12',
        'ssl.clientAuth=need',
      ],
    },
    client: { caFile: f('test-ca.pem'), certFile: f('client.pem'), keyFile: f('client.key') },
    intruder: { caFile: f('test-ca.pem'), certFile: f('intruder.pem'), keyFile: f('intruder.key') },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
