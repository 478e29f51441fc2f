"""A JSON-lines record of the steps that made an artifact (argv, tool versions, seconds) for its manifest."""

from __future__ import annotations

import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any

FILE_NAME = ".llmops-journal.jsonl"
ENV_VAR = "LLMOPS_JOURNAL"
SOURCE_FILE = ".llmops-source.json"


def path_for(output: Path) -> Path:
    """$LLMOPS_JOURNAL when the Job sets one, else beside the output (inside it when it is a directory)."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    base = output if output.is_dir() else output.parent
    return base / FILE_NAME


def package_versions(*names: str) -> dict[str, str]:
    """Installed versions of the named distributions (absent ones skipped); reads metadata only."""
    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def record(output: Path, step: str, **fields: Any) -> None:
    """Append one step record."""
    path = path_for(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"step": step, **fields}, sort_keys=True) + "\n")


def read(path: Path) -> list[dict[str, Any]]:
    """All records of a journal file; a missing file is an empty journal."""
    if not path.is_file():
        return []
    records: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            records.append(json.loads(line))
    return records
