// @ts-check
// Child program of test/support/xds-server-process.ts: a proxyless gRPC server (grpc-js-xds XdsServer,
// gRFC A36) serving zkxds.demo.v1.Echo on one ip:port. It takes its Listener (TLS, RBAC) from the
// xDS server named in its bootstrap (GRPC_XDS_BOOTSTRAP_CONFIG, set by the parent), and records the
// peer identity of every call it answers, so tests can see that a call really came over mTLS.
//
// Plain JavaScript on purpose (see xds-client-child.mjs).
// Usage: node xds-server-child.mjs <id> <ip:port> <echo.proto path>   (forked with an IPC channel)
//   parent -> child  {op: 'peers', id}   {op: 'exit'}
//   child -> parent  {type: 'ready'}  {type: 'serving', port}  {type: 'peers', id, peers: {<peer>: count}}
//                    {type: 'fatal', message}
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import grpcXds from '@grpc/grpc-js-xds';

const [id, address, protoPath] = process.argv.slice(2);

/** @param {unknown} msg */
function send(msg) {
  if (process.send && process.connected) process.send(msg);
}

function fatal(/** @type {unknown} */ err) {
  send({ type: 'fatal', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
}

process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);
process.on('disconnect', () => process.exit(0));
if (!id || !address || !protoPath) fatal(new Error('usage: xds-server-child.mjs <id> <ip:port> <echo.proto>'));

/** Calls answered, by peer: "plaintext" or the URI SAN(s) of the client certificate. */
const peers = /** @type {Record<string, number>} */ ({});

// Registers grpc-js-xds's HTTP filters (router, RBAC) too: without it every Listener is NACKed.
grpcXds.register();
const def = protoLoader.loadSync(protoPath, { keepCase: true, defaults: true });
const pkg = /** @type {any} */ (grpc.loadPackageDefinition(def));
const server = new grpcXds.XdsServer();
server.addService(pkg.zkxds.demo.v1.Echo.service, {
  Who: (/** @type {any} */ call, /** @type {any} */ callback) => {
    const auth = call.getAuthContext();
    const cert = auth?.sslPeerCertificate;
    const peer = cert?.subjectaltname ? cert.subjectaltname : auth?.transportSecurityType === 'ssl' ? 'tls without a client certificate' : 'plaintext';
    peers[peer] = (peers[peer] ?? 0) + 1;
    callback(null, { backend: id });
  },
});
// Plaintext whenever the Listener has no transport_socket; mTLS as the Listener says otherwise.
server.bindAsync(address, new grpcXds.XdsServerCredentials(grpc.ServerCredentials.createInsecure()), (err, port) => {
  if (err) fatal(err);
  else send({ type: 'serving', port });
});

process.on('message', (/** @type {any} */ msg) => {
  if (msg?.op === 'exit') {
    server.forceShutdown();
    process.exit(0);
  }
  if (msg?.op === 'peers') send({ type: 'peers', id: msg.id, peers: { ...peers } });
});

send({ type: 'ready' });
