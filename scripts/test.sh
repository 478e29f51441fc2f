#!/usr/bin/env bash
# The test command (README, CI): set up, lint, type-check, check the layer contracts, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/pytest "$@"
