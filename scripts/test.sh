#!/usr/bin/env bash
# Sets up everything the tests need on a fresh Debian machine with Node 20, then runs
# the whole suite with Node's test runner. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The Docker tests run against a real engine: install and start it, build test images.
bash scripts/docker-engine.sh

rm -rf dist-test
npx tsc -p tsconfig.test.json
npx eslint src test bench

# One run, so the runner's closing summary counts every test. Two files at a time:
# integration and end-to-end files start real node processes on this 2-core machine.
node --test --test-concurrency=2 dist-test/test/
