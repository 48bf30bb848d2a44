// `--k8s-service-entries`: the catalog as ServiceEntry objects through the Kubernetes API. Wires
// the translator (with Istio's webhook rules), the writer, and the leader election that decides
// which replica writes. Every replica follows the catalog; only the leader writes.
import type { CatalogStore } from '../catalog/catalog-store.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { serviceEntryFor, type ServiceEntryOptions } from '../translate/service-entry.js';
import { loadKubeConfig, ServiceEntryClient } from './kube-client.js';
import { FIELD_MANAGER, KubernetesWriter, MANAGED_BY_LABEL, MANAGED_BY_VALUE, type ObjectBuilder, type WriterMetrics } from './kubernetes-writer.js';
import { LeaderElection } from './leader-election.js';
import type { ZkConnectionOptions } from '../zookeeper/connection.js';
import { checkServiceEntry } from '../translate/service-entry-checks.js';

export interface KubernetesServiceEntriesConfig {
  /** Where the replicas elect the writer: the registry's primary ensemble. */
  readonly zk: ZkConnectionOptions;
  /** The same entry options the MCP route uses (namespace, revision, exportTo, domain suffix). */
  readonly entries: ServiceEntryOptions;
  readonly kubeconfig?: string;
  readonly leaderElectionPath: string;
  readonly writesPerSecond: number;
}

export interface KubernetesServiceEntries {
  readonly writer: KubernetesWriter;
  readonly election: LeaderElection;
  stop(): Promise<void>;
}

export function startKubernetesServiceEntries(
  config: KubernetesServiceEntriesConfig,
  catalog: CatalogStore,
  catalogReady: () => boolean,
  log: Logger,
  metrics: WriterMetrics & Pick<Metrics, 'leader'>,
): KubernetesServiceEntries {
  const client = new ServiceEntryClient(loadKubeConfig(config.kubeconfig), config.entries.namespace, FIELD_MANAGER);
  const build = serviceEntryBuilder(config.entries);
  const writer = new KubernetesWriter(
    { writesPerSecond: config.writesPerSecond },
    { client, build, catalogReady, log: log.child({ component: 'k8s-writer' }), metrics },
  );
  writer.updateServices(catalog.snapshot().values());
  catalog.onChange((change) => writer.updateServices(change.upserts));
  const election = new LeaderElection(
    { zk: config.zk, path: config.leaderElectionPath },
    { onElected: () => writer.activate(), onRevoked: () => void writer.deactivate() },
    log.child({ component: 'leader-election' }),
    metrics.leader,
  );
  election.start();
  log.info(
    { server: client.server, namespace: config.entries.namespace, leaderElectionPath: config.leaderElectionPath },
    'keeping ServiceEntries in Kubernetes when elected leader',
  );
  return {
    writer,
    election,
    async stop() {
      await election.stop();
      await writer.deactivate();
    },
  };
}

/** The translator's entry, labelled as ours; entries Istio's webhook would refuse are errors (the previous entry stays). */
export function serviceEntryBuilder(options: ServiceEntryOptions): ObjectBuilder {
  const opts: ServiceEntryOptions = { ...options, labels: { ...options.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } };
  return (service) => {
    const entry = serviceEntryFor(service, opts);
    if (!entry) return undefined;
    const { errors } = checkServiceEntry(entry.spec, entry.metadata);
    if (errors.length > 0) throw new Error(`Istio would reject the ServiceEntry: ${errors.join('; ')}`);
    return entry;
  };
}
