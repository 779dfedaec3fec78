#!/usr/bin/env bash
# The main job, from a fresh clone: build, start a local node (orchestrator + compute,
# embedded defaults, no external services), run a WebAssembly hello-world job on it,
# describe it, download its results, and stop the node.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

demo_dir=$(mktemp -d /tmp/bacalhau-demo-XXXX)
port=${DEMO_API_PORT:-1234}
bacalhau() { node dist/cli/main.js "$@"; }
export BACALHAU_API_HOST=127.0.0.1 BACALHAU_API_PORT=$port BACALHAU_DIR=$demo_dir/node

echo "==> starting a node (data in $demo_dir/node, API on 127.0.0.1:$port)"
node dist/node.js --role hybrid --api-port "$port" -c Publishers.Types.Local.Port=0 > "$demo_dir/node.log" 2>&1 &
node_pid=$!
trap 'kill $node_pid 2>/dev/null; wait $node_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q 'API listening' "$demo_dir/node.log" && break
  kill -0 $node_pid 2>/dev/null || { cat "$demo_dir/node.log"; exit 1; }
  sleep 0.1
done
bacalhau agent alive

echo; echo "==> bacalhau wasm run fixtures/wasm/hello.wasm"
job_id=$(bacalhau wasm run --id-only --publisher local fixtures/wasm/hello.wasm)
echo "job $job_id"

echo; echo "==> bacalhau job describe $job_id"
bacalhau job describe "$job_id"

echo; echo "==> bacalhau job get $job_id"
(cd "$demo_dir" && node "$OLDPWD/dist/cli/main.js" job get "$job_id")
echo; echo "files:"; (cd "$demo_dir" && find "job-$job_id" -maxdepth 2 | sort)
echo "stdout: $(cat "$demo_dir/job-$job_id/stdout")"
echo; echo "Done. The node has been stopped; its data is in $demo_dir."
