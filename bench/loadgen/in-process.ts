// The same load as main.ts, but with zk-xds (over a generated catalog) in the same process and on
// the same event loop: the quickest setup, and the one in which server and generator compete for
// one thread. The CPU figures then cover both.
//   node dist/bench/loadgen/in-process.js [--services 1000] [--instances 10] [--proxies 2000] [--protocol sotw] [--style envoy]
import { parseArgs } from 'node:util';
import { startHarness } from '../../test/support/xds-harness.js';
import { service } from '../../test/support/catalog-fixtures.js';
import { runLoad, type Protocol, type Style } from './run.js';

const { values: a } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    instances: { type: 'string', default: '10' },
    proxies: { type: 'string', default: '2000' },
    protocol: { type: 'string', default: 'sotw' },
    style: { type: 'string', default: 'envoy' },
    'per-connection': { type: 'string', default: '100' },
  },
});
const S = Number(a.services);
const h = await startHarness(Array.from({ length: S }, (_, i) => service(`svc-${String(i).padStart(5, '0')}`, Number(a.instances))));
const report = await runLoad({
  server: h.address,
  proxies: Number(a.proxies),
  protocol: a.protocol as Protocol,
  style: a.style as Style,
  targets: { prefix: 'svc-', count: S, digits: 5 },
  proxiesPerConnection: Number(a['per-connection']),
  progress: (line) => process.stderr.write(`[in-process] ${line}\n`),
});
process.stdout.write(`${JSON.stringify({ ...report, note: 'server and load generator share this process: cpu covers both' }, null, 2)}\n`, () =>
  process.exit(0),
);
