#!/usr/bin/env bash
# The main job, from a fresh clone: build, start a local devstack (1 orchestrator + 2
# compute nodes, separate processes joined over libp2p, embedded defaults, no external
# services), run a WebAssembly hello-world job on it, describe it, download its results,
# and stop the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

demo_dir=$(mktemp -d /tmp/bacalhau-demo-XXXX)
repo=$PWD
bacalhau() { node "$repo/dist/cli/main.js" "$@"; }

echo "==> bacalhau devstack (logs and node data in $demo_dir)"
IGNORE_PID_AND_PORT_FILES=1 node dist/cli/main.js devstack --stack-repo "$demo_dir/stack" > "$demo_dir/devstack.out" 2>&1 &
stack_pid=$!
trap 'kill -INT $stack_pid 2>/dev/null; wait $stack_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  grep -q 'BACALHAU_API_PORT' "$demo_dir/devstack.out" && break
  kill -0 $stack_pid 2>/dev/null || { cat "$demo_dir/devstack.out"; exit 1; }
  sleep 0.1
done
cat "$demo_dir/devstack.out"
eval "$(grep '^export BACALHAU_API' "$demo_dir/devstack.out")"

echo "==> bacalhau node list"
bacalhau node list

echo; echo "==> bacalhau wasm run fixtures/wasm/hello.wasm"
job_id=$(bacalhau wasm run --id-only --publisher local fixtures/wasm/hello.wasm)
echo "job $job_id"

echo; echo "==> bacalhau job describe $job_id"
bacalhau job describe "$job_id"

echo; echo "==> bacalhau job get $job_id"
(cd "$demo_dir" && bacalhau job get "$job_id")
echo; echo "files:"; (cd "$demo_dir" && find "job-$job_id" -maxdepth 2 | sort)
echo "stdout: $(cat "$demo_dir/job-$job_id/stdout")"
echo; echo "Done. The devstack is stopped on exit; its data is in $demo_dir."
