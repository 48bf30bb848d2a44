// Loads the vendored Envoy and Istio protos (protos/) into one protobufjs Root, once per process.
// Every message zk-xds sends is encoded with these types; nothing is hand-written.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

/** The folder holding the vendored .proto tree (works from src/ under ts-jest and from dist/src/). */
export const PROTO_DIR = findUp(here, 'protos');

/** The repository (or install) root: the folder holding protos/. */
export const PROJECT_ROOT = path.dirname(PROTO_DIR);

// protobufjs bundles most google/protobuf well-known types in memory; descriptor.proto it
// ships as a file next to its sources.
const WELL_KNOWN_DIR = path.join(path.dirname(require.resolve('protobufjs/package.json')), 'google', 'protobuf');
const BUNDLED_WELL_KNOWN = new Set(Object.keys(protobuf.common).filter((k) => k.endsWith('.proto')));

/** The discovery services zk-xds serves. */
export const SERVICE_PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/cluster/v3/cds.proto',
  'envoy/service/endpoint/v3/eds.proto',
  'envoy/service/listener/v3/lds.proto',
  'envoy/service/route/v3/rds.proto',
];

/** The .proto files of the messages zk-xds sends (one list, shared with the type generator). */
export const MESSAGE_PROTO_FILES: readonly string[] = (JSON.parse(readFileSync(path.join(PROTO_DIR, 'message-protos.json'), 'utf8')) as { files: string[] })
  .files;

/** Proto files whose messages zk-xds encodes or decodes. */
export const ROOT_PROTO_FILES = [...SERVICE_PROTO_FILES, ...MESSAGE_PROTO_FILES];

/**
 * Istio's MCP envelope and the ServiceEntry body (protos/istio, see its SOURCE.md). They import
 * each other by their istio/api paths (`mcp/...`, `networking/...`), resolved under protos/istio.
 */
export const ISTIO_PROTO_FILES = ['mcp/v1alpha1/resource.proto', 'networking/v1alpha3/service_entry.proto'];
const ISTIO_IMPORT_ROOTS = ['mcp/', 'networking/', 'meta/', 'analysis/', 'type/'];

let cached: protobuf.Root | undefined;

/** The shared Root with every type in ROOT_PROTO_FILES and their imports resolved. */
export function envoyRoot(): protobuf.Root {
  if (cached) return cached;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => resolveProtoPath(target);
  root.loadSync([...ROOT_PROTO_FILES, ...ISTIO_PROTO_FILES], { keepCase: true });
  root.resolveAll();
  cached = root;
  return root;
}

/** Where an import path of a vendored proto is: bundled well-known types, protos/istio, or protos/. */
export function resolveProtoPath(target: string): string {
  if (BUNDLED_WELL_KNOWN.has(target)) return target;
  if (target.startsWith('google/protobuf/')) return path.join(WELL_KNOWN_DIR, path.basename(target));
  if (ISTIO_IMPORT_ROOTS.some((r) => target.startsWith(r))) return path.join(PROTO_DIR, 'istio', target);
  return path.join(PROTO_DIR, target);
}

/** Looks up a message type by its full name, e.g. `envoy.config.cluster.v3.Cluster`. */
export function messageType(fullName: string): protobuf.Type {
  return envoyRoot().lookupType(fullName);
}

function findUp(start: string, name: string): string {
  let dir = start;
  for (;;) {
    const candidate = path.join(dir, name);
    if (isDir(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the ${name}/ folder above ${start}`);
    dir = parent;
  }
}

function isDir(p: string): boolean {
  try {
    return require('node:fs').statSync(p).isDirectory();
  } catch {
    return false;
  }
}
