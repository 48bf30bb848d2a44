#!/usr/bin/env node
// A proxyless gRPC caller under zk-xds's security policy: XdsChannelCredentials use mTLS with the
// bootstrap's certificate providers whenever the service's Cluster says so (mtls STRICT).
//   GRPC_XDS_BOOTSTRAP=deploy/zero-trust/bootstrap-client.json node deploy/zero-trust/web-client.mjs --service orders
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import grpcXds from '@grpc/grpc-js-xds';

const { values: opts } = parseArgs({ options: { service: { type: 'string', default: 'orders' }, count: { type: 'string', default: '5' } } });
grpcXds.register();
const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(path.resolve(here, '../../protos/zkxds/demo/v1/echo.proto'), { keepCase: true, defaults: true }));
const client = new pkg.zkxds.demo.v1.Echo(`xds:///${opts.service}`, new grpcXds.XdsChannelCredentials(grpc.credentials.createInsecure()));
for (let i = 0; i < Number(opts.count); i++) {
  await new Promise((resolve) =>
    client.Who({}, { deadline: Date.now() + 5000 }, (err, reply) => {
      console.log(err ? `failed: ${grpc.status[err.code]} ${err.details}` : `served by ${reply.backend}`);
      resolve();
    }),
  );
}
client.close();
