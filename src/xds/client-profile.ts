// Which xDS client a proxy is (from the node of its stream's first request), and which resource
// view it is served. Most clients get one of the two base views (proxy-kind.ts); a client release
// known to break on fields the others handle gets a view of its own, built without those fields.
// What each view leaves out is decided by the translators (src/translate/client-capabilities.ts);
// this file only recognises clients, and knows nothing of policies or resources.
import type { NodeMessage } from './discovery-messages.js';
import { proxyKindOf, type ProxyKind } from './proxy-kind.js';
import type { ResourceCache } from './resource-cache.js';

export type ClientFamily = 'envoy' | 'grpc-node' | 'grpc-core' | 'grpc-java' | 'grpc-go' | 'other';

export interface ClientIdentity {
  readonly family: ClientFamily;
  /** The release as "major.minor.patch" (gRPC's own release for C-core wrappers), when known. */
  readonly version: string | undefined;
}

/** Views beyond the two base ones, each for clients with known bugs. */
export const PROFILE_VIEWS = ['grpc-core-1.51'] as const;
export type ProfileView = (typeof PROFILE_VIEWS)[number];
/** Every resource view zk-xds may serve: one resource cache each. */
export type ViewName = ProxyKind | ProfileView;
export const VIEW_NAMES: readonly ViewName[] = ['proxyless', 'sidecar', ...PROFILE_VIEWS];

/** The kind of proxy each view serves (a profile view stands in for its kind's base view). */
export const KIND_OF_VIEW: Readonly<Record<ViewName, ProxyKind>> = { proxyless: 'proxyless', sidecar: 'sidecar', 'grpc-core-1.51': 'proxyless' };

/**
 * user_agent_name as each client sets it: Envoy "envoy"; grpc-js-xds "gRPC Node Pure JS"; C-core
 * "gRPC C-core <platform>[ <wrapper language>]" (e.g. "gRPC C-core linux Python"); Java "gRPC Java";
 * Go "gRPC Go".
 */
const FAMILIES: ReadonlyArray<[RegExp, ClientFamily]> = [
  [/^envoy$/i, 'envoy'],
  [/^gRPC Node\b/i, 'grpc-node'],
  [/^gRPC C-core\b/i, 'grpc-core'],
  [/^gRPC Java\b/i, 'grpc-java'],
  [/^gRPC Go\b/i, 'grpc-go'],
];

/** C-core's own version (user_agent_version "C-core 29.0.0 ...") is the gRPC release's minor - 22. */
const CORE_TO_RELEASE_MINOR = 22;

export function identifyClient(node: NodeMessage | null): ClientIdentity {
  const name = node?.user_agent_name ?? '';
  const family = FAMILIES.find(([re]) => re.test(name))?.[1] ?? 'other';
  return { family, version: versionOf(family, node) };
}

/** The view a proxy is served, chosen once, on its stream's first request. */
export function viewOf(node: NodeMessage | null): ViewName {
  const kind = proxyKindOf(node);
  if (kind === 'sidecar') return 'sidecar';
  const id = identifyClient(node);
  // Measured on 1.51.1 (Debian bookworm's python3-grpcio); older C-core is kept away from the same
  // fields. Later releases get the gRPC view (not measured here: see docs/clients.md).
  if (id.family === 'grpc-core' && id.version !== undefined && compareVersions(id.version, '1.52.0') < 0) return 'grpc-core-1.51';
  return 'proxyless';
}

function versionOf(family: ClientFamily, node: NodeMessage | null): string | undefined {
  const text = node?.user_agent_version ?? '';
  if (family === 'grpc-core') {
    // "C-core 29.0.0 Python 1.51.1": a wrapper's own version is the gRPC release; C++ has none.
    const wrapper = /^C-core \S+ \S.*?(\d+\.\d+\.\d+)\S*\s*$/.exec(text);
    if (wrapper) return wrapper[1];
    const core = /^C-core (\d+)\.(\d+)\.(\d+)/.exec(text);
    return core ? `1.${Number(core[1]) + CORE_TO_RELEASE_MINOR}.${core[3]}` : undefined;
  }
  const plain = /(\d+\.\d+\.\d+)/.exec(text);
  if (plain) return plain[1];
  // Envoy sets only the deprecated-in-name but still filled user_agent_build_version.
  const v = node?.user_agent_build_version?.version;
  return v ? `${v.major_number ?? 0}.${v.minor_number ?? 0}.${v.patch ?? 0}` : undefined;
}

/** Compares dotted numeric versions ("1.51.1" < "1.52.0"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The resource caches of the views: the two base views always; a profile view's own cache when it
 * is served, else its kind's base view stands in for it.
 */
export type ViewCaches = Readonly<Record<ProxyKind, ResourceCache>> & Readonly<Partial<Record<ProfileView, ResourceCache>>>;

export function cacheOfView(caches: ViewCaches, view: ViewName): ResourceCache {
  return caches[view] ?? caches[KIND_OF_VIEW[view]];
}

/** The views that have a cache of their own (base views first). */
export function servedViews(caches: ViewCaches): ViewName[] {
  return VIEW_NAMES.filter((v) => v === KIND_OF_VIEW[v] || caches[v] !== undefined);
}
