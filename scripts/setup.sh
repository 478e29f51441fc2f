#!/usr/bin/env bash
# Set up everything the tests and the demo need on a fresh machine (idempotent; a warm run takes seconds):
# the Python environment in .venv, the pinned cluster binaries, the model-conversion lab (llama.cpp
# built from the llama-cpp-python sdist, torch/optimum/onnxruntime, pytriton's tritonserver), checkov, all
# cached under ${LLMOPS_CACHE_DIR:-~/.cache/llmops}, the Debian packages (Prometheus, and runc, iptables,
# buildah and the rest of what the real worker node and its images need), and then the container images the
# real worker node runs (e2e/images/build-images.sh, cached by content).
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

# start_step NAME COMMAND...: run COMMAND in the background, its output in $log_dir/NAME.log. The step
# notes its own end, so its time is right whatever order the steps are waited for in.
start_step() {
  local name="$1"; shift
  began[$name]=$SECONDS
  (
    status=0
    "$@" || status=$?
    echo "$SECONDS" >"$log_dir/.$name.end"
    exit "$status"
  ) >"$log_dir/$name.log" 2>&1 &
  pids[$name]=$!
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
  took=$(($(cat "$log_dir/.$name.end") - began[$name]))
  printf '%s\t%s\n' "$name" "$took" >>"$log_dir/timings.tsv"
  say "$name: done in ${took}s"
}

# One chain, not a function body relying on errexit: bash ignores `set -e` inside a function that runs
# as the left side of `||` (start_step's), so each command's failure must stop the next one here.
install_project() {
  # setup-lab.sh installs the builders' packages into the same environment at the same time.
  exec 8>.venv/.llmops-pip.lock && flock 8 && .venv/bin/python -m pip install --quiet -e '.[dev]' && touch "$stamp"
}

: >"$log_dir/timings.tsv"
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$python" -m venv .venv
  # Before any step starts: the steps below all run this environment's pip.
  .venv/bin/python -m pip install --quiet --upgrade pip
fi

say "starting: cluster binaries (Go), conversion lab (cmake + pip), project packages, checkov, Debian packages; then the images"
start_step binaries e2e/cluster/build-binaries.sh
start_step lab bash builders/scripts/setup-lab.sh --python .venv/bin/python
stamp=.venv/.llmops-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  start_step project install_project
else
  start_step project true
fi
start_step checkov bash scripts/install-checkov.sh
start_step debian bash scripts/install-debian-packages.sh

# The images need buildah (debian) and the pause binary (binaries); their builds overlap the lab's.
for step in debian binaries; do finish_step "$step"; done
bin_dir=$(tail -n 1 "$log_dir/binaries.log")
start_step images bash e2e/images/build-images.sh build --pause "$bin_dir/pause"
for step in project checkov lab images; do finish_step "$step"; done
say "ready"
