#!/usr/bin/env bash
# Sets up everything the tests need on a fresh Debian machine with Node 20, then runs
# the whole suite with Node's test runner. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

# better-sqlite3 builds from source here (no prebuilt binaries are reachable).
need_pkgs=()
command -v python3 >/dev/null || need_pkgs+=(python3)
command -v make >/dev/null || need_pkgs+=(make)
command -v g++ >/dev/null || need_pkgs+=(g++)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

rm -rf dist dist-test
npx tsc -p tsconfig.json
npx tsc -p tsconfig.test.json

# One run, so the runner's closing summary counts every test. Two files at a time:
# integration and end-to-end files start real node processes on this 2-core machine.
node --test --test-concurrency=2 dist-test/test/
