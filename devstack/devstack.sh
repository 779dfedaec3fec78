#!/usr/bin/env bash
# Starts a local cluster of separate node processes (1 orchestrator + 2 compute nodes by
# default) and keeps it running until Ctrl-C. Same flags as `bacalhau devstack`:
#   devstack/devstack.sh --orchestrators 1 --computes 4 --hybrids 0 [--stack-repo DIR]
# PREDICTABLE_API_PORT=1 puts the first node's API on port 20000.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/cli/main.js ] || bash scripts/setup.sh
exec node dist/cli/main.js devstack "$@"
