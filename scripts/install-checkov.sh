#!/usr/bin/env bash
# Install checkov (the chart tests' policy scanner) into its own virtualenv under the llmops cache: its pins
# (packaging 23, networkx 2, python-dateutil 2.9) would downgrade the project's. Idempotent; prints the path
# of the checkov executable. tests/chart/tools.py reads CHECKOV_VERSION from this file.
set -euo pipefail

CHECKOV_VERSION=3.3.30
python="${PYTHON:-python3}"
cache="${LLMOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llmops}"
venv="$cache/tools/checkov-$CHECKOV_VERSION"

if [ ! -f "$venv/.installed" ]; then
  "$python" -m venv --clear "$venv"
  "$venv/bin/python" -m pip --disable-pip-version-check --quiet install "checkov==$CHECKOV_VERSION"
  touch "$venv/.installed"
fi
echo "$venv/bin/checkov"
