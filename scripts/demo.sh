#!/usr/bin/env bash
# The demo: set up, start the embedded cluster, install the CRD, then
#  - for real: make a tiny model, serve it from the local model hub, and apply e2e/demo/tiny-edge.yaml, which the
#    operator downloads, converts, quantizes and serves on the real node; curl its completions endpoint;
#  - simulated: apply examples/ (GPU, CPU and edge pools played by kwok) and watch them reach Ready or Pending.
# `scripts/demo.sh down` stops the hub, the operators and the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${LLMOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llmops}"
state="${LLMOPS_CLUSTER_DIR:-$cache/cluster}"
export KUBECONFIG="$state/kubeconfig"
kubectl=.venv/bin/kubectl
python=.venv/bin/python
namespace=llmops-demo            # real pods
simulated=llmops-demo-simulated  # kwok pools
hub_port=18090
start=$SECONDS
say() { printf 'demo [%4ss] %s\n' "$((SECONDS - start))" "$*"; }

# stop NAME: end the background process recorded in $state/NAME.pid.
stop() {
  local pid_file="$state/$1.pid"
  if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    kill -TERM "$(cat "$pid_file")"
    for _ in $(seq 50); do kill -0 "$(cat "$pid_file")" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$pid_file"
}

# background NAME COMMAND...: start COMMAND detached, logging to $state/logs/NAME.log.
background() {
  local name="$1"; shift
  stop "$name"
  nohup "$@" >"$state/logs/$name.log" 2>&1 &
  echo $! >"$state/$name.pid"
}

healthy() {
  for _ in $(seq 60); do curl -sf "$1" >/dev/null && return 0; sleep 0.5; done
  echo "demo: $1 did not answer" >&2
  return 1
}

if [ "${1:-up}" = down ]; then
  for name in operator operator-simulated hub port-forward; do stop "$name"; done
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

mkdir -p "$state/logs"
say "making the demo's tiny model and serving it from the local model hub"
hub_root="$cache/hub"
[ -f "$hub_root/llmops-demo/tiny-llama/config.json" ] \
  || $python -m llmops_builders.lab.tinymodel --arch llama "$hub_root/llmops-demo/tiny-llama" >/dev/null
# The operator's configuration for the real path: local images, the hub, the real node as build node.
hub_host=$($python -m llmops_dev.localconfig --kubeconfig "$KUBECONFIG" --hub-port "$hub_port" --out "$state/demo")
background hub $python -m llmops_dev.hub --root "$hub_root" --host "$hub_host" --port "$hub_port"
healthy "http://$hub_host:$hub_port/api/models/llmops-demo/tiny-llama"
# The real node serves the demo's edge example: it joins the edge class.
$kubectl label node llmops-worker llmops.dev/accelerator=edge --overwrite >/dev/null

say "starting the operators: one for the real namespace $namespace, one for the simulated $simulated"
background operator .venv/bin/llmops run -n "$namespace" --metrics-port 18080 --probe-port 18081 \
  --images-config "$state/demo/images.yaml" --conversion-config "$state/demo/conversion.yaml"
background operator-simulated .venv/bin/llmops run -n "$simulated" --metrics-port 18082 --probe-port 18083
healthy http://127.0.0.1:18081/healthz
healthy http://127.0.0.1:18083/healthz
say "operators running (logs $state/logs/operator*.log, metrics http://127.0.0.1:18080/metrics and :18082)"

say "applying e2e/demo/tiny-edge.yaml to $namespace (real) and examples/ to $simulated (kwok)"
for ns in "$namespace" "$simulated"; do
  $kubectl create namespace "$ns" --dry-run=client -o yaml | $kubectl apply -f - >/dev/null
done
$kubectl -n "$namespace" apply -f e2e/demo/tiny-edge.yaml >/dev/null
# The examples reference a token Secret (by name only) and one pvc:// source claim.
$kubectl -n "$simulated" create secret generic hf-token --from-literal=token=placeholder \
  --dry-run=client -o yaml | $kubectl apply -f - >/dev/null
cat <<'YAML' | $kubectl -n "$simulated" apply -f - >/dev/null
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared-models}
spec: {accessModes: [ReadWriteMany], resources: {requests: {storage: 10Gi}}}
YAML
for example in examples/*.yaml; do
  [ "$(basename "$example")" = nodes.yaml ] || $kubectl -n "$simulated" apply -f "$example" >/dev/null
done
# Examples whose accelerator class has nodes here go to Ready; the others wait in Pending (NoMatchingNodes).
say "waiting for every example to be Ready or Pending"
deadline=$((SECONDS + 180))
while :; do
  pending=$($kubectl -n "$simulated" get llmd -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' \
    | grep -cvE '^(Ready|Pending|Failed)$' || true)
  [ "$pending" = 0 ] && break
  [ $SECONDS -ge $deadline ] && { echo "timed out waiting for the examples" >&2; break; }
  sleep 2
done
say "simulated examples settled"
$kubectl -n "$simulated" get llmd

say "waiting for the real example (download, convert, quantize, serve: a few minutes cold, seconds cached)"
deadline=$((SECONDS + 900))
phase() { $kubectl -n "$namespace" get llmd tiny-edge -o jsonpath='{.status.phase}'; }
until [ "$(phase)" = Ready ]; do
  if [ "$(phase)" = Failed ] || [ $SECONDS -ge $deadline ]; then
    $kubectl -n "$namespace" get llmd tiny-edge -o yaml >&2
    echo "demo: tiny-edge did not become Ready" >&2
    exit 1
  fi
  sleep 3
done
$kubectl -n "$namespace" get llmd tiny-edge
$kubectl -n "$namespace" get pods -o wide
background port-forward $kubectl -n "$namespace" port-forward svc/tiny-edge 18088:8080
healthy http://127.0.0.1:18088/health
body='{"prompt": "Return the number of items", "max_tokens": 16}'
say "the real example answers through its Service (kubectl port-forward svc/tiny-edge 18088:8080 is running):"
echo "  curl -s localhost:18088/v1/completions -H 'Content-Type: application/json' -d '$body'"
curl -s localhost:18088/v1/completions -H 'Content-Type: application/json' -d "$body"
echo
echo "kubectl: export KUBECONFIG=$KUBECONFIG; stop everything: scripts/demo.sh down"
