// A real gRPC server on a free loopback port implementing zkxds.demo.v1.Echo (protos/zkxds/demo/v1/echo.proto):
// Who answers with the backend's id, so end-to-end tests can see which backend served a call.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_DIR } from '../../src/xds/protos.js';

/** Absolute path of the test service definition (also loaded by the xDS client child). */
export const ECHO_PROTO_PATH = path.join(PROTO_DIR, 'zkxds', 'demo', 'v1', 'echo.proto');

/** Full gRPC service name and method path of the test service. */
export const ECHO_SERVICE = 'zkxds.demo.v1.Echo';

export interface EchoBackend {
  id: string;
  host: '127.0.0.1';
  port: number;
  /** Who calls answered so far. */
  callCount(): number;
  stop(): Promise<void>;
}

let echoService: grpc.ServiceDefinition | undefined;

function loadEchoService(): grpc.ServiceDefinition {
  if (echoService) return echoService;
  const def = protoLoader.loadSync(ECHO_PROTO_PATH, { keepCase: true, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    zkxds: { demo: { v1: { Echo: grpc.ServiceClientConstructor } } };
  };
  echoService = pkg.zkxds.demo.v1.Echo.service;
  return echoService;
}

export async function startEchoBackend(id: string): Promise<EchoBackend> {
  const server = new grpc.Server();
  let calls = 0;
  server.addService(loadEchoService(), {
    Who: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<{ backend: string }>) => {
      calls++;
      callback(null, { backend: id });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  let stopped: Promise<void> | undefined;
  return {
    id,
    host: '127.0.0.1',
    port,
    callCount: () => calls,
    stop: () => (stopped ??= shutdown(server)),
  };
}

/** Graceful shutdown, forced after a second so a lingering client connection cannot hang a test. */
export function shutdown(server: grpc.Server, graceMs = 1000): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
