#!/usr/bin/env bash
# Set up everything the tests and the demo need on a fresh machine (idempotent; a warm run takes seconds):
# the Python environment in .venv, the pinned control-plane binaries, the model-conversion lab (llama.cpp
# built from the llama-cpp-python sdist, torch/optimum/onnxruntime, pytriton's tritonserver), checkov and
# Prometheus, all cached under ${LLMOPS_CACHE_DIR:-~/.cache/llmops}.
#
# The steps run side by side (the Go and cmake builds are CPU-bound, the installs mostly downloads); each
# prints one line when it ends, with its time, and logs to <cache>/setup-logs/<step>.log. The times of the
# last run are in <cache>/setup-logs/timings.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${LLMOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llmops}"
log_dir="$cache/setup-logs"
mkdir -p "$log_dir"
python="${PYTHON:-python3}"
start=$SECONDS
say() { printf 'setup [%4ss] %s\n' "$((SECONDS - start))" "$*"; }

declare -A pids=() began=()
# Never leave a build running behind a failed step (and keep the script's own exit status).
stop_steps() {
  local status=$? pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  exit "$status"
}
trap stop_steps EXIT

# start_step NAME COMMAND...: run COMMAND in the background, its output in $log_dir/NAME.log.
start_step() {
  local name="$1"; shift
  "$@" >"$log_dir/$name.log" 2>&1 &
  pids[$name]=$!
  began[$name]=$SECONDS
}

# finish_step NAME: wait for NAME; on failure show the end of its log and stop.
finish_step() {
  local name="$1" took
  if ! wait "${pids[$name]}"; then
    unset "pids[$name]"
    tail -40 "$log_dir/$name.log" >&2
    echo "setup: step $name failed (log: $log_dir/$name.log)" >&2
    exit 1
  fi
  unset "pids[$name]"
  took=$((SECONDS - began[$name]))
  printf '%s\t%s\n' "$name" "$took" >>"$log_dir/timings.tsv"
  say "$name: done in ${took}s"
}

install_project() {
  # setup-lab.sh installs the builders' packages into the same environment at the same time.
  exec 8>.venv/.llmops-pip.lock
  flock 8
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  touch "$stamp"
}

: >"$log_dir/timings.tsv"
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$python" -m venv .venv
  # Before any step starts: the steps below all run this environment's pip.
  .venv/bin/python -m pip install --quiet --upgrade pip
fi

say "starting: control-plane binaries (Go), conversion lab (cmake + pip), project packages, checkov, prometheus"
start_step binaries e2e/cluster/build-binaries.sh
start_step lab bash builders/scripts/setup-lab.sh --python .venv/bin/python
stamp=.venv/.llmops-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  start_step project install_project
else
  start_step project true
fi
start_step checkov bash scripts/install-checkov.sh
start_step prometheus bash scripts/install-prometheus.sh

for step in project checkov prometheus lab binaries; do finish_step "$step"; done
say "ready"
