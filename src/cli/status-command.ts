// `zk-xds status`: every connected proxy and, per type, whether it has what it was sent
// (SYNCED), has not answered yet (STALE) or rejected it (NACKED), like `istioctl proxy-status`.
import type { ProxyStatus } from '../admin/proxy-status.js';
import type { NotApplied } from '../admin/proxy-adjustments.js';
import { formatTable, getAdmin } from './admin-client.js';
import { scopeCell, type ProxyScope } from '../admin/scope-pages.js';

const TYPES = ['CDS', 'LDS', 'EDS', 'RDS'] as const;

export async function statusCommand(opts: { admin: string; adminTokenFile?: string; output: 'table' | 'json' }, out: (text: string) => void): Promise<void> {
  const { body } = await getAdmin<{ proxies: Array<StatusRow>; processes?: ProcessAnswer[] }>(opts.admin, '/debug/proxies', opts.adminTokenFile);
  if (opts.output === 'json') return out(`${JSON.stringify(body, null, 2)}\n`);
  out(proxyTable(body.proxies) + notAppliedReport(body.proxies) + unansweredReport(body.processes ?? []));
}

type StatusRow = ProxyStatus & { notApplied?: NotApplied[]; scope?: ProxyScope; process?: string };
type ProcessAnswer = { process: string; answered: boolean; error?: string };

/** Serving workers (`serve --workers`) whose proxies are missing from the table: they did not answer. */
function unansweredReport(processes: readonly ProcessAnswer[]): string {
  const missing = processes.filter((p) => !p.answered);
  return missing.length === 0 ? '' : `\nnot listed (no answer): ${missing.map((p) => `${p.process} (${p.error ?? 'unknown'})`).join(', ')}\n`;
}

/**
 * "not applied for <client> (<nodes>):" and one line per service and feature, for the proxies whose
 * client is not given part of a policy (left out, or approximated by what the client implements).
 */
export function notAppliedReport(proxies: ReadonlyArray<{ node: string; notApplied?: NotApplied[] }>): string {
  const byClient = new Map<string, { nodes: Set<string>; lines: Set<string> }>();
  for (const p of proxies) {
    for (const n of p.notApplied ?? []) {
      const entry = byClient.get(n.client) ?? { nodes: new Set<string>(), lines: new Set<string>() };
      entry.nodes.add(p.node);
      entry.lines.add(`  ${n.service}: ${n.feature}${n.outcome === 'approximated' ? ' (approximated)' : ''}: ${n.why}\n`);
      byClient.set(n.client, entry);
    }
  }
  return [...byClient]
    .map(([client, { nodes, lines }]) => `\nnot applied for ${client} (${[...nodes].sort().join(', ')}):\n${[...lines].sort().join('')}`)
    .join('');
}

export function proxyTable(proxies: ReadonlyArray<ProxyStatus & { scope?: ProxyScope; process?: string }>): string {
  if (proxies.length === 0) return 'no proxies connected\n';
  // With serving workers, which process serves each proxy (the one to look at in its logs).
  const byProcess = proxies.some((p) => p.process !== undefined);
  const rows = proxies.map((p) => [
    ...(byProcess ? [p.process ?? '-'] : []),
    p.node,
    p.cluster,
    p.kind,
    p.protocol,
    ...TYPES.map((t) => cell(p, t)),
    p.changeToAck ? `${p.changeToAck.p50Ms}/${p.changeToAck.p99Ms}` : '-',
    p.connectedSince,
    scopeCell(p.scope),
  ]);
  return formatTable(
    [...(byProcess ? ['PROCESS'] : []), 'NODE', 'CLUSTER', 'KIND', 'PROTOCOL', ...TYPES, 'CHANGE->ACK P50/P99 MS', 'CONNECTED SINCE', 'SCOPE'],
    rows,
  );
}

/** A type's state; NACKED also names the rejected version, '-' when the proxy does not use the type. */
function cell(p: ProxyStatus, type: string): string {
  const t = p.types[type];
  if (!t) return '-';
  if (t.state === 'NACKED') return `NACKED (${t.lastNack?.version || 'version ?'})`;
  return t.state === 'NOT_SENT' ? 'NOT SENT' : t.state;
}
