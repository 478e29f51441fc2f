#!/usr/bin/env bash
# The demo: set up, start the embedded cluster, install the CRD, start the operator, apply examples/ and
# watch them reach Ready.  `scripts/demo.sh down` stops the operator and the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

state="${LLMOPS_CLUSTER_DIR:-${LLMOPS_CACHE_DIR:-$HOME/.cache/llmops}/cluster}"
export KUBECONFIG="$state/kubeconfig"
kubectl=.venv/bin/kubectl
pid_file="$state/operator.pid"
namespace=llmops-demo
start=$SECONDS
say() { printf 'demo [%4ss] %s\n' "$((SECONDS - start))" "$*"; }

stop_operator() {
  if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    kill -TERM "$(cat "$pid_file")"
    for _ in $(seq 50); do kill -0 "$(cat "$pid_file")" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$pid_file"
}

if [ "${1:-up}" = down ]; then
  stop_operator
  .venv/bin/llmops dev down
  exit 0
fi

say "setting up (a first run builds Kubernetes and llama.cpp: about 20 minutes on 2 cores)"
scripts/setup.sh
say "starting the embedded cluster"
.venv/bin/llmops dev up
say "installing the CRD"
$kubectl apply --server-side --force-conflicts -f crds/llmdeployments.llmops.dev.yaml >/dev/null
# Not `kubectl wait`: it fails at once while a just-created CRD has no status conditions yet.
for _ in $(seq 120); do
  [ "$($kubectl get crd llmdeployments.llmops.dev -o jsonpath='{.status.conditions[?(@.type=="Established")].status}')" = True ] && break
  sleep 0.5
done

say "starting the operator"
stop_operator
mkdir -p "$state/logs"
nohup .venv/bin/llmops run --metrics-port 18080 --probe-port 18081 >"$state/logs/operator.log" 2>&1 &
echo $! >"$pid_file"
for _ in $(seq 60); do curl -sf http://127.0.0.1:18081/healthz >/dev/null && break; sleep 0.5; done
say "operator running (pid $(cat "$pid_file"), log $state/logs/operator.log, metrics http://127.0.0.1:18080/metrics)"
say "applying examples/ to namespace $namespace"

$kubectl create namespace "$namespace" --dry-run=client -o yaml | $kubectl apply -f - >/dev/null
# The examples reference a token Secret (by name only) and one pvc:// source claim.
$kubectl -n "$namespace" create secret generic hf-token --from-literal=token=placeholder \
  --dry-run=client -o yaml | $kubectl apply -f - >/dev/null
cat <<'YAML' | $kubectl -n "$namespace" apply -f - >/dev/null
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared-models}
spec: {accessModes: [ReadWriteMany], resources: {requests: {storage: 10Gi}}}
YAML
for example in examples/*.yaml; do
  [ "$(basename "$example")" = nodes.yaml ] || $kubectl -n "$namespace" apply -f "$example" >/dev/null
done

# Examples whose accelerator class has nodes here go to Ready; the others wait in Pending (NoMatchingNodes).
say "waiting for every example to be Ready or Pending"
deadline=$((SECONDS + 180))
while :; do
  pending=$($kubectl -n "$namespace" get llmd -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' \
    | grep -cvE '^(Ready|Pending|Failed)$' || true)
  [ "$pending" = 0 ] && break
  [ $SECONDS -ge $deadline ] && { echo "timed out waiting for the examples" >&2; break; }
  sleep 2
done
say "done"
$kubectl -n "$namespace" get llmd
endpoint=$($kubectl -n "$namespace" get llmd tinyllama-edge -o jsonpath='{.status.endpoint}' 2>/dev/null || true)
echo
echo "kubectl: export KUBECONFIG=$KUBECONFIG; stop everything: scripts/demo.sh down"
echo "an example's endpoint (tinyllama-edge, OpenAI API): ${endpoint:-<not ready>}"
echo "  reach it: $kubectl -n $namespace port-forward svc/tinyllama-edge 8080:8080 & curl -s localhost:8080/v1/models"
echo "  (the demo's node pools are played by kwok: the Service exists, but no server answers behind it yet)"
