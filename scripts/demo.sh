#!/usr/bin/env bash
# The demo: set up, start the embedded cluster, install the CRD and plan every example against its nodes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/llmops dev up
export KUBECONFIG="${LLMOPS_CLUSTER_DIR:-$HOME/.cache/llmops/cluster}/kubeconfig"
.venv/bin/kubectl apply --server-side -f crds/llmdeployments.llmops.dev.yaml
.venv/bin/kubectl get nodes -o yaml > /tmp/llmops-demo-nodes.yaml
for example in examples/*.yaml; do
  [ "$(basename "$example")" = nodes.yaml ] && continue
  printf '%-40s ' "$example"
  .venv/bin/llmops plan -f "$example" --nodes /tmp/llmops-demo-nodes.yaml -o json 2>&1 \
    | .venv/bin/python -c 'import json,sys
t=sys.stdin.read()
try: p=json.loads(t)["plan"]; print(p["accelerator"], p["runtime"], p["format"], p["quantization"])
except ValueError: print(t.strip())'
done
