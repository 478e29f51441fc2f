#!/usr/bin/env bash
# Set up everything the tests and the demo need on a fresh machine (idempotent; a warm run takes seconds):
# the Python environment in .venv, the pinned control-plane binaries and the model-conversion lab
# (llama.cpp built from the llama-cpp-python sdist, torch/optimum/onnxruntime, pytriton's tritonserver),
# all cached under ~/.cache/llmops.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=.venv/.llmops-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  touch "$stamp"
fi

# checkov in its own venv (it pins versions that clash with .venv); cached under ~/.cache/llmops/tools.
.venv/bin/python -c 'from tests.chart.tools import checkov; checkov()'

# Debian's prometheus + promtool for the observability checks (needs root and apt; instant when present).
bash scripts/install-prometheus.sh

# The two slow cold builds (kubernetes from the Go proxy, llama.cpp with cmake) run side by side.
log_dir="${LLMOPS_CACHE_DIR:-$HOME/.cache/llmops}/setup-logs"
mkdir -p "$log_dir"
e2e/cluster/build-binaries.sh >"$log_dir/build-binaries.log" 2>&1 &
binaries=$!
if ! bash builders/scripts/setup-lab.sh --python .venv/bin/python >"$log_dir/setup-lab.log" 2>&1; then
  tail -40 "$log_dir/setup-lab.log" >&2
  echo "setup: builders/scripts/setup-lab.sh failed (log: $log_dir/setup-lab.log)" >&2
  exit 1
fi
if ! wait "$binaries"; then
  tail -40 "$log_dir/build-binaries.log" >&2
  echo "setup: e2e/cluster/build-binaries.sh failed (log: $log_dir/build-binaries.log)" >&2
  exit 1
fi
