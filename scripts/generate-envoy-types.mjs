#!/usr/bin/env node
// Generates TypeScript types for the Envoy messages the translators build (src/generated/), with
// proto-loader-gen-types from @grpc/proto-loader, the generator grpc-js-xds uses for the same
// protos. Run by `make protos` after the protos are vendored; the output is checked in.
//
// Only the files the ENTRY types reach are kept (the generator writes every message of every
// imported .proto), and relative imports get the `.js` suffix NodeNext module resolution needs.
// Field names stay snake_case (--keepCase): translators write proto-JSON that protobufjs's
// fromObject reads with keepCase (src/xds/protos.ts), so the types match what is encoded.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'src', 'generated');

/** The .proto files defining the messages below: the list src/xds/protos.ts encodes with. */
const PROTO_FILES = JSON.parse(fs.readFileSync(path.join(root, 'protos', 'message-protos.json'), 'utf8')).files;

/** The messages translators return or put in an Any; everything they reference comes along. */
const ENTRY_TYPES = [
  'envoy/config/cluster/v3/Cluster',
  'envoy/config/endpoint/v3/ClusterLoadAssignment',
  'envoy/config/listener/v3/Listener',
  'envoy/config/route/v3/RouteConfiguration',
  'envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager',
  'envoy/extensions/filters/http/router/v3/Router',
  'envoy/extensions/filters/network/tcp_proxy/v3/TcpProxy',
  'envoy/extensions/transport_sockets/tls/v3/UpstreamTlsContext',
  'envoy/extensions/transport_sockets/tls/v3/DownstreamTlsContext',
  'envoy/extensions/filters/http/rbac/v3/RBAC',
];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zkxds-gen-'));
try {
  const generator = path.join(root, 'node_modules', '@grpc', 'proto-loader', 'build', 'bin', 'proto-loader-gen-types.js');
  execFileSync(
    process.execPath,
    [
      generator,
      '--keepCase',
      '--longs',
      'String',
      '--enums',
      'String',
      '--defaults',
      '--oneofs',
      '--json',
      '--includeComments',
      '-I',
      'protos',
      '-O',
      tmp,
      ...PROTO_FILES,
    ],
    { cwd: root, stdio: 'inherit' },
  );
  fs.rmSync(outDir, { recursive: true, force: true });
  let count = 0;
  for (const file of reachable(tmp, ENTRY_TYPES)) {
    const text = fs.readFileSync(path.join(tmp, file), 'utf8').replace(/from '(\.{1,2}\/[^']+)'/g, "from '$1.js'");
    fs.mkdirSync(path.join(outDir, path.dirname(file)), { recursive: true });
    fs.writeFileSync(path.join(outDir, file), text);
    count++;
  }
  fs.writeFileSync(
    path.join(outDir, 'README.md'),
    '# Generated Envoy types\n\nWritten by `make protos` (scripts/generate-envoy-types.mjs) with `proto-loader-gen-types` from the\nvendored protos/. Do not edit by hand.\n',
  );
  console.log(`src/generated: ${count} type files for ${ENTRY_TYPES.length} Envoy messages`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

/** The generated files (relative to dir) that the entry files import, directly or not. */
function reachable(dir, entries) {
  const seen = new Set();
  const stack = entries.map((e) => `${e}.ts`);
  while (stack.length > 0) {
    const file = path.normalize(stack.pop());
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of fs.readFileSync(path.join(dir, file), 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      stack.push(path.join(path.dirname(file), `${m[1]}.ts`));
    }
  }
  return [...seen].sort();
}
