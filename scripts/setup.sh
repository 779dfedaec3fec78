#!/usr/bin/env bash
# Installs what building the project needs on a fresh Debian machine with Node 20, then
# builds it. Used by the demo and the test command; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

# better-sqlite3 compiles from source here (no prebuilt binaries are reachable).
need_pkgs=()
command -v python3 >/dev/null || need_pkgs+=(python3)
command -v make >/dev/null || need_pkgs+=(make)
command -v g++ >/dev/null || need_pkgs+=(g++)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

rm -rf dist
npx tsc -p tsconfig.json
chmod +x dist/cli/main.js dist/node.js
