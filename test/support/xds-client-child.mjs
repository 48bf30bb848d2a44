// @ts-check
// Child program of test/support/xds-client-process.ts: one proxyless gRPC xDS client per process,
// because @grpc/grpc-js-xds registers the xds: scheme globally and reads its bootstrap from the
// environment (GRPC_XDS_BOOTSTRAP_CONFIG, set by the parent).
//
// Plain JavaScript on purpose: it is started with child_process.fork() straight from a jest test,
// so it must run on bare Node 20 without ts-jest or a build step.
//
// Usage: node xds-client-child.mjs <target> <echo.proto path>   (forked with an IPC channel)
// Protocol, over the IPC channel only (stdout/stderr carry nothing the parent parses):
//   parent -> child  {op: 'call', id, n, deadlineMs, waitForReady?}   n sequential zkxds.demo.v1.Echo/Who calls
//                    {op: 'exit'}
//   child -> parent  {type: 'ready', pid}
//                    {type: 'result', id, results: [{ok: true, backend} | {ok: false, code, details}]}
//                    {type: 'fatal', message}
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import grpcXds from '@grpc/grpc-js-xds';

const [target, protoPath] = process.argv.slice(2);

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
// The parent went away (exited, crashed or was killed): never outlive it.
process.on('disconnect', () => process.exit(0));

if (!process.send) {
  console.error('xds-client-child: must be started with child_process.fork (IPC channel)');
  process.exit(2);
}
if (!target || !protoPath) fatal(new Error('usage: xds-client-child.mjs <target> <echo.proto>'));

grpcXds.register();
const def = protoLoader.loadSync(protoPath, { keepCase: true, defaults: true });
const pkg = /** @type {any} */ (grpc.loadPackageDefinition(def));
// ZKXDS_CHILD_CREDENTIALS=xds: mTLS when the Cluster carries an UpstreamTlsContext (gRFC A29).
const credentials =
  process.env.ZKXDS_CHILD_CREDENTIALS === 'xds' ? new grpcXds.XdsChannelCredentials(grpc.credentials.createInsecure()) : grpc.credentials.createInsecure();
const client = new pkg.zkxds.demo.v1.Echo(`xds:///${target}`, credentials);

/**
 * @param {number} deadlineMs
 * @param {boolean} [waitForReady] queue the call while the channel is not READY, instead of failing it
 * @returns {Promise<{ok: true, backend: string} | {ok: false, code: number, details: string}>}
 */
function who(deadlineMs, waitForReady = false) {
  return new Promise((resolve) => {
    client.Who({}, new grpc.Metadata({ waitForReady }), { deadline: Date.now() + deadlineMs }, (/** @type {any} */ err, /** @type {any} */ reply) => {
      if (err) resolve({ ok: false, code: err.code ?? grpc.status.UNKNOWN, details: String(err.details ?? err.message) });
      else resolve({ ok: true, backend: String(reply.backend) });
    });
  });
}

// Requests are served one at a time, in arrival order, so calls never overlap.
let queue = Promise.resolve();
process.on('message', (/** @type {any} */ msg) => {
  if (msg?.op === 'exit') {
    client.close();
    process.disconnect?.();
    process.exit(0);
  }
  if (msg?.op !== 'call') return;
  queue = queue.then(async () => {
    const results = [];
    for (let i = 0; i < msg.n; i++) results.push(await who(msg.deadlineMs, msg.waitForReady === true));
    send({ type: 'result', id: msg.id, results });
  });
});

send({ type: 'ready', pid: process.pid });
