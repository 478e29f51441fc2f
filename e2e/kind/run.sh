#!/usr/bin/env bash
# The operator e2e suite (tests/integration/test_operator.py) on a kind cluster, for machines with Docker.
# Not run by CI (no Docker there): CI runs the same module on the embedded cluster (e2e/cluster/).
#
#   e2e/kind/run.sh [pytest args...]     e.g. e2e/kind/run.sh -k cpu
#
# Needs docker, kind, and this checkout set up (scripts/setup.sh: .venv, kubectl, and kwok + helm built in
# ~/.cache/llmops/bin). Steps: create the kind cluster, build and load the operator image, add the fake GPU
# node pools of e2e/cluster/nodes.yaml (played by kwok, run locally against kind, as in the embedded
# cluster), install the chart and run `helm test`, then run the suite with LLMOPS_TEST_KUBECONFIG.
# KEEP_CLUSTER=1 keeps the cluster afterwards; KIND_CLUSTER names it (default llmops-e2e).
set -euo pipefail
cd "$(dirname "$0")/../.."

cluster=${KIND_CLUSTER:-llmops-e2e}
image=${IMAGE:-ghcr.io/llmops-dev/operator:e2e}
kubectl=.venv/bin/kubectl
bin_dir=$(e2e/cluster/build-binaries.sh | tail -n 1)
work=$(mktemp -d)
export KUBECONFIG="$work/kubeconfig"

cleanup() {
  [ -n "${kwok_pid:-}" ] && kill "$kwok_pid" 2>/dev/null || true
  [ "${KEEP_CLUSTER:-0}" = 1 ] || kind delete cluster --name "$cluster" || true
  rm -rf "$work"
}
trap cleanup EXIT

# 1. The cluster and the operator image.
kind create cluster --name "$cluster" --kubeconfig "$KUBECONFIG" --wait 120s
docker build -t "$image" .
kind load docker-image "$image" --name "$cluster"

# 2. Test workloads go to the fake pools only: the real node is tainted, and only the operator tolerates it.
"$kubectl" taint nodes --all llmops.dev/e2e=real:NoSchedule --overwrite
# PVCs are provisioned by kwok's stages (e2e/cluster/storage.yaml), as in the embedded cluster.
"$kubectl" delete storageclass standard --ignore-not-found
"$kubectl" apply -f e2e/cluster/storage.yaml
"$kubectl" create -f e2e/cluster/nodes.yaml
stages=()
for stage in e2e/cluster/kwok/*.yaml; do stages+=("--config=$stage"); done
KWOK_WORKDIR="$work/kwok" "$bin_dir/kwok" --kubeconfig="$KUBECONFIG" "${stages[@]}" \
  --manage-nodes-with-label-selector=type=kwok --node-lease-duration-seconds=40 \
  --cidr=10.250.0.0/16 --node-ip=127.0.0.1 --server-address=127.0.0.1:10247 >"$work/kwok.log" 2>&1 &
kwok_pid=$!
"$kubectl" wait --for=condition=Ready node -l type=kwok --timeout=180s

# 3. The chart, for real: the pod runs on kind's kubelet (probes, read-only root, restricted namespace).
"$kubectl" create namespace llmops-system
"$kubectl" label namespace llmops-system pod-security.kubernetes.io/enforce=restricted
"$bin_dir/helm" install llmops charts/llmops -n llmops-system --wait --timeout 5m \
  --set image.repository="${image%:*}" --set image.tag="${image##*:}" --set image.pullPolicy=Never \
  --set 'tolerations[0].key=llmops.dev/e2e' --set 'tolerations[0].operator=Exists'
"$bin_dir/helm" test llmops -n llmops-system --timeout 2m

# 4. The suite runs its own operator process: the in-cluster one steps aside (the CRD stays).
"$kubectl" -n llmops-system scale deployment/llmops --replicas=0
LLMOPS_TEST_KUBECONFIG="$KUBECONFIG" .venv/bin/pytest tests/integration/test_operator.py -m cluster "$@"
