#!/bin/sh
# The connection-storm benchmark (bench/connection-storm.ts). The kernel caps every listen backlog
# at net.core.somaxconn (4096 by default), which 10,000 proxies arriving at once overflow; as in a
# pod with that sysctl raised, the run goes into a network namespace of its own (loopback only)
# where it is raised, leaving the host's setting alone. Without the rights for that, it runs here.
set -e
cd "$(dirname "$0")/.."
if unshare -n true 2>/dev/null; then
  exec unshare -n sh -c 'ip link set lo up && sysctl -qw net.core.somaxconn=65535 && exec node dist/bench/connection-storm.js "$@"' sh "$@"
fi
exec node dist/bench/connection-storm.js "$@"
