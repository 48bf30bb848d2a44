// The `zk-xds serve` configuration tests start servers with: loopback, OS-chosen ports, quick
// batching, and whatever a test overrides.
import type { ServeConfig } from '../../src/cli/serve.js';

export function serveConfig(zk: string, overrides: Partial<ServeConfig> = {}): ServeConfig {
  return {
    zk,
    zkRoot: '/services',
    zkPolicyRoot: '/zk-xds/policy',
    zkSessionTimeoutMs: 5000,
    bindAddress: '127.0.0.1',
    xdsPort: 0,
    adminPort: 0,
    debounceMs: 2,
    maxDelayMs: 50,
    domainSuffix: '',
    sidecarListenAddress: '127.0.0.1',
    ...overrides,
  };
}
