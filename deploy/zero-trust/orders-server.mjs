#!/usr/bin/env node
// A proxyless gRPC server under zk-xds's security policy: grpc-js-xds XdsServer takes its Listener
// (mTLS, RBAC) from zk-xds, then registers itself in ZooKeeper at the address it serves, which is
// how zk-xds knows which service's policy this server enforces.
//   GRPC_XDS_BOOTSTRAP=deploy/zero-trust/bootstrap-server.json GRPC_XDS_EXPERIMENTAL_RBAC=true \
//     node deploy/zero-trust/orders-server.mjs --zk 127.0.0.1:12181 --port 50051
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import grpcXds from '@grpc/grpc-js-xds';
import ZooKeeper from 'zookeeper';

const { values: opts } = parseArgs({
  options: {
    zk: { type: 'string', default: '127.0.0.1:2181' },
    root: { type: 'string', default: '/services' },
    service: { type: 'string', default: 'orders' },
    // The address in the registration, in the server Listener's name and in bindAsync must be the same.
    address: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '50051' },
  },
});
grpcXds.register(); // the router and RBAC HTTP filters; without it every server Listener is rejected
const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(path.resolve(here, '../../protos/zkxds/demo/v1/echo.proto'), { keepCase: true, defaults: true }));

const id = `${opts.service}-${opts.port}`;
const server = new grpcXds.XdsServer();
server.addService(pkg.zkxds.demo.v1.Echo.service, {
  Who: (call, cb) => {
    const peer = call.getAuthContext()?.sslPeerCertificate?.subjectaltname ?? 'plaintext';
    console.log(`Who from ${peer}`);
    cb(null, { backend: id });
  },
});

// Register first: the server starts listening only once zk-xds sent its Listener, and zk-xds builds
// that Listener for addresses where a service has a registered instance.
const zk = new ZooKeeper({ connect: opts.zk, timeout: 10000, debug_level: 0, host_order_deterministic: false });
await new Promise((resolve) => {
  zk.once('connect', resolve);
  zk.init({});
});
let parent = '';
for (const part of `${opts.root}/${opts.service}`.split('/').filter(Boolean)) {
  parent += `/${part}`;
  await zk.create(parent, '', ZooKeeper.constants.ZOO_PERSISTENT).catch(() => undefined);
}
await zk.create(`${parent}/${id}`, JSON.stringify({ address: opts.address, port: Number(opts.port) }), ZooKeeper.constants.ZOO_EPHEMERAL);

// Plaintext when the Listener has no TLS (mtls DISABLE, PERMISSIVE); mTLS as it says otherwise.
server.bindAsync(`${opts.address}:${opts.port}`, new grpcXds.XdsServerCredentials(grpc.ServerCredentials.createInsecure()), (err) => {
  if (err) throw err;
  console.log(`${id} serving on ${opts.address}:${opts.port} with the Listener from zk-xds`);
});
