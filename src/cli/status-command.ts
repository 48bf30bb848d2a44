// `zk-xds status`: every connected proxy and, per type, whether it has what it was sent
// (SYNCED), has not answered yet (STALE) or rejected it (NACKED), like `istioctl proxy-status`.
import type { ProxyStatus } from '../admin/proxy-status.js';
import { formatTable, getAdmin } from './admin-client.js';

const TYPES = ['CDS', 'LDS', 'EDS', 'RDS'] as const;

export async function statusCommand(opts: { admin: string; output: 'table' | 'json' }, out: (text: string) => void): Promise<void> {
  const { body } = await getAdmin<{ proxies: ProxyStatus[] }>(opts.admin, '/debug/proxies');
  out(opts.output === 'json' ? JSON.stringify(body, null, 2) + '\n' : proxyTable(body.proxies));
}

export function proxyTable(proxies: readonly ProxyStatus[]): string {
  if (proxies.length === 0) return 'no proxies connected\n';
  const rows = proxies.map((p) => [
    p.node,
    p.cluster,
    p.kind,
    p.protocol,
    ...TYPES.map((t) => cell(p, t)),
    p.connectedSince,
  ]);
  return formatTable(['NODE', 'CLUSTER', 'KIND', 'PROTOCOL', ...TYPES, 'CONNECTED SINCE'], rows);
}

/** A type's state; NACKED also names the rejected version, '-' when the proxy does not use the type. */
function cell(p: ProxyStatus, type: string): string {
  const t = p.types[type];
  if (!t) return '-';
  if (t.state === 'NACKED') return `NACKED (${t.lastNack?.version || 'version ?'})`;
  return t.state === 'NOT_SENT' ? 'NOT SENT' : t.state;
}
