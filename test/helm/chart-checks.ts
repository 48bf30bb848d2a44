// Checks of a rendered zk-xds install that no schema can make: that the objects refer to each
// other correctly (selectors, port names, volumes, Secrets), that the pod is hardened, and that no
// credential travels in an environment variable or an argument. Shared by the chart test and the
// test of the plain manifests in deploy/kubernetes, which must describe the same install.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { KubeObject } from './kube-tools.js';

export const ADMIN_PORT_NAME = 'http-admin';
export const XDS_PORT_NAME = 'grpc-xds';

export function ofKind<T>(objects: readonly KubeObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as unknown as T[];
}

export function only<T>(objects: readonly KubeObject[], kind: string): T {
  const found = ofKind<T>(objects, kind);
  if (found.length !== 1) throw new Error(`expected exactly one ${kind}, found ${found.length}`);
  return found[0]!;
}

export function zkXdsContainer(deployment: IDeployment): IContainer {
  const c = deployment.spec!.template.spec!.containers.find((x) => x.name === 'zk-xds');
  if (!c) throw new Error('the Deployment has no container named zk-xds');
  return c;
}

export function envOf(deployment: IDeployment): Map<string, string> {
  const env = new Map<string, string>();
  for (const e of zkXdsContainer(deployment).env ?? []) {
    if (e.valueFrom) throw new Error(`env ${e.name} comes from valueFrom: the chart passes only plain values (credentials go in files)`);
    env.set(e.name, e.value ?? '');
  }
  return env;
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Problems in how the objects of one install fit together; empty when there are none. */
export function consistencyProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  const deployment = only<IDeployment>(objects, 'Deployment');
  const pod = deployment.spec!.template;
  const podLabels = pod.metadata?.labels;
  const container = zkXdsContainer(deployment);
  const containerPorts = new Set((container.ports ?? []).map((p) => p.name));

  if (!matches(deployment.spec!.selector.matchLabels, podLabels)) problems.push('Deployment selector does not select its own pods');
  for (const name of [XDS_PORT_NAME, ADMIN_PORT_NAME]) if (!containerPorts.has(name)) problems.push(`container has no port named ${name}`);

  // Probes: liveness on /healthz, readiness on /readyz, both on the admin port.
  const probes = { livenessProbe: '/healthz', readinessProbe: '/readyz' } as const;
  for (const [probe, pathWanted] of Object.entries(probes) as Array<[keyof typeof probes, string]>) {
    const get = container[probe]?.httpGet;
    if (get?.path !== pathWanted || get.port !== ADMIN_PORT_NAME) problems.push(`${probe} is not GET ${pathWanted} on ${ADMIN_PORT_NAME}`);
  }

  // Hardening.
  const podSec = pod.spec!.securityContext ?? {};
  const sec = container.securityContext ?? {};
  if (podSec.runAsNonRoot !== true && sec.runAsNonRoot !== true) problems.push('runAsNonRoot is not set');
  if (sec.readOnlyRootFilesystem !== true) problems.push('readOnlyRootFilesystem is not set');
  if (sec.allowPrivilegeEscalation !== false) problems.push('allowPrivilegeEscalation is not false');
  if (JSON.stringify(sec.capabilities?.drop) !== '["ALL"]' || sec.capabilities?.add?.length) problems.push('capabilities are not exactly drop: [ALL]');
  if ((sec.seccompProfile ?? podSec.seccompProfile)?.type !== 'RuntimeDefault') problems.push('seccompProfile is not RuntimeDefault');
  if (!container.resources?.requests?.memory || !container.resources?.limits?.memory) problems.push('memory request and limit are not both set');

  // Every mount has a volume; every ConfigMap and chart-made Secret a volume names is rendered.
  const volumes = new Map((pod.spec!.volumes ?? []).map((v) => [v.name, v]));
  for (const m of container.volumeMounts ?? []) if (!volumes.has(m.name)) problems.push(`volumeMount ${m.name} has no volume`);
  const rendered = (kind: string, name: string) => objects.some((o) => o.kind === kind && o.metadata.name === name);
  for (const v of volumes.values()) {
    if (v.configMap && !rendered('ConfigMap', v.configMap.name!)) problems.push(`volume ${v.name} names ConfigMap ${v.configMap.name}, which is not rendered`);
  }

  // Services select the pods, and their target ports are container ports.
  for (const svc of ofKind<IService>(objects, 'Service')) {
    if (!matches(svc.spec!.selector, podLabels)) problems.push(`Service ${svc.metadata!.name} does not select the zk-xds pods`);
    for (const p of svc.spec!.ports ?? []) {
      if (typeof p.targetPort !== 'string' || !containerPorts.has(p.targetPort))
        problems.push(`Service port ${p.name} targets ${String(p.targetPort)}, not a named container port`);
    }
  }
  for (const pdb of ofKind<IPodDisruptionBudget>(objects, 'PodDisruptionBudget')) {
    if (!matches(pdb.spec!.selector?.matchLabels, podLabels)) problems.push('PodDisruptionBudget does not select the zk-xds pods');
  }

  // The pod uses a ServiceAccount that exists (or the namespace's default).
  const sa = pod.spec!.serviceAccountName ?? 'default';
  if (sa !== 'default' && !rendered('ServiceAccount', sa) && objects.some((o) => o.kind === 'ServiceAccount'))
    problems.push(`pod runs as ServiceAccount ${sa}, which is not rendered`);
  return problems;
}

/** Secrets must reach the process as files: a literal value that looks like user:password in env or args is a leak. */
export function credentialLeaks(objects: readonly KubeObject[], secrets: readonly string[]): string[] {
  const leaks: string[] = [];
  const deployment = only<IDeployment>(objects, 'Deployment');
  for (const c of [...deployment.spec!.template.spec!.containers, ...(deployment.spec!.template.spec!.initContainers ?? [])]) {
    const places = [
      ...(c.env ?? []).map((e) => [`env ${e.name}`, e.value ?? ''] as const),
      ...[...(c.args ?? []), ...(c.command ?? [])].map((a) => ['args', a] as const),
    ];
    for (const [where, value] of places) {
      if (secrets.some((s) => value.includes(s))) leaks.push(`${c.name} ${where} holds a credential`);
    }
    for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) leaks.push(`${c.name} env ${e.name} reads a Secret into the environment`);
    for (const e of c.envFrom ?? []) if (e.secretRef) leaks.push(`${c.name} envFrom reads Secret ${e.secretRef.name} into the environment`);
  }
  return leaks;
}
