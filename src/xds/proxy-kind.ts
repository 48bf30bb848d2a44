// Which resource view a connecting proxy gets. Envoy sidecars need real listeners on ports and
// must never see api_listeners (Envoy rejects them over LDS); proxyless gRPC clients need
// api_listeners named after the service and only the load-balancing policies gRPC implements.
import type { NodeMessage } from './discovery-messages.js';

export type ProxyKind = 'proxyless' | 'sidecar';

/** Node metadata key that overrides the detection: "sidecar" or "proxyless". */
export const PROXY_KIND_METADATA_KEY = 'zkxds.io/proxy';

/**
 * The node metadata key wins; otherwise Envoy (user_agent_name "envoy", which Envoy always sets)
 * is a sidecar and anything else (gRPC sets "gRPC Node", "gRPC Go", ...) is proxyless.
 */
export function proxyKindOf(node: NodeMessage | null): ProxyKind {
  const declared = node?.metadata?.fields?.[PROXY_KIND_METADATA_KEY]?.stringValue;
  if (declared === 'sidecar' || declared === 'proxyless') return declared;
  return node?.user_agent_name === 'envoy' ? 'sidecar' : 'proxyless';
}
