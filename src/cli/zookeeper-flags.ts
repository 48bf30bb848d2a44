// The ZooKeeper flags `serve` and `validate` share, and the registry options they stand for, so
// that `validate` reads exactly the ensembles, roots and credentials `serve` would.
import { InvalidArgumentError, Option } from 'commander';
import type { ZkRegistryOptions } from '../registry/zk-registry.js';
import { validateSources } from '../registry/sources-config.js';
import { readYamlFile } from './yaml-file.js';

export interface ZooKeeperFlags {
  readonly zk: string;
  readonly zkRoot: string;
  readonly zkPolicyRoot: string;
  readonly zkSessionTimeoutMs: number;
  /** Path of a file holding `user:password` digest credentials for the `--zk` ensemble. */
  readonly zkAuthFile?: string;
  /** YAML/JSON file listing ensembles and roots (see registry/sources-config.ts); replaces --zk/--zk-root. */
  readonly sourcesFile?: string;
}

export function int(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

export function zkRootPath(value: string): string {
  if (!value.startsWith('/') || (value.length > 1 && value.endsWith('/'))) throw new InvalidArgumentError('expected an absolute ZooKeeper path like /services');
  return value;
}

export function zookeeperOptions(): Option[] {
  return [
    new Option('--zk <connect>', 'ZooKeeper connect string, host:port[,host:port...][/chroot]').env('ZKXDS_ZK').default('127.0.0.1:2181'),
    new Option('--zk-root <path>', 'znode whose children are services (auto layout; /dubbo is read too, as Dubbo 2)')
      .env('ZKXDS_ZK_ROOT')
      .default('/services')
      .argParser(zkRootPath),
    new Option('--zk-auth-file <path>', 'file holding ZooKeeper digest credentials user:password for --zk (never pass them on the command line)').env(
      'ZKXDS_ZK_AUTH_FILE',
    ),
    new Option(
      '--sources-file <path>',
      'YAML/JSON file listing ZooKeeper ensembles (connect, chroot, credentials file or env) and their roots; replaces --zk, --zk-root and --zk-auth-file',
    ).env('ZKXDS_SOURCES_FILE'),
    new Option('--zk-policy-root <path>', 'znode whose children hold per-service policy JSON')
      .env('ZKXDS_ZK_POLICY_ROOT')
      .default('/zk-xds/policy')
      .argParser(zkRootPath),
    new Option('--zk-session-timeout-ms <ms>', 'ZooKeeper session timeout').env('ZKXDS_ZK_SESSION_TIMEOUT_MS').default(10000).argParser(int(1000, 600000)),
  ];
}

/** The registry's options for these flags; a bad sources file throws with the field it found wrong. */
export function registryOptionsFrom(flags: ZooKeeperFlags, batching: { debounceMs: number; maxDelayMs: number }): ZkRegistryOptions {
  return {
    connect: flags.zk,
    root: flags.zkRoot,
    ...(flags.zkAuthFile ? { authFile: flags.zkAuthFile } : {}),
    ...(flags.sourcesFile ? { sources: validateSources(readYamlFile(flags.sourcesFile, 'sources file'), `sources file ${flags.sourcesFile}`) } : {}),
    policyRoot: flags.zkPolicyRoot,
    sessionTimeoutMs: flags.zkSessionTimeoutMs,
    ...batching,
  };
}
