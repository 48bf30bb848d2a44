#!/usr/bin/env node
// A proxyless gRPC client of the demo: dials xds:///<service> through zk-xds with gRPC's own xDS
// client (@grpc/grpc-js-xds) and prints which backend answered each call.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    xds: { type: 'string', default: '127.0.0.1:18000' },
    service: { type: 'string', default: 'demo' },
    calls: { type: 'string', default: '10' },
  },
});
// The bootstrap must be in place before grpc-js-xds reads it on the first xds:/// channel.
process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
  xds_servers: [{ server_uri: opts.xds, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
  node: { id: `demo-client-${process.pid}`, locality: {} },
});
const grpc = await import('@grpc/grpc-js');
const protoLoader = await import('@grpc/proto-loader');
const xds = await import('@grpc/grpc-js-xds');
xds.register();

const here = path.dirname(fileURLToPath(import.meta.url));
const protoPath = path.resolve(here, '../../protos/zkxds/demo/v1/echo.proto');
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, { keepCase: true, defaults: true }));
const client = new pkg.zkxds.demo.v1.Echo(`xds:///${opts.service}`, grpc.credentials.createInsecure());

const counts = {};
for (let i = 0; i < Number(opts.calls); i++) {
  const reply = await new Promise((resolve) => client.Who({}, { deadline: Date.now() + 5000 }, (err, r) => resolve(err ? `error: ${err.details}` : r.backend)));
  counts[reply] = (counts[reply] ?? 0) + 1;
}
console.log(JSON.stringify({ target: `xds:///${opts.service}`, calls: Number(opts.calls), answeredBy: counts }));
client.close();
process.exit(Object.keys(counts).some((k) => k.startsWith('error')) ? 1 : 0);
