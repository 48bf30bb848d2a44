#!/usr/bin/env bash
# `make test` and CI: installs what the tests need, type-checks, runs every jest suite, and ends
# with a plain `tests: N passed, N failed` line. Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1
mkdir -p .run
echo "== build (type check; the CLI tests run the compiled zk-xds)"
npm run --silent build || { echo "tests: 0 passed, 1 failed"; exit 1; }
echo "== lint and format check (biome: biome.jsonc; no warnings allowed)"
npx biome ci --colors=off --error-on-warnings --diagnostic-level=info . || { echo "tests: 0 passed, 1 failed"; exit 1; }
echo "== jest"
results=.run/jest-results.json
rm -f "$results"
NODE_OPTIONS=--experimental-vm-modules npx jest --ci --maxWorkers=2 --json --outputFile="$results" "$@"
status=$?
node -e '
  const fs = require("node:fs");
  const f = process.argv[1];
  if (!fs.existsSync(f)) { console.log("tests: 0 passed, 1 failed"); process.exit(1); }
  const r = JSON.parse(fs.readFileSync(f, "utf8"));
  // Suites that failed to run (syntax errors, crashes) count as failures too.
  const broken = r.testResults.filter((s) => s.status === "failed" && s.assertionResults.length === 0).length;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + broken} failed`);
' "$results" || status=1
exit $status
