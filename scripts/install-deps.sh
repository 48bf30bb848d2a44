#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian bookworm machine (CI runs it as
# root on a clean clone). Idempotent and quick when everything is already there:
#   - apt packages: zookeeper (the server the integration tests start; pulls in default-jre),
#     python3-kazoo and libcurator-discovery-java (clients that tests register services with),
#     chromium (the status page test renders /debug/status in it, headless, through playwright-core)
#     and prometheus (its promtool parses the chart's alert rules and dashboard queries).
#     `apt-get update` only runs when a package is missing.
#   - java on PATH (the tests run /usr/share/java/zookeeper.jar themselves, no systemd service).
#   - `npm ci` when node_modules is missing or older than package-lock.json (its postinstall patches
#     the zookeeper binding, patches/); else only that patch step, which is quick when done already.
#   - helm and kubectl in .run/bin/ (scripts/install-kube-tools.sh) for the chart and manifest tests.
# Prints one summary line; exits non-zero with a message when something cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
# openjdk-17-jdk-headless: javac, to compile the Curator registrar the tests run (test/support/java).
# chromium: ~300 MB with its libraries; prometheus: ~100 MB (no service is started: no systemd here).
# python3-grpcio: gRPC C-core 1.51, the second real xDS client of the end-to-end tests.
# patch: scripts/patch-zookeeper.mjs applies patches/ to the zookeeper npm binding; libssl-dev: the
# binding's C client is built with TLS (zookeeper_init_ssl) only when OpenSSL's headers are there;
# openssl: the ZooKeeper TLS test makes its certificates with it (keytool comes with the JDK).
PACKAGES=(zookeeper python3-kazoo python3-grpcio libcurator-discovery-java openjdk-17-jdk-headless chromium prometheus fonts-dejavu-core patch libssl-dev openssl)
# Jars the test harness (test/support/zookeeper-server.ts) puts on the classpath.
REQUIRED_JARS=(/usr/share/java/zookeeper.jar /usr/share/java/slf4j-simple.jar)

die() {
  echo "install-deps: ERROR: $*" >&2
  exit 1
}

is_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# Runs a command as root: directly when we are root, else through passwordless sudo (never prompts).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo -n --preserve-env=DEBIAN_FRONTEND "$@"
  else
    die "root is needed to run: $* (run this script as root)"
  fi
}

install_apt_packages() {
  command -v dpkg-query >/dev/null || die "dpkg-query not found: this script expects Debian (bookworm)"
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    is_installed "$p" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    APT_SUMMARY="apt: all present (${PACKAGES[*]})"
    return
  fi
  local log
  log=$(mktemp)
  # Wait for a concurrent apt/dpkg instead of failing; keep existing config files; never prompt.
  local apt_opts=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=300
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  if ! as_root apt-get -q -o DPkg::Lock::Timeout=300 update >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    rm -f "$log"
    die "apt-get update failed"
  fi
  if ! as_root apt-get install "${apt_opts[@]}" "${missing[@]}" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    rm -f "$log"
    die "apt-get install ${missing[*]} failed"
  fi
  rm -f "$log"
  for p in "${missing[@]}"; do
    is_installed "$p" || die "$p is still not installed after apt-get install"
  done
  APT_SUMMARY="apt: installed ${missing[*]}"
}

check_java() {
  command -v java >/dev/null || die "java not found on PATH (the zookeeper package should have pulled in default-jre)"
  local jar
  for jar in "${REQUIRED_JARS[@]}"; do
    [ -r "$jar" ] || die "$jar is missing (expected from the zookeeper / libslf4j-java packages)"
  done
  JAVA_SUMMARY="java: $(java -version 2>&1 | head -n 1 | tr -d '"')"
}

# npm rewrites node_modules/.package-lock.json on every install, so its mtime says when
# node_modules was last installed (the directory's own mtime does not change on updates).
node_modules_stale() {
  local stamp=node_modules/.package-lock.json
  [ -d node_modules ] || return 0
  [ -f "$stamp" ] || stamp=node_modules
  [ package-lock.json -nt "$stamp" ]
}

install_node_modules() {
  if ! node_modules_stale; then
    # npm ci runs it as the postinstall; a node_modules installed before patches/ existed (or with
    # --ignore-scripts) gets it here. Quick when the patched addon is already built.
    local log
    log=$(mktemp)
    if ! npm run --silent patch-zookeeper >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      rm -f "$log"
      die "patching the zookeeper binding failed (scripts/patch-zookeeper.mjs)"
    fi
    rm -f "$log"
    NPM_SUMMARY="npm ci: skipped (node_modules up to date; zookeeper binding patched)"
    return
  fi
  command -v npm >/dev/null || die "npm not found on PATH (Node.js >= 20 is required)"
  local log
  log=$(mktemp)
  if ! npm ci --no-audit --no-fund >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    rm -f "$log"
    die "npm ci failed"
  fi
  rm -f "$log"
  NPM_SUMMARY="npm ci: done"
}

install_apt_packages
check_java
install_node_modules
KUBE_SUMMARY=$(scripts/install-kube-tools.sh) || die "scripts/install-kube-tools.sh failed"
echo "install-deps: ${APT_SUMMARY}; ${JAVA_SUMMARY}; ${NPM_SUMMARY}; ${KUBE_SUMMARY#install-kube-tools: }"
