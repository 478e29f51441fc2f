"""Writes the one short failure reason Kubernetes copies from the termination log into the Pod status."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

DEFAULT_PATH = "/dev/termination-log"
ENV_VAR = "LLMOPS_TERMINATION_LOG"
# Kubernetes keeps at most 4 KiB of the file; the operator puts the reason into a condition message.
MAX_BYTES = 1024

# Hugging Face user and org tokens; a reason must never carry one into a status field.
_TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{8,}")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove known secret values and anything shaped like a Hugging Face token."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _TOKEN_PATTERN.sub("***", text)


def one_line(text: str) -> str:
    """Collapse a message to a single line of at most MAX_BYTES UTF-8 bytes."""
    line = " ".join(text.split())
    data = line.encode()
    if len(data) <= MAX_BYTES:
        return line
    return data[: MAX_BYTES - 3].decode(errors="ignore") + "..."


def resolve_path(cli_value: str | None) -> Path:
    """The flag wins over the environment, which wins over the Kubernetes default."""
    return Path(cli_value or os.environ.get(ENV_VAR) or DEFAULT_PATH)


def write_reason(path: Path, reason: str) -> str:
    """Write the redacted one-line reason; never raise, since this runs while already failing."""
    line = one_line(redact(reason, (os.environ.get("HF_TOKEN", ""),)))
    with contextlib.suppress(OSError):
        path.write_text(line + "\n", encoding="utf-8")
    return line
