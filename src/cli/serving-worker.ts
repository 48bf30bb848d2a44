// A serving worker of `serve --workers N` (forked by serving-workers.ts; not a command of its own).
// It runs the serving part (serving-part.ts) fed over IPC by the main process: the configuration,
// the catalog's changes, the scope book and the warm signal. It never listens and never reads
// ZooKeeper: the main hands it accepted xDS connections. It exits when the main goes away.
import type net from 'node:net';
import { createLogger, type Logger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { Counter } from 'prom-client';
import { proxyRows } from '../admin/debug-routes.js';
import { buildServingPart, type ServingPart } from './serving-part.js';
import { xdsTransportFrom, type XdsTransport } from './xds-tls-flags.js';
import { fromEpochMs, parseMainMessage, type MainMessage, type WorkerMessage, type WorkerQuestion } from './worker-messages.js';
import { configDump } from '../admin/config-dump.js';
import { streamsByNode } from '../admin/proxy-status.js';

interface Running {
  readonly part: ServingPart;
  readonly adopt: (socket: net.Socket) => void;
  readonly metrics: Metrics;
  readonly transport: XdsTransport | null;
  readonly log: Logger;
}

if (!process.send) {
  process.stderr.write('zk-xds: serving-worker.js is started by `zk-xds serve --workers N`, not by hand\n');
  process.exit(2);
}

const send = (message: WorkerMessage): void => {
  if (process.connected) process.send!(message);
};

let running: Running | null = null;
let starting = false;
/** Messages that came before the serving part was built, in order. */
const queued: Array<[MainMessage, unknown]> = [];
let invalidMessages: Counter | null = null;
let stopping = false;
/** Until the config names the log level. */
const bootLog = createLogger('info').child({ worker: 'worker' });

// The main died (or closed the channel): no orphan stays behind holding proxies' streams.
process.on('disconnect', () => process.exit(0));

process.on('message', (raw: unknown, handle: unknown) => {
  const message = parseMainMessage(raw);
  if ('invalid' in message) {
    invalidMessages?.inc();
    (running?.log ?? bootLog).warn({ reason: message.invalid }, 'serving worker: malformed message from the main process; dropped');
    if (handle) (handle as net.Socket).destroy?.();
    return;
  }
  if (message.kind === 'config') {
    if (running || starting) return;
    starting = true;
    start(message).catch((err: Error) => {
      send({ kind: 'failed', reason: err.message });
      process.exit(1);
    });
    return;
  }
  if (!running) queued.push([message, handle]);
  else handle_(running, message, handle);
});

async function start(message: Extract<MainMessage, { kind: 'config' }>): Promise<void> {
  const log = createLogger(message.logLevel).child({ worker: `worker-${message.worker}` });
  const metrics = createMetrics();
  invalidMessages = new Counter({
    name: 'zkxds_serving_worker_invalid_messages_total',
    help: 'Messages from the main process a serving worker could not read (dropped)',
    registers: [metrics.registry],
  });
  // The same TLS files as the main's xDS port: the handshake of a handed-over connection happens here.
  const transport = await xdsTransportFrom(message.config, log.child({ component: 'xds-tls' }), metrics.registry);
  const part = buildServingPart(message.config, { log, metrics, transport });
  part.scopes.connect(part.xds);
  running = { part, adopt: part.xds.adopter(), metrics, transport, log };
  for (const [m, h] of queued.splice(0)) handle_(running, m, h);
  send({ kind: 'ready', pid: process.pid });
}

function handle_(r: Running, message: MainMessage, handle: unknown): void {
  switch (message.kind) {
    case 'services':
      r.part.catalog.offer(message.services, fromEpochMs(message.observedAtEpochMs));
      return;
    case 'scopes':
      r.part.scopes.book.replace(message.state);
      return;
    case 'warm':
      r.part.gate.open();
      send({ kind: 'warm-ack' });
      return;
    case 'connection': {
      const socket = handle as net.Socket | undefined;
      if (!socket || typeof socket.destroy !== 'function') {
        r.log.warn('serving worker: a connection message came without its socket; dropped');
        return;
      }
      if (stopping) socket.destroy();
      else r.adopt(socket);
      return;
    }
    case 'request':
      answer(r, message.id, message.question).catch((err: Error) => {
        r.log.warn({ question: message.question.what, err: err.message }, 'serving worker could not answer the main process');
        send({ kind: 'answer', id: message.id, body: null });
      });
      return;
    case 'shutdown':
      if (stopping) return;
      stopping = true;
      void r.part.xds.shutdown(message.graceMs).then(() => {
        r.transport?.source.close();
        process.exit(0);
      });
      return;
    case 'config':
      return;
  }
}

async function answer(r: Running, id: number, question: WorkerQuestion): Promise<void> {
  const { part } = r;
  let body: unknown;
  switch (question.what) {
    case 'metrics':
      body = await r.metrics.registry.getMetricsAsJSON();
      break;
    case 'proxies':
      body = proxyRows({ xds: part.xds, catalog: part.catalog, publisher: part.publisher, scopes: { describe: (node) => part.scopes.views.describe(node) } });
      break;
    case 'config-dump':
      body = configDump(question.node, streamsByNode(part.xds).get(question.node) ?? [], question.type);
      break;
    case 'ping':
      body = null;
      break;
  }
  send({ kind: 'answer', id, body });
}
