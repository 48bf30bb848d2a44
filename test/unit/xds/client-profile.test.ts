// The view a proxy is served, chosen from the node of its first request by user agent and version.
import { describe, expect, it } from '@jest/globals';
import type { NodeMessage } from '../../../src/xds/discovery-messages.js';
import { compareVersions, identifyClient, viewOf, type ClientFamily, type ViewName } from '../../../src/xds/client-profile.js';

function node(user_agent_name: string, user_agent_version?: string, extra: Partial<NodeMessage> = {}): NodeMessage {
  return { id: 'n', cluster: 'c', user_agent_name, user_agent_version, locality: null, ...extra };
}

describe('viewOf and identifyClient', () => {
  /** [title, node, family, version, view] */
  const cases: [string, NodeMessage | null, ClientFamily, string | undefined, ViewName][] = [
    [
      'Envoy (version in user_agent_build_version)',
      node('envoy', undefined, { user_agent_build_version: { version: { major_number: 1, minor_number: 31, patch: 2 } } }),
      'envoy',
      '1.31.2',
      'sidecar',
    ],
    ['grpc-js-xds 1.14.1', node('gRPC Node Pure JS', '1.14.1'), 'grpc-node', '1.14.1', 'proxyless'],
    [
      'C-core 1.51 from Python (Debian bookworm python3-grpcio)',
      node('gRPC C-core linux Python', 'C-core 29.0.0 Python 1.51.1'),
      'grpc-core',
      '1.51.1',
      'grpc-core-1.51',
    ],
    ['C-core 1.51 from C++ (core version only)', node('gRPC C-core linux', 'C-core 29.0.0'), 'grpc-core', '1.51.0', 'grpc-core-1.51'],
    [
      'C-core 1.48 (older: kept away from the same fields)',
      node('gRPC C-core linux Python', 'C-core 26.0.0 Python 1.48.2'),
      'grpc-core',
      '1.48.2',
      'grpc-core-1.51',
    ],
    ['C-core 1.52 from Python', node('gRPC C-core linux Python', 'C-core 30.0.0 Python 1.52.0'), 'grpc-core', '1.52.0', 'proxyless'],
    ['C-core 1.60 from C++', node('gRPC C-core linux', 'C-core 38.0.0'), 'grpc-core', '1.60.0', 'proxyless'],
    ['C-core 1.62 from Ruby', node('gRPC C-core linux Ruby', 'C-core 40.0.0 Ruby 1.62.0'), 'grpc-core', '1.62.0', 'proxyless'],
    ['gRPC Java', node('gRPC Java', '1.58.0'), 'grpc-java', '1.58.0', 'proxyless'],
    ['gRPC Go', node('gRPC Go', '1.60.1'), 'grpc-go', '1.60.1', 'proxyless'],
    ['an unknown client', node('istiod', '1.29.0'), 'other', '1.29.0', 'proxyless'],
    ['no node at all', null, 'other', undefined, 'proxyless'],
    [
      'metadata says sidecar, whatever the agent',
      node('gRPC C-core linux Python', 'C-core 29.0.0 Python 1.51.1', { metadata: { fields: { 'zkxds.io/proxy': { stringValue: 'sidecar' } } } }),
      'grpc-core',
      '1.51.1',
      'sidecar',
    ],
  ];
  it.each(cases)('%s', (_title, n, family, version, view) => {
    expect(identifyClient(n)).toEqual({ family, version });
    expect(viewOf(n)).toBe(view);
  });
});

describe('compareVersions', () => {
  it.each([
    ['1.51.1', '1.52.0', -1],
    ['1.52.0', '1.52.0', 0],
    ['1.60.0', '1.52.0', 1],
    ['1.9.0', '1.10.0', -1],
  ])('%s vs %s', (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b))).toBe(sign);
  });
});
