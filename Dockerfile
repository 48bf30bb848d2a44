# zk-xds container image. Build from the repository root:
#   docker build -t zk-xds:0.1.0 .
# Two stages: the build stage compiles TypeScript and the native ZooKeeper client (the `zookeeper`
# addon has no Linux prebuilds, so node-gyp compiles the bundled C client and links it statically);
# the runtime stage gets only what `zk-xds serve` loads, and runs as a non-root user.

FROM node:20-bookworm AS build
# The toolchain node-gyp needs, patch for patches/, and OpenSSL's headers so that the ZooKeeper C
# client is built with TLS (all present in this image already; listed so the build says why).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ patch libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# The root postinstall (scripts/patch-zookeeper.mjs) patches the zookeeper binding and rebuilds its
# addon: both must be here before npm ci.
COPY patches ./patches
COPY scripts/patch-zookeeper.mjs ./scripts/
# Installs every dependency (tsc is a devDependency); zookeeper's install script builds the addon,
# then the postinstall rebuilds it with patches/ applied.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY protos ./protos
COPY src ./src
# Compile; drop the devDependencies and the addon's C sources, object files and other platforms'
# prebuilds (the linked zookeeper.node stays in node_modules/zookeeper/build/Release): 44 -> 32 MB.
# Then fail the build here, not at the first pod start, if the addon does not load or is not the
# patched build.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/zookeeper/deps node_modules/zookeeper/prebuilds node_modules/zookeeper/build/Release/obj.target \
 && node -e "require('zookeeper')" \
 && node scripts/patch-zookeeper.mjs --check

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
RUN groupadd --gid 10001 zkxds \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin zkxds
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
# src/xds/protos.ts finds the vendored protos by walking up from dist/src/xds at run time.
COPY --from=build /src/protos ./protos
COPY --from=build /src/dist/src ./dist/src
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
# 18000: xDS (ADS, CDS/EDS/RDS/LDS, Istio MCP); 9901: admin (/healthz, /readyz, /metrics).
EXPOSE 18000 9901
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
