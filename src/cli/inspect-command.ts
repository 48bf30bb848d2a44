// `zk-xds inspect <service>`: the registrations read for a service, the ones skipped and why, its
// policy (and a rejected policy write), and the xDS resources it became for each kind of proxy.
import type { CatalogPage, ResourcesPage, ServedResource } from '../admin/catalog-pages.js';
import type { SecuritySummary } from '../admin/security-summary.js';
import { CommandFailure, EXIT, formatTable, getAdmin } from './admin-client.js';
import type { ScopedByPage } from '../admin/scope-pages.js';

export async function inspectCommand(
  service: string,
  opts: { admin: string; adminTokenFile?: string; output: 'text' | 'json' },
  out: (text: string) => void,
): Promise<void> {
  const query = `?service=${encodeURIComponent(service)}`;
  const catalog = await getAdmin<CatalogPage | { error: string }>(opts.admin, `/debug/catalog${query}`, opts.adminTokenFile);
  const resources = await getAdmin<ResourcesPage | { error: string }>(opts.admin, `/debug/resources${query}`, opts.adminTokenFile);
  if (catalog.status === 404 && resources.status === 404) {
    throw new CommandFailure(`no service named "${service}" is known to zk-xds at ${opts.admin} (neither read from ZooKeeper nor skipped)`, EXIT.findings);
  }
  const page = catalog.status === 200 ? (catalog.body as CatalogPage) : null;
  const served = resources.status === 200 ? (resources.body as ResourcesPage) : null;
  // Older servers have no /debug/scopes: the section is then left out.
  const scopes = await getAdmin<ScopedByPage>(opts.admin, `/debug/scopes${query}`, opts.adminTokenFile).catch(() => null);
  const scopedBy = scopes?.status === 200 ? scopes.body : null;
  out(
    opts.output === 'json'
      ? `${JSON.stringify({ service, catalog: page, resources: served, scopedBy }, null, 2)}\n`
      : describeService(service, page, served) + describeScopedBy(scopedBy),
  );
}

export function describeService(service: string, page: CatalogPage | null, served: ResourcesPage | null): string {
  const s = page?.services.find((x) => x.name === service);
  const parts: string[] = [`service ${service}\n`];
  const instances = s?.instances ?? [];
  parts.push(`\nregistrations read: ${instances.length}\n`);
  if (instances.length > 0) {
    parts.push(
      indent(
        formatTable(
          ['SOURCE', 'FORMAT', 'ADDRESS', 'PORT', 'WEIGHT', 'SERVING', 'LOCALITY'],
          instances.map((i) => [
            i.source,
            i.format,
            i.address,
            String(i.port),
            String(i.weight),
            i.healthy ? 'yes' : 'no',
            [i.locality.region, i.locality.zone, i.locality.subZone].filter(Boolean).join('/') || '-',
          ]),
        ),
      ),
    );
  }
  const skipped = s?.skipped ?? [];
  parts.push(`\nregistrations skipped: ${skipped.length}\n`);
  for (const k of skipped) parts.push(`  ${k.path}: ${k.reason}\n`);
  const policy = s?.policy ?? {};
  parts.push(`\npolicy: ${Object.keys(policy).length > 0 ? JSON.stringify(policy) : 'none (defaults)'}\n`);
  if (s?.policyError) {
    parts.push(`policy write rejected (the policy above stays in force): ${s.policyError.path}\n`);
    for (const e of s.policyError.errors) parts.push(`  ${e.field || '(document)'}: ${e.message}\n`);
  }
  parts.push('\nxDS resources served:\n');
  if (!served) {
    parts.push('  none built\n');
    return parts.join('');
  }
  const rows: string[][] = [];
  for (const [view, kinds] of Object.entries(served.views)) {
    for (const [kind, list] of Object.entries(kinds)) for (const r of list) rows.push([view, kind, r.name, r.version, summarize(kind, r)]);
  }
  parts.push(indent(formatTable(['VIEW', 'KIND', 'NAME', 'VERSION', 'SUMMARY'], rows)));
  if (served.sidecarConflict) parts.push(`  no sidecar listener: ${served.sidecarConflict}\n`);
  if (served.security) parts.push(describeSecurity(served.security));
  for (const { client, adjustments } of served.notApplied ?? []) {
    parts.push(`\nnot applied for ${client}:\n`);
    for (const a of adjustments) parts.push(`  ${a.feature}${a.outcome === 'approximated' ? ' (approximated)' : ''}: ${a.why}\n`);
  }
  return parts.join('');
}

/** Which node clusters' sidecars have the service in scope, and through which entries. */
export function describeScopedBy(page: ScopedByPage | null): string {
  if (!page) return '';
  const rows = page.nodeClusters.flatMap(({ nodeCluster, entries }) => entries.map((e) => [nodeCluster, e.pattern, e.source, e.from]));
  const others =
    page.scopeDefault === 'all'
      ? 'sidecars of node clusters without a scope get it too'
      : 'sidecars of node clusters without a scope do not get it (--scope-default none)';
  if (rows.length === 0)
    return `
in scope of: no node cluster's scope names it (${others})
`;
  return `
in scope of (${others}):
${indent(formatTable(['NODE CLUSTER', 'ENTRY', 'SOURCE', 'FROM'], rows))}`;
}

function describeSecurity(s: SecuritySummary): string {
  const lines = [
    `\nmtls: ${s.mode} (callers send ${s.callers}${s.serverIdentities.length > 0 ? `, accept servers ${s.serverIdentities.join(' or ')}` : ''})\n`,
  ];
  for (const server of s.servers)
    lines.push(`  server ${server.address}: ${server.mode}${server.conflict ? `, refuses every call: ${server.conflict}` : ''}\n`);
  if (s.nodeNeeds) {
    lines.push(`  gRPC nodes need: ${s.nodeNeeds.certificateProviders.map((p) => `certificate_providers.${p}`).join(', ')} in their bootstrap\n`);
    lines.push(`  Envoy nodes need: SDS secrets ${s.nodeNeeds.sdsSecrets.join(', ')} from bootstrap cluster ${s.nodeNeeds.sdsCluster}\n`);
  }
  lines.push('authorization (in order):\n');
  for (const rule of s.rules) lines.push(`  ${rule}\n`);
  return lines.join('');
}

/** One line about a resource; the whole of it is in --output json. */
function summarize(kind: string, r: ServedResource): string {
  const o = r.resource as Record<string, unknown>;
  if (kind === 'endpoint') {
    const groups = (o.endpoints as Array<{ lb_endpoints?: unknown[] }> | undefined) ?? [];
    const n = groups.reduce((sum, g) => sum + (g.lb_endpoints?.length ?? 0), 0);
    return `${n} endpoint${n === 1 ? '' : 's'}`;
  }
  if (kind === 'cluster') return `type ${String(o.type ?? 'EDS')}, lb ${String(o.lb_policy ?? 'ROUND_ROBIN')}`;
  if (kind === 'route') return `${((o.virtual_hosts as unknown[] | undefined) ?? []).length} virtual host(s)`;
  if (kind === 'listener' && o.traffic_direction === 'INBOUND')
    return `gRPC server${(o.filter_chains as Array<{ transport_socket?: unknown }> | undefined)?.[0]?.transport_socket ? ', mTLS' : ', plaintext'}`;
  if (kind === 'listener')
    return o.api_listener
      ? 'api_listener'
      : `port ${String((o.address as { socket_address?: { port_value?: number } } | undefined)?.socket_address?.port_value ?? '?')}`;
  return '';
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}
