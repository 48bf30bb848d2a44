#!/usr/bin/env bash
# `make run`: installs what is missing, starts a local ZooKeeper, registers a demo service with two
# real gRPC backends, and serves xDS in the foreground. Ctrl-C stops all of it.
#   ZK_PORT (default 12181), XDS_PORT (18000), ADMIN_PORT (9901) change the ports.
set -euo pipefail
cd "$(dirname "$0")/.."
ZK_PORT=${ZK_PORT:-12181}; XDS_PORT=${XDS_PORT:-18000}; ADMIN_PORT=${ADMIN_PORT:-9901}
scripts/install-deps.sh
npm run --silent build
scripts/local-zookeeper.sh start .run/zookeeper "$ZK_PORT"
node deploy/demo/demo-backend.mjs --zk "127.0.0.1:$ZK_PORT" --service demo --count 2 &
demo_pid=$!
cleanup() {
  kill "$demo_pid" 2>/dev/null || true
  scripts/local-zookeeper.sh stop .run/zookeeper || true
}
trap cleanup EXIT
cat <<MSG
-----------------------------------------------------------------------------------------
zk-xds serves xDS on 127.0.0.1:$XDS_PORT, admin on http://127.0.0.1:$ADMIN_PORT (/readyz, /metrics).
Status page (ZooKeeper, services, proxies, convergence):  http://127.0.0.1:$ADMIN_PORT/debug/status
In another shell, call the demo service through xDS:   make demo-client
-----------------------------------------------------------------------------------------
MSG
node dist/src/cli/main.js serve --zk "127.0.0.1:$ZK_PORT" --zk-root /services \
  --xds-port "$XDS_PORT" --admin-port "$ADMIN_PORT" --bind-address 127.0.0.1 &
server_pid=$!
trap 'kill -TERM $server_pid 2>/dev/null || true' INT TERM
wait "$server_pid" || true
