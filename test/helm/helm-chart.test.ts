// charts/zk-xds with the real helm binary: lint --strict and template with every values file in
// test/helm, every rendered object validated against the Kubernetes / Istio / Prometheus Operator
// schemas, and the behaviour the values promise (RBAC only in CR mode, credentials only as files,
// env vars the CLI really has, values.schema.json rejecting bad values).
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { ICertificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { CHART_DIR, helm, PROJECT_ROOT, renderChart, type KubeObject } from './kube-tools.js';
import { allSchemaErrors } from './kube-schema.js';
import { CLI_MAIN, cliEnvVars } from './cli-env.js';
import { podEnvOnThisMachine } from './cli-run.js';
import { CliProcess } from '../support/cli-process.js';
import { consistencyProblems, credentialLeaks, envOf, only, ofKind, zkXdsContainer } from './chart-checks.js';

const VALUES_DIR = path.join(PROJECT_ROOT, 'test/helm');
const valuesFile = (name: string) => path.join(VALUES_DIR, `values-${name}.yaml`);
const VALUES_FILES = readdirSync(VALUES_DIR)
  .filter((f) => /^values-.+\.yaml$/.test(f))
  .sort();
const RBAC_KINDS = ['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'];
// The one password in values-full.yaml: it must reach the cluster only inside a Secret.
const FULL_PASSWORD = 'zkxds:s3cr3t-for-trying-out';

const renders = new Map<string, KubeObject[]>();
function rendered(file: string): KubeObject[] {
  let objects = renders.get(file);
  if (!objects) renders.set(file, (objects = renderChart(path.join(VALUES_DIR, file))));
  return objects;
}

describe('charts/zk-xds', () => {
  it('has the values files this test expects', () => {
    expect(VALUES_FILES).toEqual(
      expect.arrayContaining([
        'values-default.yaml',
        'values-full.yaml',
        'values-cr-mode.yaml',
        'values-mcp-mode.yaml',
        'values-multi-ensemble.yaml',
        'values-minimal.yaml',
      ]),
    );
  });

  describe('values.schema.json', () => {
    interface SchemaNode {
      type?: string;
      properties?: Record<string, SchemaNode>;
      additionalProperties?: boolean | SchemaNode;
      items?: SchemaNode;
    }
    const schema = JSON.parse(readFileSync(path.join(CHART_DIR, 'values.schema.json'), 'utf8')) as SchemaNode;
    const defaults = parse(readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>;

    it('allows no unknown key in any object it describes field by field', () => {
      const open: string[] = [];
      const walk = (node: SchemaNode, at: string) => {
        if (node.properties && node.additionalProperties !== false) open.push(at || '(root)');
        for (const [k, child] of Object.entries(node.properties ?? {})) walk(child, `${at}.${k}`);
        if (node.items) walk(node.items, `${at}[]`);
      };
      walk(schema, '');
      expect(open).toEqual([]);
    });

    it('describes every key of values.yaml, and values.yaml documents every key it describes', () => {
      const inSchema: string[] = [];
      const walkSchema = (node: SchemaNode, at: string) => {
        for (const [k, child] of Object.entries(node.properties ?? {})) {
          inSchema.push(`${at}${k}`);
          if (child.type === 'object') walkSchema(child, `${at}${k}.`);
        }
      };
      walkSchema(schema, '');
      const inValues: string[] = [];
      const walkValues = (value: Record<string, unknown>, node: SchemaNode | undefined, at: string) => {
        for (const [k, v] of Object.entries(value)) {
          inValues.push(`${at}${k}`);
          const child = node?.properties?.[k];
          if (v && typeof v === 'object' && !Array.isArray(v) && child?.properties) walkValues(v as Record<string, unknown>, child, `${at}${k}.`);
        }
      };
      walkValues(defaults, schema, '');
      // `global` is Helm's, set by parent charts; free-form maps (annotations...) have no fixed keys.
      expect(inSchema.filter((k) => k !== 'global' && !inValues.includes(k))).toEqual([]);
      expect(inValues.filter((k) => !inSchema.includes(k))).toEqual([]);
    });
  });

  it.each(VALUES_FILES)('helm lint --strict passes with %s', (file) => {
    const r = helm(['lint', '--strict', CHART_DIR, '--values', path.join(VALUES_DIR, file)]);
    expect(r.stderr + r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(r.status).toBe(0);
  });

  it.each(VALUES_FILES)('every object rendered with %s passes the Kubernetes/Istio/Prometheus schemas and fits together', async (file) => {
    const objects = rendered(file);
    expect(objects.map((o) => o.kind)).toEqual(expect.arrayContaining(['Deployment', 'Service']));
    expect(await allSchemaErrors(objects)).toEqual([]);
    expect(consistencyProblems(objects)).toEqual([]);
    for (const o of objects) expect(o.metadata.labels?.['app.kubernetes.io/name']).toBe('zk-xds');
  });

  it.each(VALUES_FILES)('with %s the pod sets only environment variables the CLI has', (file) => {
    const known = cliEnvVars();
    const names = [...envOf(only<IDeployment>(rendered(file), 'Deployment')).keys()];
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !known.has(n))).toEqual([]);
  });

  it.each(VALUES_FILES)('the real CLI starts with the environment and files %s gives the pod (values it would reject fail here)', async (file) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zkxds-pod-'));
    const env = podEnvOnThisMachine(rendered(file), dir);
    // The ServiceEntry writer needs a Kubernetes API server, which no test machine has.
    delete env.ZKXDS_K8S_SERVICE_ENTRIES;
    const cli = CliProcess.start(['serve'], env, { cwd: PROJECT_ROOT, main: CLI_MAIN });
    try {
      const port = await cli.adminPort();
      expect({ listening: port !== undefined, output: port === undefined ? cli.output() : '' }).toEqual({ listening: true, output: '' });
      // An answer also means the CLI is past start-up: it installs its SIGTERM handler just after
      // logging "listening", and a SIGTERM before that ends it by the signal, not with exit 0.
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      cli.child.kill('SIGTERM');
      expect((await cli.exited).code).toBe(0);
    } finally {
      cli.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('defaults: 2 replicas, PDB, preferred anti-affinity, one ensemble through the existing flags, no RBAC, no token, no ServiceMonitor', () => {
    const objects = rendered('values-default.yaml');
    const deployment = only<IDeployment>(objects, 'Deployment');
    expect(deployment.spec!.replicas).toBe(2);
    expect(only<KubeObject>(objects, 'PodDisruptionBudget')).toBeDefined();
    const anti = deployment.spec!.template.spec!.affinity!.podAntiAffinity!;
    expect(anti.preferredDuringSchedulingIgnoredDuringExecution![0]!.podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    expect(anti.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();

    const env = envOf(deployment);
    expect(env.get('ZKXDS_ZK')).toBe('zookeeper.zookeeper.svc.cluster.local:2181');
    expect(env.get('ZKXDS_ZK_ROOT')).toBe('/services');
    expect(env.has('ZKXDS_SOURCES_FILE')).toBe(false);

    expect(objects.filter((o) => RBAC_KINDS.includes(o.kind))).toEqual([]);
    expect(deployment.spec!.template.spec!.automountServiceAccountToken).toBe(false);
    expect(only<IServiceAccount>(objects, 'ServiceAccount').automountServiceAccountToken).toBe(false);
    expect(ofKind(objects, 'ServiceMonitor')).toEqual([]);
    expect(ofKind(objects, 'Secret')).toEqual([]);
    expect(ofKind(objects, 'ConfigMap')).toEqual([]);
  });

  type PortedService = { metadata: { name: string; labels: Record<string, string> }; spec: { type?: string; ports: Array<{ name: string; port: number }> } };
  const servicePorts = (file: string) =>
    Object.fromEntries(ofKind<PortedService>(rendered(file), 'Service').map((s) => [s.metadata.name, s.spec.ports.map(({ name, port }) => ({ name, port }))]));

  it('exposes xDS as grpc-xds on the Service and, by default, the admin port as http-admin on a Service of its own', () => {
    expect(servicePorts('values-default.yaml')).toEqual({
      'zk-xds': [{ name: 'grpc-xds', port: 18000 }],
      'zk-xds-admin': [{ name: 'http-admin', port: 9901 }],
    });
    const admin = ofKind<PortedService>(rendered('values-default.yaml'), 'Service').find((s) => s.metadata.name === 'zk-xds-admin')!;
    expect(admin.spec.type).toBe('ClusterIP');
    // admin.service: shared puts it back in the xDS Service; none leaves it out of every Service (and skips the helm test Pod).
    expect(servicePorts('values-xds-tls.yaml')).toEqual({
      'zk-xds': [
        { name: 'grpc-xds', port: 18000 },
        { name: 'http-admin', port: 9901 },
      ],
    });
    expect(servicePorts('values-xds-tls-existing.yaml')).toEqual({ 'zk-xds': [{ name: 'grpc-xds', port: 18000 }] });
    expect(ofKind(rendered('values-xds-tls-existing.yaml'), 'Pod')).toEqual([]);
  });

  it('plaintext xDS by default: no TLS variables, volumes or Certificate', () => {
    const objects = rendered('values-default.yaml');
    expect(
      [...envOf(only<IDeployment>(objects, 'Deployment')).keys()].filter((k) => k.startsWith('ZKXDS_XDS_TLS') || k === 'ZKXDS_XDS_IDENTITIES_FILE'),
    ).toEqual([]);
    expect(ofKind(objects, 'Certificate')).toEqual([]);
    expect(ofKind(objects, 'NetworkPolicy')).toEqual([]);
  });

  it('xds.tls with cert-manager: a Certificate for the Service names whose Secret is directory-mounted; mutual TLS from its ca.crt; identities in a ConfigMap', () => {
    const objects = rendered('values-xds-tls.yaml');
    const cert = only<ICertificate>(objects, 'Certificate');
    expect(cert.spec!.issuerRef).toEqual({ name: 'mesh-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' });
    expect(cert.spec!.dnsNames).toEqual(['zk-xds', 'zk-xds.zk-xds', 'zk-xds.zk-xds.svc', 'zk-xds.zk-xds.svc.cluster.local', 'zk-xds.example.internal']);
    expect(cert.spec!.privateKey).toEqual({ rotationPolicy: 'Always', algorithm: 'ECDSA', size: 256 });
    const deployment = only<IDeployment>(objects, 'Deployment');
    const env = envOf(deployment);
    const volume = deployment.spec!.template.spec!.volumes!.find((v) => v.secret?.secretName === cert.spec!.secretName)!;
    const mount = zkXdsContainer(deployment).volumeMounts!.find((m) => m.name === volume.name)!;
    // A directory mount: a renewed certificate reaches the running pod (subPath mounts never see it).
    expect(mount).toEqual({ name: volume.name, mountPath: '/etc/zk-xds/xds-tls', readOnly: true });
    expect(volume.secret!.items).toBeUndefined();
    expect([env.get('ZKXDS_XDS_TLS_CERT_FILE'), env.get('ZKXDS_XDS_TLS_KEY_FILE'), env.get('ZKXDS_XDS_TLS_CLIENT_CA_FILE')]).toEqual([
      '/etc/zk-xds/xds-tls/tls.crt',
      '/etc/zk-xds/xds-tls/tls.key',
      '/etc/zk-xds/xds-tls/ca.crt',
    ]);
    expect(env.get('ZKXDS_XDS_TLS_RELOAD_INTERVAL_MS')).toBe('5000');
    const identities = ofKind<IConfigMap>(objects, 'ConfigMap').find((c) => c.metadata!.name === 'zk-xds-xds-identities')!;
    const identitiesMount = zkXdsContainer(deployment).volumeMounts!.find((m) => m.name === 'xds-identities')!;
    expect(env.get('ZKXDS_XDS_IDENTITIES_FILE')).toBe(path.posix.join(identitiesMount.mountPath, 'identities.yaml'));
    expect(parse(identities.data!['identities.yaml']!)).toEqual({
      identities: { 'spiffe://cluster.local/ns/istio-system/sa/istiod': ['Kubernetes'], 'spiffe://cluster.local/ns/edge/sa/gateway': ['orders', 'payments'] },
    });
    expect(deployment.spec!.template.metadata!.annotations!['checksum/xds-identities']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('xds.tls.existingSecret: server-only TLS from that Secret, no Certificate, no client CA', () => {
    const objects = rendered('values-xds-tls-existing.yaml');
    const deployment = only<IDeployment>(objects, 'Deployment');
    const env = envOf(deployment);
    expect(env.get('ZKXDS_XDS_TLS_CERT_FILE')).toBe('/etc/zk-xds/xds-tls/tls.crt');
    expect(env.has('ZKXDS_XDS_TLS_CLIENT_CA_FILE')).toBe(false);
    expect(deployment.spec!.template.spec!.volumes!.find((v) => v.name === 'xds-tls')!.secret!.secretName).toBe('zk-xds-serving-cert');
    expect(ofKind(objects, 'Certificate')).toEqual([]);
  });

  it('networkPolicy (opt-in): xDS only from the given mesh peers, admin only from monitoring, ingress only', () => {
    const policy = only<INetworkPolicy>(rendered('values-xds-tls.yaml'), 'NetworkPolicy');
    expect(policy.spec!.policyTypes).toEqual(['Ingress']);
    expect(policy.spec!.podSelector!.matchLabels).toEqual(only<IDeployment>(rendered('values-xds-tls.yaml'), 'Deployment').spec!.selector.matchLabels);
    expect(policy.spec!.ingress).toEqual([
      {
        ports: [{ port: 'grpc-xds', protocol: 'TCP' }],
        from: [
          { namespaceSelector: { matchLabels: { 'istio-injection': 'enabled' } } },
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'istio-system' } } },
        ],
      },
      {
        ports: [{ port: 'http-admin', protocol: 'TCP' }],
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
            podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
          },
        ],
      },
    ]);
    // Without xdsFrom: every namespace of the cluster (an empty `from` would admit the world); without adminFrom: no admin rule at all.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zkxds-np-'));
    writeFileSync(path.join(dir, 'v.yaml'), 'networkPolicy: { enabled: true, xdsFrom: [], adminFrom: [] }\n');
    const open = only<INetworkPolicy>(renderChart(path.join(dir, 'v.yaml')), 'NetworkPolicy');
    rmSync(dir, { recursive: true, force: true });
    expect(open.spec!.ingress).toEqual([{ ports: [{ port: 'grpc-xds', protocol: 'TCP' }], from: [{ namespaceSelector: {} }] }]);
  });

  it('has no RBAC at all unless the ServiceEntry writer is on (MCP mode included)', () => {
    for (const file of VALUES_FILES) {
      const objects = rendered(file);
      const writerOn = envOf(only<IDeployment>(objects, 'Deployment')).get('ZKXDS_K8S_SERVICE_ENTRIES') === 'true';
      expect({ file, rbac: objects.some((o) => RBAC_KINDS.includes(o.kind)) }).toEqual({ file, rbac: writerOn });
      expect(objects.filter((o) => o.kind.startsWith('Cluster'))).toEqual([]);
    }
    expect(envOf(only<IDeployment>(rendered('values-mcp-mode.yaml'), 'Deployment')).get('ZKXDS_ISTIO_NAMESPACE')).toBe('zk-xds');
  });

  it('CR mode: a Role in the ServiceEntry namespace with exactly the writer verbs, bound to the pod ServiceAccount', () => {
    const objects = rendered('values-cr-mode.yaml');
    const role = only<IRole>(objects, 'Role');
    expect(role.metadata!.namespace).toBe('istio-config');
    expect(role.rules).toEqual([
      { apiGroups: ['networking.istio.io'], resources: ['serviceentries'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
    ]);
    const binding = only<IRoleBinding>(objects, 'RoleBinding');
    const deployment = only<IDeployment>(objects, 'Deployment');
    expect(binding.metadata!.namespace).toBe('istio-config');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata!.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: deployment.spec!.template.spec!.serviceAccountName, namespace: 'zk-xds' }]);
    expect(deployment.spec!.template.spec!.automountServiceAccountToken).toBe(true);
    const env = envOf(deployment);
    expect(env.get('ZKXDS_ISTIO_NAMESPACE')).toBe('istio-config');
    expect(env.get('ZKXDS_LEADER_ELECTION_PATH')).toBe('/zk-xds/leader');
  });

  it('single ensemble with an existing Secret: the digest is a mounted file named by ZKXDS_ZK_AUTH_FILE', () => {
    const objects = rendered('values-cr-mode.yaml');
    const deployment = only<IDeployment>(objects, 'Deployment');
    const authFile = envOf(deployment).get('ZKXDS_ZK_AUTH_FILE')!;
    const volume = deployment.spec!.template.spec!.volumes!.find((v) => v.secret?.secretName === 'zk-xds-zookeeper-auth')!;
    const mount = zkXdsContainer(deployment).volumeMounts!.find((m) => m.name === volume.name)!;
    expect(mount.readOnly).toBe(true);
    expect(authFile).toBe(path.posix.join(mount.mountPath, 'digest'));
    expect(ofKind(objects, 'Secret')).toEqual([]); // existing Secret: the chart makes none
  });

  it('admin.tokenSecret: the token is a file of a directory-mounted Secret named by ZKXDS_ADMIN_TOKEN_FILE; none by default', () => {
    expect(envOf(only<IDeployment>(rendered('values-default.yaml'), 'Deployment')).has('ZKXDS_ADMIN_TOKEN_FILE')).toBe(false);
    const deployment = only<IDeployment>(rendered('values-full.yaml'), 'Deployment');
    const tokenFile = envOf(deployment).get('ZKXDS_ADMIN_TOKEN_FILE')!;
    const volume = deployment.spec!.template.spec!.volumes!.find((v) => v.secret?.secretName === 'zk-xds-admin-token')!;
    expect(volume.secret!.items).toEqual([{ key: 'admin-token', path: 'token' }]);
    const mount = zkXdsContainer(deployment).volumeMounts!.find((m) => m.name === volume.name)!;
    // Not a subPath mount: those never see a rotated Secret.
    expect(mount).toEqual({ name: volume.name, mountPath: path.posix.dirname(tokenFile), readOnly: true });
    expect(path.posix.basename(tokenFile)).toBe('token');
  });

  it('config.workers: serving processes per pod through ZKXDS_WORKERS (1 by default), and the hung-worker timeout', () => {
    const defaults = envOf(only<IDeployment>(rendered('values-default.yaml'), 'Deployment'));
    const full = envOf(only<IDeployment>(rendered('values-full.yaml'), 'Deployment'));
    expect([defaults.get('ZKXDS_WORKERS'), defaults.get('ZKXDS_WORKER_HUNG_TIMEOUT_MS')]).toEqual(['1', '30000']);
    expect([full.get('ZKXDS_WORKERS'), full.get('ZKXDS_WORKER_HUNG_TIMEOUT_MS')]).toEqual(['2', '10000']);
  });

  it('config.maxAckWaitMs: flow control through ZKXDS_MAX_ACK_WAIT_MS, off by default', () => {
    expect(envOf(only<IDeployment>(rendered('values-default.yaml'), 'Deployment')).get('ZKXDS_MAX_ACK_WAIT_MS')).toBe('0');
    expect(envOf(only<IDeployment>(rendered('values-full.yaml'), 'Deployment')).get('ZKXDS_MAX_ACK_WAIT_MS')).toBe('5000');
  });

  it('keeps an Istio sidecar out of its own pods in every values file (/debug trusts loopback, which a sidecar would turn every client into)', () => {
    for (const file of ['values-default.yaml', 'values-full.yaml', 'values-minimal.yaml']) {
      const deployment = only<IDeployment>(rendered(file), 'Deployment');
      expect(deployment.spec!.template.metadata!.annotations!['sidecar.istio.io/inject']).toBe('false');
    }
  });

  it('several ensembles: the sources file lists them with auth files inside the mounted Secret', () => {
    const objects = rendered('values-multi-ensemble.yaml');
    const deployment = only<IDeployment>(objects, 'Deployment');
    const env = envOf(deployment);
    expect(env.has('ZKXDS_ZK')).toBe(false);
    const configMap = only<IConfigMap>(objects, 'ConfigMap');
    const sourcesMount = zkXdsContainer(deployment).volumeMounts!.find((m) => m.name === 'sources')!;
    expect(env.get('ZKXDS_SOURCES_FILE')).toBe(path.posix.join(sourcesMount.mountPath, 'sources.yaml'));
    const sources = parse(configMap.data!['sources.yaml']!) as {
      ensembles: Array<{ name: string; connect: string; chroot?: string; auth?: { file: string }; roots: unknown[] }>;
    };
    expect(sources.ensembles).toEqual([
      {
        name: 'eu',
        connect: 'zk-eu-0:2181,zk-eu-1:2181,zk-eu-2:2181',
        auth: { file: '/etc/zk-xds/zk-auth/eu' },
        roots: [{ path: '/services', layout: 'auto' }],
      },
      {
        name: 'us',
        connect: 'zk-us-0:2181,zk-us-1:2181,zk-us-2:2181',
        chroot: '/mesh',
        auth: { file: '/etc/zk-xds/zk-auth/us' },
        roots: [{ path: '/services', layout: 'auto' }],
      },
    ]);
    const authVolume = deployment.spec!.template.spec!.volumes!.find((v) => v.secret)!;
    expect(authVolume.secret!.secretName).toBe('zk-credentials');
    expect(zkXdsContainer(deployment).volumeMounts!.find((m) => m.name === authVolume.name)!.mountPath).toBe('/etc/zk-xds/zk-auth');
    expect(deployment.spec!.template.spec!.affinity!.podAntiAffinity!.requiredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
  });

  it('credentials from values become a Secret and nothing else: the password is nowhere else in the rendered output', () => {
    const r = helm(['template', 'zk-xds', CHART_DIR, '--namespace', 'zk-xds', '--values', valuesFile('full')]);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain(FULL_PASSWORD);
    expect(r.stdout).not.toContain('s3cr3t');
    const objects = rendered('values-full.yaml');
    const secret = only<ISecret>(objects, 'Secret');
    expect(Buffer.from(secret.data!.main!, 'base64').toString()).toBe(FULL_PASSWORD);
    const volume = only<IDeployment>(objects, 'Deployment').spec!.template.spec!.volumes!.find((v) => v.secret)!;
    expect(volume.secret!.secretName).toBe(secret.metadata!.name);
    for (const file of VALUES_FILES) expect({ file, leaks: credentialLeaks(rendered(file), [FULL_PASSWORD, 's3cr3t']) }).toEqual({ file, leaks: [] });
  });

  it('the credential check itself catches a password in env and a Secret read into env', () => {
    const objects = structuredClone(rendered('values-full.yaml'));
    const container = zkXdsContainer(only<IDeployment>(objects, 'Deployment'));
    container.env!.push({ name: 'ZKXDS_ZK_AUTH', value: FULL_PASSWORD }, { name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } });
    expect(credentialLeaks(objects, [FULL_PASSWORD])).toHaveLength(2);
  });

  it('ServiceMonitor when asked and the cluster has monitoring.coreos.com/v1: scrapes /metrics on the admin port of the Service', () => {
    for (const apiVersion of ['monitoring.coreos.com/v1', 'monitoring.coreos.com/v1/ServiceMonitor']) {
      expect(ofKind(renderChart(valuesFile('full'), 'zk-xds', 'zk-xds', ['--api-versions', apiVersion]), 'ServiceMonitor')).toHaveLength(1);
    }
    const objects = renderChart(valuesFile('full'), 'zk-xds', 'zk-xds', ['--api-versions', 'monitoring.coreos.com/v1']);
    const monitor = only<IServiceMonitor>(objects, 'ServiceMonitor');
    expect(monitor.spec.endpoints).toEqual([{ port: 'http-admin', path: '/metrics', interval: '15s', scrapeTimeout: '5s' }]);
    expect(monitor.metadata!.labels!.release).toBe('prometheus');
    const svc = ofKind<PortedService>(objects, 'Service').find((s) => s.spec.ports.some((p) => p.name === 'http-admin'))!;
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels!)) expect(svc.metadata.labels[k]).toBe(v);
  });

  it('no ServiceMonitor on a cluster without the Prometheus Operator, even when asked: the install would fail', () => {
    expect(ofKind(rendered('values-full.yaml'), 'ServiceMonitor')).toEqual([]);
  });

  it('one replica without PDB, anti-affinity or own ServiceAccount when asked', () => {
    const objects = rendered('values-minimal.yaml');
    const deployment = only<IDeployment>(objects, 'Deployment');
    expect(deployment.spec!.replicas).toBe(1);
    expect(deployment.spec!.template.spec!.affinity).toBeUndefined();
    expect(deployment.spec!.template.spec!.serviceAccountName).toBe('default');
    expect(objects.map((o) => o.kind).sort()).toEqual(['Deployment', 'Pod', 'Service', 'Service']); // Pod: the helm test; the admin Service
  });

  // Each bad file, what rejects it (values.schema.json, or a `fail` in the templates for what a
  // JSON schema cannot say), and the words of the error helm must give.
  const BAD: Record<string, { by: 'schema' | 'template'; message: RegExp }> = {
    'admin-token-key-path.yaml': { by: 'schema', message: /admin\.tokenSecret\.key: Does not match pattern/ },
    'unknown-key.yaml': { by: 'schema', message: /Additional property zookeper is not allowed/ },
    'replicas-string.yaml': { by: 'schema', message: /replicaCount: Invalid type/ },
    'relative-root.yaml': { by: 'schema', message: /zookeeper\.root: Does not match pattern/ },
    'credential-not-digest.yaml': { by: 'schema', message: /zookeeper\.credentials\.values\.main: Does not match pattern/ },
    'ensemble-without-connect.yaml': { by: 'schema', message: /connect is required/ },
    'bad-log-level.yaml': { by: 'schema', message: /config\.logLevel must be one of/ },
    'auth-key-missing.yaml': { by: 'template', message: /authKey "main" is not a key of zookeeper\.credentials\.values/ },
    'writer-without-istio.yaml': { by: 'template', message: /istio\.serviceEntryWriter\.enabled needs istio\.enabled/ },
    'duplicate-ensemble.yaml': { by: 'template', message: /the name "main" is used twice/ },
    'both-credential-sources.yaml': { by: 'template', message: /set existingSecret or values, not both/ },
    'single-auth-key-with-ensembles.yaml': { by: 'template', message: /zookeeper\.authKey is for the single ensemble/ },
    'admin-service-mode.yaml': { by: 'schema', message: /admin\.service must be one of/ },
    'xds-tls-two-certificates.yaml': { by: 'template', message: /xds\.tls: set existingSecret or certManager\.issuerRef\.name, not both/ },
    'xds-client-ca-without-certificate.yaml': { by: 'template', message: /xds\.tls\.clientCa needs a server certificate/ },
    'xds-identities-without-client-ca.yaml': { by: 'template', message: /xds\.tls\.identities needs mutual TLS/ },
  };

  it('every file in test/helm/bad has an expected error', () => {
    expect(readdirSync(path.join(VALUES_DIR, 'bad')).sort()).toEqual(Object.keys(BAD).sort());
  });

  it.each(Object.entries(BAD))('rejects bad values %s', (file, { by, message }) => {
    const values = path.join(VALUES_DIR, 'bad', file);
    const template = helm(['template', 'zk-xds', CHART_DIR, '--values', values]);
    expect(template.status).not.toBe(0);
    expect(template.stderr).toMatch(message);
    const lint = helm(['lint', '--strict', CHART_DIR, '--values', values]);
    // helm lint fails on schema errors; a template's `fail` it only reports (as "[INFO] Fail:").
    expect(lint.stdout + lint.stderr).toMatch(message);
    if (by === 'schema') expect(lint.status).not.toBe(0);
    else expect(lint.stdout + lint.stderr).toMatch(/Fail: /);
  });

  it('helm test: a hook Pod whose command (run here with node) passes on /readyz 200 and fails on 503', async () => {
    const pod = only<IPod>(rendered('values-default.yaml'), 'Pod');
    expect(pod.metadata!.annotations!['helm.sh/hook']).toBe('test');
    const [node, ...args] = pod.spec!.containers[0]!.command!;
    const url = new URL(args.at(-1)!);
    expect(`${url.hostname}:${url.port}${url.pathname}`).toBe('zk-xds-admin.zk-xds.svc:9901/readyz');
    let status = 503;
    const server = createServer((req, res) => res.writeHead(req.url === '/readyz' ? status : 404).end('{}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const local = `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`;
    expect(node).toBe('node');
    // Asynchronously: a synchronous spawn would block the event loop the server answers on.
    const runHook = () =>
      new Promise<number | null>((resolve) => spawn(process.execPath, [...args.slice(0, -1), local], { stdio: 'ignore' }).once('exit', resolve));
    try {
      expect(await runHook()).toBe(1);
      status = 200;
      expect(await runHook()).toBe(0);
    } finally {
      server.close();
    }
  });

  describe('NOTES.txt', () => {
    // helm template does not render NOTES.txt and helm install needs a cluster, so a copy of the
    // chart carries the same text in a ConfigMap that helm template does render.
    function renderNotes(valuesName: string): string {
      const tmp = mkdtempSync(path.join(os.tmpdir(), 'zkxds-notes-'));
      const copy = path.join(tmp, 'zk-xds');
      cpSync(CHART_DIR, copy, { recursive: true });
      const notes = readFileSync(path.join(copy, 'templates/NOTES.txt'), 'utf8');
      writeFileSync(path.join(copy, 'templates/_notes-under-test.tpl'), `{{- define "notes-under-test" -}}\n${notes}\n{{- end -}}\n`);
      writeFileSync(
        path.join(copy, 'templates/notes-under-test.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-under-test\ndata:\n  notes: {{ include "notes-under-test" . | toJson }}\n',
      );
      const r = helm([
        'template',
        'zk-xds',
        copy,
        '--namespace',
        'zk-xds',
        '--values',
        valuesFile(valuesName),
        '--show-only',
        'templates/notes-under-test.yaml',
      ]);
      rmSync(tmp, { recursive: true, force: true });
      if (r.status !== 0) throw new Error(r.stderr);
      return (parse(r.stdout) as { data: { notes: string } }).data.notes;
    }

    it('warns that values-born credentials are for trying out, and shows the istiod configSources', () => {
      const notes = renderNotes('full');
      expect(notes).toMatch(/WARNING: the ZooKeeper credentials came from values/);
      expect(notes).toContain('address: xds://zk-xds.zk-xds.svc:18000');
      expect(notes).not.toContain('s3cr3t');
    });

    it('gives no such warning with an existing Secret', () => {
      expect(renderNotes('cr-mode')).not.toMatch(/WARNING/);
    });

    it('says when xDS is plaintext, and gives istiod tlsSettings when it is not', () => {
      expect(renderNotes('default')).toMatch(/in PLAINTEXT/);
      const notes = renderNotes('xds-tls');
      expect(notes).not.toMatch(/PLAINTEXT/);
      expect(notes).toContain('over TLS with the certificate in Secret zk-xds-xds-tls; clients need a certificate (mutual TLS)');
      expect(notes).toMatch(/tlsSettings:\n\s+mode: MUTUAL/);
      expect(renderNotes('xds-tls-existing')).toMatch(/tlsSettings:\n\s+mode: SIMPLE/);
    });
  });
});
