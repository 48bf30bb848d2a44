#!/usr/bin/env node
// The zk-xds command line. Every flag can also be set by an environment variable (shown in --help),
// which is how the container and the Helm chart configure it.
import { Command, Option, InvalidArgumentError, type CommanderError } from 'commander';
import { createLogger } from '../observability/logger.js';
import { startServer, type ServeConfig } from './serve.js';
import { scopeOptions } from './scope-flags.js';
import { CommandFailure, EXIT } from './admin-client.js';
import { packageVersion } from './version.js';
import { statusCommand } from './status-command.js';
import { inspectCommand } from './inspect-command.js';
import { validateCommand, type ValidateOptions } from './validate-command.js';

import { int, zkRootPath, zookeeperOptions } from './zookeeper-flags.js';
import { streamLimitOptions } from './stream-limit-flags.js';
import { xdsTlsOptions } from './xds-tls-flags.js';
import { isDnsLabel, isLabelValue } from '../translate/kubernetes-names.js';
import { DEFAULT_DROPPED_LABELS } from '../translate/endpoint-labels.js';

function bool(value: string): boolean {
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off|)$/i.test(value)) return false;
  throw new InvalidArgumentError('expected true or false');
}

function dnsLabel(value: string): string {
  if (!isDnsLabel(value)) throw new InvalidArgumentError('expected a Kubernetes namespace name (lowercase letters, digits and -, at most 63)');
  return value;
}

function labelValue(value: string): string {
  if (!isLabelValue(value)) throw new InvalidArgumentError('expected a Kubernetes label value (letters, digits, ., _ and -, at most 63)');
  return value;
}

/** `*`, `.`, `~` or namespace names, comma-separated. */
function exportToList(value: string): string[] {
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) throw new InvalidArgumentError('expected *, . or namespace names, comma-separated');
  for (const e of entries) if (e !== '*' && e !== '.' && e !== '~') dnsLabel(e);
  return entries;
}

/** `a,b,prefix*`: metadata keys; an empty value is an empty list (every key becomes a label). */
function keyList(value: string): string[] {
  return value
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
}

export function buildProgram(): Command {
  const program = new Command('zk-xds')
    .description('Serves services registered in ZooKeeper to Envoy and proxyless gRPC over xDS')
    .version(packageVersion(), '-V, --version', 'print the zk-xds version')
    .exitOverride(exitOnUsageError);
  withUsageHint(program);

  const serve = program
    .command('serve')
    .showHelpAfterError(usageHint('serve'))
    .description('watch ZooKeeper and serve xDS (ADS and CDS/EDS/RDS/LDS) plus the admin port');
  for (const option of zookeeperOptions()) serve.addOption(option);
  for (const option of streamLimitOptions()) serve.addOption(option);
  for (const option of xdsTlsOptions()) serve.addOption(option);
  for (const option of scopeOptions()) serve.addOption(option);
  serve
    .addOption(
      new Option('--bind-address <ip>', 'address the xDS port (and the admin port unless --admin-bind-address) listens on')
        .env('ZKXDS_BIND_ADDRESS')
        .default('0.0.0.0'),
    )
    .addOption(new Option('--xds-port <port>', 'gRPC xDS port').env('ZKXDS_XDS_PORT').default(18000).argParser(int(0, 65535)))
    .addOption(new Option('--admin-bind-address <ip>', 'address the admin port listens on (default: --bind-address)').env('ZKXDS_ADMIN_BIND_ADDRESS'))
    .addOption(
      adminTokenFileOption(
        'file holding the bearer token /debug/* requires from non-loopback connections (re-read when it changes); unset: /debug answers only loopback',
      ),
    )
    .addOption(
      new Option('--admin-port <port>', 'HTTP port for /healthz, /readyz, /metrics and /debug/* (proxies, config_dump, catalog, resources)')
        .env('ZKXDS_ADMIN_PORT')
        .default(9901)
        .argParser(int(0, 65535)),
    )
    .addOption(
      new Option(
        '--debounce-ms <ms>',
        'quiet time that closes a batch of ZooKeeper changes (0: the batch closes at the end of the event-loop turn its changes arrived in)',
      )
        .env('ZKXDS_DEBOUNCE_MS')
        .default(0)
        .argParser(int(0, 60000)),
    )
    .addOption(new Option('--max-delay-ms <ms>', 'longest a change waits in a batch').env('ZKXDS_MAX_DELAY_MS').default(100).argParser(int(1, 600000)))
    .addOption(
      new Option(
        '--min-push-interval-ms <ms>',
        'least time between two pushes of changes to one proxy stream; under churn the changes of the interval go out together (an idle stream is pushed at once)',
      )
        .env('ZKXDS_MIN_PUSH_INTERVAL_MS')
        .default(100)
        .argParser(int(0, 10000)),
    )
    .addOption(
      new Option(
        '--max-ack-wait-ms <ms>',
        "flow control: a proxy's next push of a type waits for its ACK or NACK of the previous one, at most this long (0 = never waits; answers to requests never wait)",
      )
        .env('ZKXDS_MAX_ACK_WAIT_MS')
        .default(0)
        .argParser(int(0, 600000)),
    )
    .addOption(
      new Option(
        '--retire-grace-ms <ms>',
        'longest a resource no longer referenced stays served while proxies have not ACKed the change that dropped it (make before break)',
      )
        .env('ZKXDS_RETIRE_GRACE_MS')
        .default(10000)
        .argParser(int(0, 600000)),
    )
    .addOption(
      new Option(
        '--retire-subscribed-max-ms <ms>',
        'longest such a resource stays while a proxy still subscribes to it by name (gRPC keeps watching unused clusters for 15 minutes)',
      )
        .env('ZKXDS_RETIRE_SUBSCRIBED_MAX_MS')
        .default(1200000)
        .argParser(int(0, 86400000)),
    )
    .addOption(
      new Option('--domain-suffix <suffix>', 'suffix of the host names Envoy sidecars route (orders.<suffix>); empty for none')
        .env('ZKXDS_DOMAIN_SUFFIX')
        .default(''),
    )
    .addOption(
      new Option('--sidecar-listen-address <ip>', "address Envoy sidecars' outbound listeners bind to")
        .env('ZKXDS_SIDECAR_LISTEN_ADDRESS')
        .default('127.0.0.1'),
    )
    .addOption(
      new Option('--istio-namespace <ns>', 'namespace of the Istio ServiceEntries (served to istiod over MCP, written with --k8s-service-entries)')
        .env('ZKXDS_ISTIO_NAMESPACE')
        .default('zk-xds')
        .argParser(dnsLabel),
    )
    .addOption(
      new Option('--istio-revision <rev>', 'Istio revision (istio.io/rev label) of the ServiceEntries; empty for the default revision')
        .env('ZKXDS_ISTIO_REVISION')
        .default('')
        .argParser(labelValue),
    )
    .addOption(
      new Option('--istio-export-to <list>', 'exportTo of the ServiceEntries: *, . or namespaces, comma-separated')
        .env('ZKXDS_ISTIO_EXPORT_TO')
        .default(['*'], '*')
        .argParser(exportToList),
    )
    .addOption(
      new Option(
        '--istio-dropped-labels <keys>',
        'instance metadata keys never made ServiceEntry endpoint labels (volatile or internal ones, e.g. Dubbo pid and timestamp), comma-separated; key* for a prefix; replaces the default list',
      )
        .env('ZKXDS_ISTIO_DROPPED_LABELS')
        .default([...DEFAULT_DROPPED_LABELS], DEFAULT_DROPPED_LABELS.join(','))
        .argParser(keyList),
    )
    .addOption(
      new Option('--k8s-service-entries [enabled]', 'keep ServiceEntry objects in --istio-namespace through the Kubernetes API (one elected replica writes)')
        .env('ZKXDS_K8S_SERVICE_ENTRIES')
        .default(false)
        .preset(true)
        .argParser(bool),
    )
    .addOption(new Option('--kubeconfig <path>', 'kubeconfig file; unset: the pod service account in a cluster, else ~/.kube/config').env('KUBECONFIG'))
    .addOption(
      new Option('--leader-election-path <path>', 'znode under which replicas elect the one that writes to Kubernetes')
        .env('ZKXDS_LEADER_ELECTION_PATH')
        .default('/zk-xds/leader')
        .argParser(zkRootPath),
    )
    .addOption(
      new Option('--k8s-writes-per-second <n>', 'most Kubernetes API writes per second (bursts up to the same number)')
        .env('ZKXDS_K8S_WRITES_PER_SECOND')
        .default(20)
        .argParser(int(1, 10000)),
    )
    .addOption(
      new Option(
        '--workers <n>',
        'serving processes, this one included: N-1 workers beside it serve xDS streams from the catalog it reads from ZooKeeper once (more cores for many proxies)',
      )
        .env('ZKXDS_WORKERS')
        .default(1)
        .argParser(int(1, 64)),
    )
    .addOption(
      new Option(
        '--worker-hung-timeout-ms <ms>',
        'with --workers: a serving worker that has not answered the main process for this long is killed and started again (0 = never); one silent for 3 s already gets no new connections',
      )
        .env('ZKXDS_WORKER_HUNG_TIMEOUT_MS')
        .default(30000)
        .argParser(int(0, 3600000)),
    )
    .addOption(
      new Option('--log-level <level>', 'pino log level')
        .env('ZKXDS_LOG_LEVEL')
        .default('info')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    )
    .action(async (opts: ServeConfig & { logLevel: string }) => {
      const log = createLogger(opts.logLevel);
      const starting = startServer(opts, log);
      // Installed before start-up finishes, so that a SIGTERM during it still ends in a clean stop.
      const shutdown = (signal: string) => {
        log.info({ signal }, 'signal received');
        starting
          .then((server) => server.stop())
          .then(
            () => process.exit(0),
            (err: Error) => {
              log.error({ err: err.message }, 'shutdown failed');
              process.exit(1);
            },
          );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
      await starting;
    });
  addOperatorCommands(program);
  return program;
}

/** A usage error names itself in one line and points to the help, instead of printing all of it. */
function usageHint(command?: string): string {
  return `(run "zk-xds ${command ? `${command} ` : ''}--help" for usage)`;
}

function withUsageHint(program: Command): void {
  program.showHelpAfterError(usageHint());
}

/**
 * Commander's own exits: help and --version end with 0; a usage error (unknown flag or command,
 * missing or invalid argument, no command at all) with 2, as is customary, so that scripts can
 * tell it from `validate`'s 1 ("rejections found").
 */
function exitOnUsageError(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
}

// Returns nothing: process.stdout.write's boolean must never reach the exit code.
const write = (text: string): void => {
  process.stdout.write(text);
};

/** Runs a one-shot command and exits with its code once stdout is flushed (a closed ZooKeeper handle may linger). */
async function oneShot(run: () => Promise<unknown>): Promise<void> {
  const result = await run();
  const code = typeof result === 'number' ? result : EXIT.ok;
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}
const adminTokenFileOption = (what: string) => new Option('--admin-token-file <path>', what).env('ZKXDS_ADMIN_TOKEN_FILE');
const adminOption = () => new Option('--admin <url>', 'admin URL of a running zk-xds').env('ZKXDS_ADMIN_URL').default('http://127.0.0.1:9901');

/** status, inspect and validate: what operators run when a proxy misbehaves. */
function addOperatorCommands(program: Command): void {
  program
    .command('status')
    .showHelpAfterError(usageHint('status'))
    .description('every connected proxy and, per type, whether it ACKed what it was sent (SYNCED, STALE, NACKED)')
    .addOption(adminOption())
    .addOption(adminTokenFileOption('file holding the bearer token to send to the admin port (see serve --admin-token-file)'))
    .addOption(new Option('-o, --output <format>', 'table or json').choices(['table', 'json']).default('table'))
    .action((opts: { admin: string; adminTokenFile?: string; output: 'table' | 'json' }) => oneShot(() => statusCommand(opts, write)));
  program
    .command('inspect')
    .showHelpAfterError(usageHint('inspect'))
    .description("a service's registrations as read, the ones skipped and why, and the xDS resources it became")
    .argument('<service>', 'service name')
    .addOption(adminOption())
    .addOption(adminTokenFileOption('file holding the bearer token to send to the admin port (see serve --admin-token-file)'))
    .addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .action((service: string, opts: { admin: string; adminTokenFile?: string; output: 'text' | 'json' }) =>
      oneShot(() => inspectCommand(service, opts, write)),
    );
  const validate = program
    .command('validate')
    .showHelpAfterError(usageHint('validate'))
    .description('read the ZooKeeper tree once and report every registration and policy zk-xds would reject (exit 1 if any); serves nothing');
  for (const option of zookeeperOptions()) validate.addOption(option);
  validate
    .addOption(new Option('--timeout-ms <ms>', 'give up (exit 2) if the tree cannot be read in this time').default(15000).argParser(int(100, 600000)))
    .addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .action((opts: ValidateOptions) => oneShot(() => validateCommand(opts, write)));
}

buildProgram()
  .parseAsync(process.argv)
  .catch((err: Error) => {
    process.stderr.write(`zk-xds: ${err.message}\n`);
    process.exit(err instanceof CommandFailure ? err.exitCode : 1);
  });
