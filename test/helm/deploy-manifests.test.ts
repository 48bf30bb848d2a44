// deploy/: the plain manifests (kustomize base generated from the chart), the ZooKeeper example,
// the Istio config-source examples and the Envoy bootstrap, validated against the same schemas as
// the chart and checked to point at each other: the names and ports one file uses are the ones
// another file defines.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IService } from 'kubernetes-models/v1/Service';
import { kubectl, parseObjects, PROJECT_ROOT, type KubeObject } from './kube-tools.js';
import { allSchemaErrors } from './kube-schema.js';
import { cliEnvVars } from './cli-env.js';
import { consistencyProblems, credentialLeaks, envOf, only, ofKind, zkXdsContainer } from './chart-checks.js';

const read = (file: string) => readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
const objectsOf = (file: string) => parseObjects(read(file), file);

function kustomized(): KubeObject[] {
  const r = kubectl(['kustomize', path.join(PROJECT_ROOT, 'deploy/kubernetes')]);
  if (r.status !== 0) throw new Error(`kubectl kustomize deploy/kubernetes failed: ${r.stderr}`);
  return parseObjects(r.stdout, 'kubectl kustomize deploy/kubernetes');
}

/** host:port of the zk-xds xDS port, as a client in the cluster dials it. */
function xdsAddress(objects: readonly KubeObject[]): { host: string; port: number } {
  const svc = ofKind<IService>(objects, 'Service').find((s) => s.spec!.ports!.some((p) => p.name === 'grpc-xds'))!;
  return { host: `${svc.metadata!.name}.${svc.metadata!.namespace}.svc`, port: svc.spec!.ports!.find((p) => p.name === 'grpc-xds')!.port };
}

describe('deploy/kubernetes', () => {
  it('zk-xds.yaml is what the chart renders with its defaults (scripts/render-deploy-manifests.mjs --check)', () => {
    const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts/render-deploy-manifests.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('kubectl kustomize builds it; every object passes the schemas and fits together', async () => {
    const objects = kustomized();
    expect(objects.map((o) => o.kind).sort()).toEqual(['Deployment', 'Namespace', 'PodDisruptionBudget', 'Service', 'Service', 'ServiceAccount']); // xDS and admin Services
    expect(await allSchemaErrors(objects)).toEqual([]);
    expect(consistencyProblems(objects)).toEqual([]);
    expect(credentialLeaks(objects, [])).toEqual([]);
    for (const o of objects.filter((x) => x.kind !== 'Namespace')) expect(o.metadata.namespace).toBe('zk-xds');
    for (const o of objects) expect(o.metadata.labels?.['app.kubernetes.io/managed-by']).toBeUndefined();
    const deployment = only<IDeployment>(objects, 'Deployment');
    expect(deployment.spec!.replicas).toBe(2);
    expect(zkXdsContainer(deployment).image).toBe('zk-xds:0.1.0');
  });

  it('sets only environment variables the CLI has', () => {
    const names = [...envOf(only<IDeployment>(kustomized(), 'Deployment')).keys()];
    const known = cliEnvVars();
    expect(names.filter((n) => !known.has(n))).toEqual([]);
  });
});

describe('deploy/zookeeper', () => {
  const objects = objectsOf('deploy/zookeeper/zookeeper.yaml');

  it('passes the schemas', async () => {
    expect(objects.map((o) => o.kind)).toEqual(['Namespace', 'Service', 'Service', 'PodDisruptionBudget', 'StatefulSet']);
    expect(await allSchemaErrors(objects)).toEqual([]);
  });

  it('is a 3-node ensemble whose server list names its own pods through its headless Service', () => {
    const sts = only<IStatefulSet>(objects, 'StatefulSet');
    expect(sts.spec!.replicas).toBe(3);
    const headless = ofKind<IService>(objects, 'Service').find((s) => s.metadata!.name === sts.spec!.serviceName)!;
    expect(headless.spec!.clusterIP).toBe('None');
    expect(headless.spec!.publishNotReadyAddresses).toBe(true);
    const env = new Map(sts.spec!.template.spec!.containers[0]!.env!.map((e) => [e.name, e.value]));
    const servers = env.get('ZOO_SERVERS')!.split(/\s+/);
    const ns = sts.metadata!.namespace;
    expect(servers).toEqual(
      [0, 1, 2].map((i) => `server.${i + 1}=${sts.metadata!.name}-${i}.${headless.metadata!.name}.${ns}.svc.cluster.local:2888:3888;2181`),
    );
  });

  it('is where zk-xds looks by default: the client Service matches the chart default connect string', () => {
    const zkConnect = envOf(only<IDeployment>(kustomized(), 'Deployment')).get('ZKXDS_ZK')!;
    const client = ofKind<IService>(objects, 'Service').find((s) => s.spec!.clusterIP !== 'None')!;
    expect(zkConnect).toBe(`${client.metadata!.name}.${client.metadata!.namespace}.svc.cluster.local:${client.spec!.ports![0]!.port}`);
  });
});

describe('deploy/istio', () => {
  it('IstioOperator passes the Istio schema and points istiod at the zk-xds Service, keeping k8s://', async () => {
    const objects = objectsOf('deploy/istio/istio-operator.yaml');
    expect(await allSchemaErrors(objects)).toEqual([]);
    const { host, port } = xdsAddress(kustomized());
    const operator = only<{ spec: { meshConfig: { configSources: Array<{ address: string }> } } }>(objects, 'IstioOperator');
    expect(operator.spec.meshConfig.configSources).toEqual([{ address: `xds://${host}:${port}` }, { address: 'k8s://' }]);
  });

  it('the istiod Helm values carry the same config sources', () => {
    const values = parse(read('deploy/istio/istiod-values.yaml')) as { meshConfig: unknown };
    const operator = only<{ spec: { meshConfig: unknown } }>(objectsOf('deploy/istio/istio-operator.yaml'), 'IstioOperator');
    expect(values).toEqual({ meshConfig: operator.spec.meshConfig });
  });
});

describe('deploy/envoy/bootstrap.yaml', () => {
  it('sends ADS to the xDS port of the zk-xds Service', () => {
    const bootstrap = parse(read('deploy/envoy/bootstrap.yaml')) as {
      static_resources: {
        clusters: Array<{
          name: string;
          load_assignment: {
            endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { address: string; port_value: number } } } }> }>;
          };
        }>;
      };
    };
    const cluster = bootstrap.static_resources.clusters.find((c) => c.name === 'zk-xds')!;
    const socket = cluster.load_assignment.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address;
    const { host, port } = xdsAddress(kustomized());
    expect(`${socket.address}:${socket.port_value}`).toBe(`${host}.cluster.local:${port}`);
  });
});

describe('deploy/envoy (kustomize: bootstrap ConfigMap + an application with an Envoy sidecar)', () => {
  function built(): KubeObject[] {
    const r = kubectl(['kustomize', path.join(PROJECT_ROOT, 'deploy/envoy')]);
    if (r.status !== 0) throw new Error(`kubectl kustomize deploy/envoy failed: ${r.stderr}`);
    return parseObjects(r.stdout, 'kubectl kustomize deploy/envoy');
  }

  it('passes the schemas', async () => {
    const objects = built();
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment']);
    expect(await allSchemaErrors(objects)).toEqual([]);
  });

  it('mounts bootstrap.yaml unchanged where the Envoy container reads it, with the pod name as node id', () => {
    const objects = built();
    const configMap = only<{ metadata: { name: string }; data: Record<string, string> }>(objects, 'ConfigMap');
    expect(configMap.data['bootstrap.yaml']).toBe(read('deploy/envoy/bootstrap.yaml'));
    const pod = only<IDeployment>(objects, 'Deployment').spec!.template.spec!;
    const envoy = pod.containers.find((c) => c.name === 'envoy')!;
    const volume = pod.volumes!.find((v) => v.configMap?.name === configMap.metadata.name)!;
    const mount = envoy.volumeMounts!.find((m) => m.name === volume.name)!;
    const args = envoy.args!;
    expect(args[args.indexOf('--config-path') + 1]).toBe(path.posix.join(mount.mountPath, 'bootstrap.yaml'));
    expect(args[args.indexOf('--service-node') + 1]).toBe('$(POD_NAME)');
    expect(envoy.env!.find((e) => e.name === 'POD_NAME')!.valueFrom!.fieldRef!.fieldPath).toBe('metadata.name');
    // The application reaches the sidecar's listeners on the address zk-xds gives them.
    const listen = envOf(only<IDeployment>(kustomized(), 'Deployment')).get('ZKXDS_SIDECAR_LISTEN_ADDRESS');
    expect(pod.hostAliases!.map((h) => h.ip)).toEqual([listen]);
  });

  it('gives every container resource requests (the scheduler places the pod by them) and a memory limit', () => {
    const pod = only<IDeployment>(built(), 'Deployment').spec!.template.spec!;
    for (const c of pod.containers) {
      expect([c.name, Object.keys(c.resources?.requests ?? {}).sort(), Object.keys(c.resources?.limits ?? {})]).toEqual([
        c.name,
        ['cpu', 'memory'],
        ['memory'],
      ]);
    }
  });
});
