// A zk-xds xDS server over a generated catalog (no ZooKeeper), in its own process, for load runs:
//   node dist/bench/loadgen/catalog-server.js [--services 1000] [--instances 10] [--change-every-ms 0]
// Prints {"address": "127.0.0.1:port"} on stdout once serving; on SIGTERM/SIGINT prints its own CPU
// use as JSON and exits. With --change-every-ms, republishes one service (round robin, one instance
// more or less each time) and prints {"changed", "at"} (epoch ms) per change, for latency matching.
import { parseArgs } from 'node:util';
import { startHarness } from '../../test/support/xds-harness.js';
import { service } from '../../test/support/catalog-fixtures.js';

const { values: a } = parseArgs({
  options: { services: { type: 'string', default: '1000' }, instances: { type: 'string', default: '10' }, 'change-every-ms': { type: 'string', default: '0' } },
});
const S = Number(a.services);
const I = Number(a.instances);
const changeEveryMs = Number(a['change-every-ms']);
const name = (i: number) => `svc-${String(i).padStart(5, '0')}`;
const print = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

const cpuAtStart = process.cpuUsage();
const startedAt = performance.now();
const h = await startHarness(Array.from({ length: S }, (_, i) => service(name(i), I)));
print({ address: h.address, services: S, instances: I, readyMs: Math.round(performance.now() - startedAt) });

let changes = 0;
const timer =
  changeEveryMs > 0
    ? setInterval(() => {
        const i = changes % S;
        const grow = Math.floor(changes / S) % 2 === 0;
        changes++;
        const at = performance.timeOrigin + performance.now();
        h.publish(service(name(i), grow ? I + 1 : I));
        print({ changed: name(i), at });
      }, changeEveryMs)
    : undefined;

const stop = async () => {
  if (timer) clearInterval(timer);
  const cpu = process.cpuUsage(cpuAtStart);
  const wallMs = performance.now() - startedAt;
  print({
    cpu: {
      userMs: Math.round(cpu.user / 1000),
      systemMs: Math.round(cpu.system / 1000),
      coreUtilization: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 1000) / 1000,
    },
    wallMs: Math.round(wallMs),
    maxRssMb: Math.round(process.memoryUsage.rss() / (1 << 20)),
  });
  await h.server.shutdown(1000);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
