"""Runs one upstream tool and turns its failure into a short BuildError reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from llmops_builders import termination
from llmops_builders.errors import BuildError

# Upstream tools print long tracebacks; the reason keeps the last lines that say what went wrong.
_TAIL_LINES = 3


def find_executable(name: str) -> str:
    """PATH first, then the directory of the running interpreter (a venv's bin/ that is not on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


def _tail(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-_TAIL_LINES:])


def run(step: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> float:
    """Run argv, stream nothing, return wall seconds; on failure raise BuildError with its last words."""
    started = time.monotonic()
    merged = {**os.environ, **(env or {})}
    try:
        proc = subprocess.run(list(argv), env=merged, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BuildError(step, f"tool not found: {argv[0]}") from exc
    # Keep the full output in the Job log for humans; only the reason is kept short.
    sys.stderr.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        detail = _tail(proc.stderr) or _tail(proc.stdout) or "no output"
        name = Path(argv[0]).name if len(argv) < 2 or not argv[1].endswith(".py") else Path(argv[1]).name
        raise BuildError(step, termination.one_line(f"{name} exited with {proc.returncode}: {detail}"))
    return time.monotonic() - started
