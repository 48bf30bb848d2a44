// The setup most end-to-end tests share: a real ZooKeeper, real gRPC backends registered in it,
// zk-xds serving it in-process, and gRPC's own xDS client (in a child process) dialing one target.
import { expect } from '@jest/globals';
import { silentLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { serveConfig } from './serve-config.js';
import { ZooKeeperServer } from './zookeeper-server.js';
import { ZkTestClient } from './zk-test-client.js';
import { startEchoBackend, type EchoBackend } from './echo-backend.js';
import { XdsClientProcess } from './xds-client-process.js';
import { eventually } from './eventually.js';

export interface GrpcEndToEnd {
  readonly zk: ZooKeeperServer;
  /** A ZooKeeper session of the "applications": registrations are written through it. */
  readonly app: ZkTestClient;
  readonly server: RunningServer;
  readonly backends: EchoBackend[];
  readonly client: XdsClientProcess;
  stop(): Promise<void>;
}

/** NACKs the server received, over all types and proxies. */
export async function totalNacks(server: RunningServer): Promise<number> {
  return (await server.metrics.nacks.get()).values.reduce((sum, v) => sum + v.value, 0);
}

/**
 * Starts backends `backendIds`, lets `register` write their registrations (and any policy), starts
 * zk-xds once ZooKeeper holds them, and a gRPC xDS client for `xds:///<target>`.
 */
export async function startGrpcEndToEnd(options: {
  readonly backendIds: readonly string[];
  readonly register: (app: ZkTestClient, backends: readonly EchoBackend[]) => Promise<void>;
  readonly target: string;
  readonly nodeId: string;
}): Promise<GrpcEndToEnd> {
  const zk = await ZooKeeperServer.start();
  const app = await ZkTestClient.connect(zk.connectString);
  const backends = await Promise.all(options.backendIds.map((id) => startEchoBackend(id)));
  await options.register(app, backends);
  const server = await startServer(serveConfig(zk.connectString), silentLogger());
  await eventually(() => expect(server.registry.status().initialSyncDone).toBe(true));
  const client = await XdsClientProcess.start({ xdsServer: `127.0.0.1:${server.xdsPort}`, nodeId: options.nodeId, target: options.target });
  return {
    zk,
    app,
    server,
    backends,
    client,
    async stop() {
      await client.stop();
      await server.stop();
      await app.close();
      await Promise.all(backends.map((b) => b.stop()));
      await zk.destroy();
    },
  };
}
