"""checkov, installed by scripts/install-checkov.sh (part of scripts/setup.sh) into its own virtualenv."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from llmops_dev import paths

INSTALL_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install-checkov.sh"


def checkov_version() -> str:
    """The version the install script pins (one place for it)."""
    match = re.search(r"^CHECKOV_VERSION=(\S+)$", INSTALL_SCRIPT.read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{INSTALL_SCRIPT} pins no CHECKOV_VERSION")
    return match.group(1)


def checkov() -> str:
    """Path of the checkov executable: $LLMOPS_CHECKOV, else the one scripts/install-checkov.sh installed."""
    if explicit := os.environ.get("LLMOPS_CHECKOV"):
        return explicit
    venv = paths.cache_root() / "tools" / f"checkov-{checkov_version()}"
    if not (venv / ".installed").exists():
        raise RuntimeError(f"checkov is not installed at {venv}: run scripts/setup.sh")
    return str(venv / "bin" / "checkov")


def run_checkov(*args: str) -> subprocess.CompletedProcess[str]:
    """Run checkov (offline: --skip-download) through its venv's python."""
    command = [checkov(), "--skip-download", "--quiet", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
