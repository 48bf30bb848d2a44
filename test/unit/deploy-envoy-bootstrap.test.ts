// The sample Envoy bootstrap in deploy/ is checked against Envoy's own Bootstrap proto (its
// validate.rules), and it must point ADS at a cluster it defines.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../src/xds/protos.js';
import { PROXY_KIND_METADATA_KEY } from '../../src/xds/proxy-kind.js';
import { checkMessage } from '../support/proto-constraints.js';
import { fromCanonicalJson } from '../support/canonical-json.js';
import { envoyRoot } from '../../src/xds/protos.js';

const bootstrap = parse(readFileSync(path.join(PROJECT_ROOT, 'deploy/envoy/bootstrap.yaml'), 'utf8')) as {
  node: { id: string; metadata: Record<string, string> };
  dynamic_resources: { ads_config: { api_type: string; grpc_services: Array<{ envoy_grpc: { cluster_name: string } }> } };
  static_resources: { clusters: Array<{ name: string }> };
};

describe('deploy/envoy/bootstrap.yaml', () => {
  it('satisfies the validate.rules of envoy.config.bootstrap.v3.Bootstrap', () => {
    // Envoy reads YAML as canonical proto3 JSON ("1s" durations, Struct as a plain map).
    envoyRoot().loadSync('envoy/config/bootstrap/v3/bootstrap.proto', { keepCase: true }).resolveAll();
    const violations = checkMessage('envoy.config.bootstrap.v3.Bootstrap', fromCanonicalJson('envoy.config.bootstrap.v3.Bootstrap', bootstrap) as object)
      // The HTTP/2 upstream options extension is not among the protos gRPC ships (and we vendor);
      // it is the non-deprecated way to speak HTTP/2 to zk-xds, so it stays.
      .filter((v) => !(v.rule === 'any.unknown_type' && v.path.includes('typed_extension_protocol_options')));
    expect(violations).toEqual([]);
  });

  it('sends ADS (delta) to a cluster it defines, and declares itself a sidecar', () => {
    const ads = bootstrap.dynamic_resources.ads_config;
    expect(ads.api_type).toBe('DELTA_GRPC');
    const target = ads.grpc_services[0]!.envoy_grpc.cluster_name;
    expect(bootstrap.static_resources.clusters.map((c) => c.name)).toContain(target);
    expect(bootstrap.node.metadata[PROXY_KIND_METADATA_KEY]).toBe('sidecar');
  });
});
