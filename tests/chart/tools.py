"""checkov in its own virtualenv: its pins (packaging 23, networkx 2, python-dateutil 2.9) would downgrade the
project's, so it is installed once, from PyPI, under the llmops cache (a warm call takes milliseconds)."""

from __future__ import annotations

import os
import subprocess
import sys

from llmops.dev import paths

CHECKOV_VERSION = "3.3.30"


def checkov() -> str:
    """Path of the checkov executable: $LLMOPS_CHECKOV, else <cache>/tools/checkov-VERSION (installed if absent)."""
    if explicit := os.environ.get("LLMOPS_CHECKOV"):
        return explicit
    venv = paths.cache_root() / "tools" / f"checkov-{CHECKOV_VERSION}"
    complete = venv / ".installed"
    if not complete.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q", "install"]
        subprocess.run([*pip, f"checkov=={CHECKOV_VERSION}"], check=True, timeout=900)
        complete.touch()
    return str(venv / "bin" / "checkov")


def run_checkov(*args: str) -> subprocess.CompletedProcess[str]:
    """Run checkov (offline: --skip-download) through its venv's python."""
    command = [checkov(), "--skip-download", "--quiet", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
