// The decoding probe proxy on its own, against any xDS server: one Envoy-style proxy that prints,
// as NDJSON on stdout, each endpoint (address:port) the first time a ClusterLoadAssignment brings
// it: {"endpoint":"10.0.0.1:20042","t":<epoch ms>}. Pair it with a log of your own writes (one new
// port per change) to time write -> receipt against a control plane that does not read ZooKeeper.
//   node dist/bench/loadgen/probe-main.js --server 127.0.0.1:18000 [--protocol sotw|delta] [--node-id endpoint-probe]
// It runs until stopped (SIGINT/SIGTERM); "synced" goes to stderr once it holds every cluster.
import { parseArgs } from 'node:util';
import { EndpointProbe } from './endpoint-probe.js';

const { values: a } = parseArgs({
  options: { server: { type: 'string' }, protocol: { type: 'string', default: 'sotw' }, 'node-id': { type: 'string', default: 'endpoint-probe' } },
  strict: true,
});
if (!a.server) {
  process.stderr.write('probe: --server host:port is required\n');
  process.exit(1);
}
if (a.protocol !== 'sotw' && a.protocol !== 'delta') {
  process.stderr.write('probe: --protocol must be sotw or delta\n');
  process.exit(1);
}
const probe = new EndpointProbe({
  server: a.server,
  protocol: a.protocol,
  nodeId: a['node-id']!,
  onFirstSeen: (endpoint, t) => process.stdout.write(`${JSON.stringify({ endpoint, t })}\n`),
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    probe.stop();
    process.exit(0);
  });
}
probe.start().then(() => process.stderr.write('synced\n'));
