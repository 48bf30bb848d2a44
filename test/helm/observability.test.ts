// What the chart ships for watching zk-xds: the Grafana dashboard ConfigMap and the PrometheusRule.
// Rendered with the real helm, checked against the Prometheus Operator schema, every PromQL
// expression parsed by Debian's promtool, every metric it names checked against the metrics
// zk-xds really defines, and every alert's runbook present in docs/operations.md.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { createMetrics } from '../../src/observability/metrics.js';
import { servingWorkerCounters } from '../../src/cli/serving-workers.js';
import { CHART_DIR, PROJECT_ROOT, renderChart, type KubeObject } from './kube-tools.js';
import { allSchemaErrors } from './kube-schema.js';
import { ofKind, only } from './chart-checks.js';

const PROMTOOL = process.env.PROMTOOL_PATH ?? '/usr/bin/promtool';
const VALUES = path.join(PROJECT_ROOT, 'test/helm/values-observability.yaml');
const DEFAULTS = path.join(PROJECT_ROOT, 'test/helm/values-default.yaml');
const WITH_CRD = ['--api-versions', 'monitoring.coreos.com/v1/PrometheusRule'];
const TLS_ALERTS = ['ZkxdsXdsCertificateExpiring', 'ZkxdsXdsTlsFileRejected', 'ZkxdsXdsIdentityDenied'];
const ALERTS = [
  'ZkxdsZooKeeperDisconnected',
  'ZkxdsProxiesNacking',
  'ZkxdsProxiesStale',
  'ZkxdsConvergenceSlow',
  'ZkxdsInvalidPolicies',
  ...TLS_ALERTS,
  'ZkxdsServingWorkerRestarting',
  'ZkxdsNoServiceEntryWriter',
];

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface Dashboard {
  panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
  templating: { list: Array<{ name: string; definition?: string }> };
}

const rulesOf = (objects: KubeObject[]): Rule[] => only<IPrometheusRule>(objects, 'PrometheusRule').spec!.groups!.flatMap((g) => g.rules as unknown as Rule[]);

function dashboardOf(objects: KubeObject[]): { configMap: IConfigMap; dashboard: Dashboard } {
  const configMap = ofKind<IConfigMap>(objects, 'ConfigMap').find((c) => c.metadata?.name?.endsWith('-dashboard'));
  if (!configMap) throw new Error('no dashboard ConfigMap rendered');
  return { configMap, dashboard: JSON.parse(configMap.data!['zk-xds.json']!) as Dashboard };
}

/** Every PromQL expression of the dashboard, its Grafana variables replaced by what Grafana sends. */
function dashboardExprs(d: Dashboard): string[] {
  const exprs = [
    ...d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ...d.templating.list.flatMap((v) => (v.definition ? [v.definition.replace(/^label_values\((.*), *\w+\)$/, '$1')] : [])),
  ];
  return exprs.map((e) => e.replaceAll('$__rate_interval', '1m').replaceAll('$namespace', '.*').replaceAll('$pod', '.*'));
}

/** Names of every series zk-xds can export (histograms as their _bucket/_sum/_count series). */
async function exportedSeries(): Promise<Set<string>> {
  const names = new Set<string>();
  const { registry } = createMetrics();
  // Registered only with --workers: the worker lifecycle counters.
  servingWorkerCounters(registry);
  for (const m of await registry.getMetricsAsJSON()) {
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
    else names.add(m.name);
  }
  return names;
}

const metricNames = (expr: string) => [...expr.matchAll(/\b(zkxds_[a-z0-9_]+)\b/g)].map((m) => m[1]!);

/** promtool check rules on the given rules; returns its output and exit status. */
function promtoolCheck(groups: unknown): { status: number | null; out: string } {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'zkxds-rules-')), 'rules.yaml');
  writeFileSync(file, stringify({ groups }));
  const r = spawnSync(PROMTOOL, ['check', 'rules', file], { encoding: 'utf8' });
  if (r.error) throw new Error(`${PROMTOOL}: ${r.error.message} (Debian package prometheus; scripts/install-deps.sh installs it)`);
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('chart observability: Grafana dashboard and PrometheusRule', () => {
  const withCrd = renderChart(VALUES, 'zk-xds', 'zk-xds', WITH_CRD);

  it('renders the dashboard ConfigMap with the sidecar label and the PrometheusRule with every alert when asked and the CRD exists', async () => {
    const { configMap, dashboard } = dashboardOf(withCrd);
    expect(configMap.metadata).toMatchObject({ namespace: 'zk-xds', labels: { grafana_dashboard: '1' }, annotations: { grafana_folder: 'zk-xds' } });
    expect(dashboard.panels.length).toBeGreaterThan(10);
    expect(JSON.parse(configMap.data!['zk-xds.json']!)).toEqual(JSON.parse(readFileSync(path.join(CHART_DIR, 'dashboards/zk-xds.json'), 'utf8')));
    const rule = only<IPrometheusRule>(withCrd, 'PrometheusRule');
    expect(rule.metadata?.labels).toMatchObject({ release: 'kube-prometheus-stack' });
    const rules = rulesOf(withCrd);
    expect(rules.map((r) => r.alert)).toEqual(ALERTS);
    for (const r of rules) {
      expect({ alert: r.alert, summary: r.annotations.summary, description: r.annotations.description }).toEqual({
        alert: r.alert,
        summary: expect.any(String),
        description: expect.any(String),
      });
      expect(r.annotations.runbook_url).toBe(`https://docs.example.internal/zk-xds/operations.md#${r.alert.toLowerCase()}`);
      expect(r.labels).toMatchObject({ team: 'mesh', severity: expect.stringMatching(/^(warning|critical)$/) });
      expect(r.expr).toContain('namespace="zk-xds", job="zk-xds"');
    }
    // Thresholds come from the values.
    expect(rules.find((r) => r.alert === 'ZkxdsProxiesStale')!.expr).toMatch(/> 90$/);
    expect(rules.find((r) => r.alert === 'ZkxdsConvergenceSlow')!.expr).toMatch(/> 2.5$/);
    expect(await allSchemaErrors(withCrd)).toEqual([]);
  });

  it('renders no PrometheusRule where the cluster lacks the CRD, and nothing at all by default', () => {
    const withoutCrd = renderChart(VALUES);
    expect(ofKind(withoutCrd, 'PrometheusRule')).toEqual([]);
    expect(dashboardOf(withoutCrd).configMap.metadata?.labels).toMatchObject({ grafana_dashboard: '1' });
    const defaults = renderChart(DEFAULTS, 'zk-xds', 'zk-xds', WITH_CRD);
    expect(ofKind(defaults, 'PrometheusRule')).toEqual([]);
    expect(ofKind<IConfigMap>(defaults, 'ConfigMap').filter((c) => c.metadata?.labels?.grafana_dashboard)).toEqual([]);
  });

  it('has the xDS TLS alerts only with TLS on the xDS port, the identity alert only with mutual TLS', () => {
    const serverOnly = renderChart(VALUES, 'zk-xds', 'zk-xds', [...WITH_CRD, '--set', 'xds.tls.clientCa.fromCertificateSecret=false']);
    expect(rulesOf(serverOnly).map((r) => r.alert)).toEqual(ALERTS.filter((a) => a !== 'ZkxdsXdsIdentityDenied'));
    const plaintext = renderChart(VALUES, 'zk-xds', 'zk-xds', [
      ...WITH_CRD,
      '--set',
      'xds.tls.clientCa.fromCertificateSecret=false',
      '--set',
      'xds.tls.existingSecret=',
    ]);
    expect(rulesOf(plaintext).map((r) => r.alert)).toEqual(ALERTS.filter((a) => !TLS_ALERTS.includes(a)));
    // Plaintext replicas export the expiry gauge at 0: the alert must not take that for an expired certificate.
    expect(rulesOf(renderChart(VALUES, 'zk-xds', 'zk-xds', WITH_CRD)).find((r) => r.alert === 'ZkxdsXdsCertificateExpiring')!.expr).toContain(
      'zkxds_xds_tls_certificate_expiry_seconds{namespace="zk-xds", job="zk-xds"} > 0) - time()) < 604800',
    );
  });

  it('has the serving-worker alert only with more than one serving process per pod', () => {
    const single = renderChart(VALUES, 'zk-xds', 'zk-xds', [...WITH_CRD, '--set', 'config.workers=1']);
    expect(rulesOf(single).map((r) => r.alert)).toEqual(ALERTS.filter((a) => a !== 'ZkxdsServingWorkerRestarting'));
  });

  it('has no leader alert without the ServiceEntry writer (zkxds_leader is 0 on every replica then)', () => {
    const noWriter = renderChart(VALUES, 'zk-xds', 'zk-xds', [...WITH_CRD, '--set', 'istio.serviceEntryWriter.enabled=false']);
    expect(rulesOf(noWriter).map((r) => r.alert)).toEqual(ALERTS.filter((a) => a !== 'ZkxdsNoServiceEntryWriter'));
  });

  it('every expression of the dashboard and the alerts names only metrics zk-xds exports', async () => {
    const exported = await exportedSeries();
    const exprs = [...dashboardExprs(dashboardOf(withCrd).dashboard), ...rulesOf(withCrd).map((r) => r.expr)];
    for (const expr of exprs) {
      const names = metricNames(expr);
      expect({ expr, names: names.length > 0 }).toEqual({ expr, names: true });
      expect({ expr, unknown: names.filter((n) => !exported.has(n)) }).toEqual({ expr, unknown: [] });
    }
    // The check itself catches a misspelt name.
    expect(metricNames('sum(zkxds_xds_nack_total)').filter((n) => !exported.has(n))).toEqual(['zkxds_xds_nack_total']);
  });

  it('promtool accepts the rendered alert rules and parses every dashboard expression', () => {
    const rule = only<IPrometheusRule>(withCrd, 'PrometheusRule');
    const alerts = promtoolCheck(rule.spec!.groups);
    expect(alerts).toEqual({ status: 0, out: expect.stringContaining(`SUCCESS: ${ALERTS.length} rules found`) });
    const exprs = dashboardExprs(dashboardOf(withCrd).dashboard);
    const recording = promtoolCheck([{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `zkxds_dashboard:expr${i}`, expr })) }]);
    expect(recording).toEqual({ status: 0, out: expect.stringContaining(`SUCCESS: ${exprs.length} rules found`) });
    // And it does reject a broken expression (the check is not a rubber stamp).
    expect(promtoolCheck([{ name: 'bad', rules: [{ alert: 'Bad', expr: 'sum by (pod (zkxds_leader)' }] }]).status).not.toBe(0);
  });

  it('docs/operations.md has a runbook section under each alert name', () => {
    const headings = [...readFileSync(path.join(PROJECT_ROOT, 'docs/operations.md'), 'utf8').matchAll(/^## (\S+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual(expect.arrayContaining(ALERTS));
  });
});
