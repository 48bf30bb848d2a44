// `serve` flags for sidecar scopes (catalog/scope.ts, publish/scoped-sidecar-views.ts).
import { InvalidArgumentError, Option } from 'commander';
import { zkRootPath } from './zookeeper-flags.js';

export interface ScopeFlags {
  /** What a sidecar whose node cluster has no scope is served: `all` (default) or `none`. */
  readonly scopeDefault?: 'all' | 'none';
  /** Parent znode of the explicit scope documents (default `/zk-xds/scope`). */
  readonly zkScopeRoot?: string;
  /** Learn scopes from Dubbo consumer registrations (default true). */
  readonly scopeFromConsumers?: boolean;
}

function onOff(value: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new InvalidArgumentError('expected true or false');
}

export function scopeOptions(): Option[] {
  return [
    new Option('--scope-default <all|none>', 'what an Envoy sidecar whose node cluster has no scope gets: every service (all) or nothing (none)')
      .env('ZKXDS_SCOPE_DEFAULT')
      .default('all')
      .choices(['all', 'none']),
    new Option('--zk-scope-root <path>', 'znode whose children, named by node cluster, hold sidecar scope JSON {"services": [...]}')
      .env('ZKXDS_ZK_SCOPE_ROOT')
      .default('/zk-xds/scope')
      .argParser(zkRootPath),
    new Option(
      '--scope-from-consumers [enabled]',
      'learn sidecar scopes from Dubbo consumer registrations (<dubbo root>/<interface>/consumers, application = node cluster)',
    )
      .env('ZKXDS_SCOPE_FROM_CONSUMERS')
      .default(true)
      .preset(true)
      .argParser(onOff),
  ];
}
