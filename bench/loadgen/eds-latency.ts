// Change -> arrival latency, offline: matches catalog changes (NDJSON lines {changed, at}, e.g. the
// output of catalog-server.ts --change-every-ms, or any driver's) with the EDS receipts the load
// generator recorded (--record-eds). For each change and each proxy that already held that
// ClusterLoadAssignment (a receipt before the change: its initial delivery is sync time, not
// change latency), the latency is its first receipt of the name at or after the change.
//   node dist/bench/loadgen/eds-latency.js --changes changes.ndjson --eds eds.ndjson
// Prints {changes, samples, missing, p50, p99, max} (ms) as JSON.
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { distribution } from './report.js';
import type { EdsReceipt } from './eds-recorder.js';

interface Change {
  readonly changed: string;
  readonly at: number;
}

const { values: a } = parseArgs({ options: { changes: { type: 'string' }, eds: { type: 'string' } } });
if (!a.changes || !a.eds) throw new Error('usage: eds-latency --changes <ndjson> --eds <ndjson>');

const changes: Change[] = readFileSync(a.changes, 'utf8')
  .split('\n')
  .filter((l) => l.includes('"changed"'))
  .map((l) => JSON.parse(l) as Change);
const watched = new Set(changes.map((c) => c.changed));

// name -> proxy -> receipt times (ascending as recorded per proxy).
const receipts = new Map<string, Map<number, number[]>>();
for await (const line of createInterface({ input: createReadStream(a.eds) })) {
  if (!line) continue;
  const r = JSON.parse(line) as EdsReceipt;
  for (const name of r.names) {
    if (!watched.has(name)) continue;
    let byProxy = receipts.get(name);
    if (!byProxy) receipts.set(name, (byProxy = new Map()));
    let times = byProxy.get(r.p);
    if (!times) byProxy.set(r.p, (times = []));
    times.push(r.t);
  }
}

const latencies: number[] = [];
let missing = 0;
for (const c of changes) {
  for (const times of receipts.get(c.changed)?.values() ?? []) {
    if (times[0]! >= c.at) continue;
    const t = times.find((x) => x >= c.at);
    if (t === undefined) missing++;
    else latencies.push(t - c.at);
  }
}
process.stdout.write(`${JSON.stringify({ changes: changes.length, samples: latencies.length, missing, ...distribution(latencies) })}\n`);
