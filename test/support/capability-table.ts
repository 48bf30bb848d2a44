// The readable capability table of docs/clients.md, rendered from the typed table in code
// (src/translate/client-capabilities.ts) and the view each client is given (src/xds/client-profile.ts),
// so that a test can keep the document equal to what zk-xds does.
import { CLIENT_PROFILES, POLICY_FEATURES, type Support } from '../../src/translate/client-capabilities.js';
import { VIEW_PROFILE } from '../../src/publish/catalog-publisher.js';
import { viewOf } from '../../src/xds/client-profile.js';
import type { NodeMessage } from '../../src/xds/discovery-messages.js';

/** One column per client, each identified by a typical node (user agent and version). */
const CLIENTS: ReadonlyArray<[string, string, string]> = [
  ['Envoy', 'envoy', ''],
  ['grpc-js-xds', 'gRPC Node Pure JS', '1.14.1'],
  ['gRPC C-core ≤ 1.51', 'gRPC C-core linux Python', 'C-core 29.0.0 Python 1.51.1'],
  ['gRPC C-core ≥ 1.52', 'gRPC C-core linux Python', 'C-core 30.0.0 Python 1.52.0'],
  ['gRPC Java', 'gRPC Java', '1.58.0'],
  ['gRPC Go', 'gRPC Go', '1.60.1'],
];

function cell(s: Support): string {
  switch (s.status) {
    case 'implements':
      return 'yes';
    case 'approximates':
      return 'approximated';
    default:
      return `${s.status}: left out${s.belowMs !== undefined ? ` below ${s.belowMs} ms` : ''}`;
  }
}

export function renderCapabilityTable(): string {
  const profiles = CLIENTS.map(([, name, version]) => {
    const node: NodeMessage = { id: 'x', cluster: '', user_agent_name: name, user_agent_version: version, locality: null };
    return VIEW_PROFILE[viewOf(node)];
  });
  const lines = [
    `| policy feature | ${CLIENTS.map(([label]) => label).join(' | ')} |`,
    `|---|${CLIENTS.map(() => '---').join('|')}|`,
    ...POLICY_FEATURES.map((f) => `| ${f} | ${profiles.map((p) => cell(CLIENT_PROFILES[p].capabilities[f])).join(' | ')} |`),
    '',
    'Why (the same words `zk-xds inspect` and `zk-xds status` print):',
    '',
  ];
  const said = new Set<string>();
  for (const f of POLICY_FEATURES) {
    for (const p of new Set(profiles)) {
      const { label, capabilities } = CLIENT_PROFILES[p];
      const s = capabilities[f];
      if (s.status === 'implements' || said.has(`${f}\n${s.why}`)) continue;
      said.add(`${f}\n${s.why}`);
      lines.push(`- ${f} (${label}): ${s.why}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
