#!/usr/bin/env bash
# Runs the benchmarks (a real node process per measurement) and prints their JSON.
# Figures go into BENCHMARKS.md with the machine and date they were taken on.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
rm -rf dist-test && npx tsc -p tsconfig.test.json
mkdir -p .bench-out
node dist-test/bench/wasm-engine.js "$@" | tee .bench-out/wasm-engine.json
node dist-test/bench/jobs.js "$@" | tee .bench-out/jobs.json
node dist-test/bench/scheduling.js | tee .bench-out/scheduling.json
node dist-test/bench/network.js "$@" | tee .bench-out/network.json
node dist-test/bench/docker.js "$@" | tee .bench-out/docker.json
node dist-test/bench/data.js | tee .bench-out/data.json
node dist-test/bench/ipfs.js | tee .bench-out/ipfs.json
