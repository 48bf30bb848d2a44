#!/usr/bin/env bash
# Refreshes protos/ from the .proto files that @grpc/grpc-js-xds ships in its deps/ folder
# (Envoy data-plane-api, cncf/xds + udpa, protoc-gen-validate, googleapis), so the
# messages we encode are exactly the ones gRPC's own xDS client decodes.
# Pin: the @grpc/grpc-js-xds version in package.json; the version used is written to protos/SOURCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
src=node_modules/@grpc/grpc-js-xds/deps
[ -d "$src" ] || { echo "run npm ci first: $src is missing" >&2; exit 1; }
version=$(node -p "require('./node_modules/@grpc/grpc-js-xds/package.json').version")
rm -rf protos/envoy protos/xds protos/udpa protos/validate protos/google
mkdir -p protos
cp -r "$src/envoy-api/envoy" protos/envoy
cp -r "$src/xds/xds" protos/xds
cp -r "$src/xds/udpa" protos/udpa
cp -r "$src/protoc-gen-validate/validate" protos/validate
cp -r "$src/googleapis/google" protos/google
# Only .proto files are vendored (the deps also carry build files and docs).
find protos/envoy protos/xds protos/udpa protos/validate protos/google -type f ! -name '*.proto' -delete
cat > protos/SOURCE.md <<MD
# Vendored protos

Copied by \`make protos\` (scripts/vendor-protos.sh) from the \`deps/\` folder of
\`@grpc/grpc-js-xds@${version}\`, so that the messages zk-xds encodes are the ones gRPC's
xDS client decodes. Do not edit by hand: bump @grpc/grpc-js-xds and run \`make protos\`.

| folder | upstream project | licence |
|---|---|---|
| envoy/ | envoyproxy/data-plane-api | Apache-2.0 |
| xds/, udpa/ | cncf/xds | Apache-2.0 |
| validate/ | bufbuild/protoc-gen-validate | Apache-2.0 |
| google/ | googleapis/googleapis | Apache-2.0 |

istio/ (Istio's API protos for MCP-over-xDS) is not copied from there: see istio/SOURCE.md.
MD
echo "protos/ refreshed from @grpc/grpc-js-xds@${version}: $(find protos -name '*.proto' | wc -l) files"
# TypeScript types for the messages the translators build (src/generated/, checked in).
node scripts/generate-envoy-types.mjs
