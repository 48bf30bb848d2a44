// deploy/zero-trust: the policy znode is one zk-xds accepts, the bootstraps name what the policy
// needs (the server Listener template zk-xds serves, the certificate provider instances), and the
// Envoy SDS agent cluster is a valid Cluster with the name the policy uses.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../src/xds/protos.js';
import { parsePolicy, type ServicePolicy } from '../../src/catalog/policy.js';
import { mtlsSettingsOf } from '../../src/translate/mtls-settings.js';
import { SERVER_LISTENER_NAME_TEMPLATE } from '../../src/translate/server-listener.js';
import { checkMessage } from '../support/proto-constraints.js';
import { fromCanonicalJson } from '../support/canonical-json.js';
import { service } from '../support/catalog-fixtures.js';

const read = (file: string) => readFileSync(path.join(PROJECT_ROOT, 'deploy/zero-trust', file), 'utf8');
type Bootstrap = {
  server_listener_resource_name_template?: string;
  certificate_providers: Record<string, { plugin_name: string; config: Record<string, string> }>;
};

describe('deploy/zero-trust', () => {
  const parsed = parsePolicy(read('policy-orders.json'));
  const policy = (parsed.ok ? parsed.policy : {}) as ServicePolicy;
  const settings = mtlsSettingsOf(service('orders', 1, policy));

  it('holds a policy zk-xds accepts', () => {
    expect(parsed).toMatchObject({ ok: true });
    expect(settings.mode).toBe('STRICT');
  });

  it.each(['bootstrap-server.json', 'bootstrap-client.json'])('%s defines the certificate providers the policy names', (file) => {
    const bootstrap = JSON.parse(read(file)) as Bootstrap;
    for (const name of [settings.identityProvider, settings.caProvider]) {
      expect(bootstrap.certificate_providers[name]).toMatchObject({ plugin_name: 'file_watcher', config: { refresh_interval: expect.any(String) } });
    }
  });

  it('gives the server the Listener name template zk-xds serves', () => {
    expect((JSON.parse(read('bootstrap-server.json')) as Bootstrap).server_listener_resource_name_template).toBe(SERVER_LISTENER_NAME_TEMPLATE);
  });

  it('gives Envoy a valid SDS agent cluster named as the policy says', () => {
    const cluster = parse(read('envoy-sds-cluster.yaml')) as { name: string };
    expect(cluster.name).toBe(settings.sdsCluster);
    expect(checkMessage('envoy.config.cluster.v3.Cluster', fromCanonicalJson('envoy.config.cluster.v3.Cluster', cluster) as object)).toEqual([]);
  });
});
