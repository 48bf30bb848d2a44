// `zk-xds validate`: reads the live ZooKeeper tree once, with the very registry, parsers and policy
// validation `serve` uses, and reports every registration and policy that would be rejected.
// Serves nothing. Exit 0 when all is well, 1 when something would be rejected, 2 when ZooKeeper
// could not be read.
import { ZkRegistry } from '../registry/zk-registry.js';
import type { InvalidRegistration, PolicyError } from '../catalog/registry-problems.js';
import { createMetrics } from '../observability/metrics.js';
import { silentLogger } from '../observability/logger.js';
import { CommandFailure, EXIT } from './admin-client.js';
import { registryOptionsFrom, type ZooKeeperFlags } from './zookeeper-flags.js';

export interface ValidateOptions extends ZooKeeperFlags {
  readonly timeoutMs: number;
  readonly output: 'text' | 'json';
}

export interface ValidationReport {
  readonly services: number;
  readonly registrations: number;
  readonly rejectedRegistrations: InvalidRegistration[];
  readonly rejectedPolicies: PolicyError[];
}

/** Returns the exit code. */
export async function validateCommand(opts: ValidateOptions, out: (text: string) => void): Promise<number> {
  const report = await readOnce(opts);
  out(opts.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, opts));
  return report.rejectedRegistrations.length + report.rejectedPolicies.length > 0 ? EXIT.findings : EXIT.ok;
}

async function readOnce(opts: ValidateOptions): Promise<ValidationReport> {
  // Each ensemble publishes its own batch: keep the latest of every service.
  const read = new Map<string, number>();
  const registry = new ZkRegistry(registryOptionsFrom(opts, { debounceMs: 0, maxDelayMs: 1 }), {
    // The report is the output; the registry's own warnings would repeat it.
    log: silentLogger(),
    metrics: createMetrics({ defaultMetrics: false }),
    onServices: (list) => {
      for (const s of list) read.set(s.name, s.instances.length);
    },
  });
  let timer: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), opts.timeoutMs)));
  const deniedRoots = () => registry.status().ensembles.flatMap((e) => e.unreadableRoots.map((r) => `${e.name}:${r.path} (${r.reason})`));
  // A refused root is retried by the registry, which would only end at the timeout: report it at once.
  const denied = new Promise<'denied'>((resolve) => (poll = setInterval(() => deniedRoots().length > 0 && resolve('denied'), 100)));
  try {
    const outcome = await Promise.race([registry.start().then(() => 'read' as const), timedOut, denied]);
    if (outcome !== 'read' && deniedRoots().length > 0) throw new CommandFailure(`ZooKeeper denied reading ${deniedRoots().join(', ')}`, EXIT.unreachable);
    if (outcome !== 'read') {
      throw new CommandFailure(
        `could not read ZooKeeper at ${opts.sourcesFile ? `the ensembles of ${opts.sourcesFile}` : opts.zk} within ${opts.timeoutMs} ms (unreachable, or the session never came up)`,
        EXIT.unreachable,
      );
    }
    const rejectedRegistrations = registry.invalidRegistrations();
    const registrations = [...read.values()].reduce((n, count) => n + count, 0);
    return {
      services: read.size,
      registrations: registrations + rejectedRegistrations.length,
      rejectedRegistrations,
      rejectedPolicies: registry.policyErrors(),
    };
  } finally {
    clearTimeout(timer);
    clearInterval(poll);
    await registry.stop();
  }
}

/** What was read: the sources file, else the single ensemble and root of the flags. */
function sourceOf(opts: Pick<ValidateOptions, 'zk' | 'zkRoot' | 'sourcesFile'>): string {
  return opts.sourcesFile ? `the ensembles of ${opts.sourcesFile}` : `${opts.zk} ${opts.zkRoot}`;
}

export function formatReport(r: ValidationReport, opts: Pick<ValidateOptions, 'zk' | 'zkRoot' | 'zkPolicyRoot' | 'sourcesFile'>): string {
  const lines = [`read ${sourceOf(opts)}: ${r.services} service(s), ${r.registrations} registration(s); policies under ${opts.zkPolicyRoot}`];
  lines.push('', `rejected registrations: ${r.rejectedRegistrations.length}`);
  for (const s of r.rejectedRegistrations) lines.push(`  ${s.path}: ${s.reason}`);
  lines.push('', `rejected policies: ${r.rejectedPolicies.length}`);
  for (const p of r.rejectedPolicies) {
    lines.push(`  ${p.path}:`);
    for (const e of p.errors) lines.push(`    ${e.field || '(document)'}: ${e.message}`);
  }
  lines.push(
    '',
    r.rejectedRegistrations.length + r.rejectedPolicies.length > 0 ? 'INVALID: zk-xds would skip the entries above' : 'OK: zk-xds would accept everything',
  );
  return `${lines.join('\n')}\n`;
}
