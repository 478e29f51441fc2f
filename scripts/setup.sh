#!/usr/bin/env bash
# Set up everything the tests and the demo need on a fresh machine (idempotent; a warm run takes seconds):
# the Python environment in .venv and the pinned control-plane binaries in ~/.cache/llmops.
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

# Kubernetes control plane, etcd, kwok and helm, built from the Go module proxy (cold: ~10 min).
e2e/cluster/build-binaries.sh >/dev/null
