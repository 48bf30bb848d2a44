// xDS load generator CLI: simulates many Envoy sidecars or proxyless gRPC clients against any xDS
// server (it speaks only the xDS protocol), and reports how fast they all got synced.
//
//   node dist/bench/loadgen/main.js --server 127.0.0.1:18000 --proxies 2000 \
//     [--protocol sotw|delta] [--style envoy|grpc] [--targets svc-:1000 [--target-digits 5]] \
//     [--workers K] [--per-connection 100] [--duration-s S | --timeout-s 300] \
//     [--disconnect-at-s X [--reconnect]] [--record-eds eds.ndjson] [--node-id 'loadgen-{i}'] [--node-cluster 'loadgen'] \
//     [--out report.json] [--per-proxy] [--quiet]
//
// The report is one JSON object on stdout; progress goes to stderr. Without --duration-s the run
// ends once every proxy is synced (and, after a storm with --reconnect, re-synced).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EdsRecorder } from './eds-recorder.js';
import { buildReport, type LoadReport } from './report.js';
import { runLoadRaw, type Protocol, type Style, type TargetSpec } from './run.js';
import { isWorkerProcess, runWorkers, workerMain, type PlainLoadOptions } from './workers.js';

interface Cli {
  readonly options: PlainLoadOptions;
  readonly workers: number;
  readonly recordEds: string | null;
  readonly out: string | null;
  readonly perProxy: boolean;
  readonly quiet: boolean;
}

function parseCli(argv: string[]): Cli {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string' },
      proxies: { type: 'string', default: '100' },
      protocol: { type: 'string', default: 'sotw' },
      style: { type: 'string', default: 'envoy' },
      targets: { type: 'string' },
      'target-digits': { type: 'string', default: '5' },
      workers: { type: 'string', default: '1' },
      'per-connection': { type: 'string', default: '100' },
      'duration-s': { type: 'string' },
      'timeout-s': { type: 'string', default: '300' },
      'disconnect-at-s': { type: 'string' },
      reconnect: { type: 'boolean', default: false },
      'record-eds': { type: 'string' },
      'node-id': { type: 'string', default: 'loadgen-{i}' },
      'node-cluster': { type: 'string', default: 'loadgen' },
      out: { type: 'string' },
      'per-proxy': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!a.server) throw new Error('--server host:port is required');
  const protocol = oneOf<Protocol>('--protocol', a.protocol!, ['sotw', 'delta']);
  const style = oneOf<Style>('--style', a.style!, ['envoy', 'grpc']);
  const targets = a.targets === undefined ? undefined : parseTargets(a.targets, count('--target-digits', a['target-digits']!, 0));
  if (style === 'grpc' && !targets) throw new Error('--style grpc needs --targets <prefix>:<count>');
  const options: PlainLoadOptions = {
    server: a.server,
    proxies: count('--proxies', a.proxies!, 1),
    protocol,
    style,
    ...(targets ? { targets } : {}),
    proxiesPerConnection: count('--per-connection', a['per-connection']!, 1),
    nodeIdTemplate: a['node-id']!,
    nodeClusterTemplate: a['node-cluster']!,
    timeoutS: seconds('--timeout-s', a['timeout-s']!),
    ...(a['duration-s'] !== undefined ? { durationS: seconds('--duration-s', a['duration-s']) } : {}),
    ...(a['disconnect-at-s'] !== undefined ? { disconnectAtS: seconds('--disconnect-at-s', a['disconnect-at-s']), reconnect: a.reconnect! } : {}),
  };
  if (a.reconnect && options.disconnectAtS === undefined) throw new Error('--reconnect needs --disconnect-at-s');
  return {
    options,
    workers: count('--workers', a.workers!, 1),
    recordEds: a['record-eds'] ?? null,
    out: a.out ?? null,
    perProxy: a['per-proxy']!,
    quiet: a.quiet!,
  };
}

function parseTargets(spec: string, digits: number): TargetSpec {
  const at = spec.lastIndexOf(':');
  if (at < 0) throw new Error(`--targets ${spec}: expected <prefix>:<count>, e.g. svc-:1000`);
  return { prefix: spec.slice(0, at), count: count('--targets count', spec.slice(at + 1), 1), digits };
}

function oneOf<T extends string>(flag: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw new Error(`${flag} must be one of ${allowed.join(', ')}`);
  return v as T;
}

function count(flag: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer >= ${min}`);
  return n;
}

function seconds(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a number of seconds`);
  return n;
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  const progress = cli.quiet ? undefined : (line: string) => process.stderr.write(`[loadgen] ${line}\n`);
  let report: LoadReport;
  const ctx = { server: cli.options.server, protocol: cli.options.protocol, style: cli.options.style, proxies: cli.options.proxies, workers: cli.workers };
  if (cli.workers > 1) {
    const parts = await runWorkers(fileURLToPath(import.meta.url), cli.options, cli.workers, cli.recordEds, !cli.quiet);
    report = buildReport(ctx, parts, cli.perProxy);
  } else {
    const recorder = cli.recordEds ? new EdsRecorder(cli.recordEds) : null;
    const raw = await runLoadRaw({ ...cli.options, ...(recorder ? { onResponse: recorder.onResponse } : {}), ...(progress ? { progress } : {}) });
    await recorder?.close();
    report = buildReport(ctx, [raw], cli.perProxy);
  }
  const json = JSON.stringify(report, null, 2);
  if (cli.out) writeFileSync(cli.out, `${json}\n`);
  // Waits for the write: stdout to a pipe is asynchronous and the process exits right after.
  await new Promise<void>((resolve) => process.stdout.write(`${json}\n`, () => resolve()));
}

const fail = (err: Error) => {
  process.stderr.write(`loadgen: ${err.message}\n`);
  process.exit(1);
};
// A worker exits once its result is sent; the parent exits once the report is out (grpc-js can
// hold the loop for a moment after its channels close).
if (isWorkerProcess()) workerMain().catch(fail);
else main().then(() => process.exit(0), fail);
