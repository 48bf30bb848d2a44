#!/usr/bin/env node
// Demo backends for `make run`: starts real gRPC servers (zkxds.demo.v1.Echo) on loopback and
// registers each in ZooKeeper as an ephemeral JSON znode, the way an application would.
// When this process exits, its ZooKeeper session closes and the registrations disappear.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import ZooKeeper from 'zookeeper';

const { values: opts } = parseArgs({
  options: {
    zk: { type: 'string', default: '127.0.0.1:2181' },
    root: { type: 'string', default: '/services' },
    service: { type: 'string', default: 'demo' },
    count: { type: 'string', default: '2' },
  },
});
const here = path.dirname(fileURLToPath(import.meta.url));
const protoPath = path.resolve(here, '../../protos/zkxds/demo/v1/echo.proto');
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, { keepCase: true, defaults: true }));
const Echo = pkg.zkxds.demo.v1.Echo;

const zk = new ZooKeeper({ connect: opts.zk, timeout: 10000, debug_level: 0, host_order_deterministic: false });
await new Promise((resolve) => {
  zk.once('connect', resolve);
  zk.init({});
});
const servicePath = `${opts.root}/${opts.service}`;
await createParents(servicePath);

const servers = [];
for (let i = 1; i <= Number(opts.count); i++) {
  const id = `${opts.service}-${i}`;
  const server = new grpc.Server();
  server.addService(Echo.service, { Who: (_call, cb) => cb(null, { backend: id }) });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const registration = { id, address: '127.0.0.1', port, weight: 1, metadata: { version: 'v1', protocol: 'grpc' } };
  await zk.create(`${servicePath}/127.0.0.1:${port}`, JSON.stringify(registration), ZooKeeper.constants.ZOO_EPHEMERAL);
  servers.push(server);
  console.log(JSON.stringify({ msg: 'demo backend registered', id, address: `127.0.0.1:${port}`, znode: `${servicePath}/127.0.0.1:${port}` }));
}

/** Creates each missing znode on the way to `path` (another process may create them too). */
async function createParents(path) {
  let at = '';
  for (const part of path.split('/').filter(Boolean)) {
    at += `/${part}`;
    if (!(await zk.pathExists(at, false))) {
      await zk.create(at, '', 0).catch((err) => {
        if (!String(err.message).startsWith('-110')) throw err; // -110: created meanwhile
      });
    }
  }
}

const stop = () => {
  zk.close();
  for (const s of servers) s.forceShutdown();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
