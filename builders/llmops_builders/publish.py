"""Publishes a staged artifact as ROOT/<hex>/ with a manifest, atomically, and only once per key."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from llmops_builders import journal
from llmops_builders.errors import BuildError

STEP = "publish"
MANIFEST = "manifest.json"
SCHEMA_VERSION = 1
Format = Literal["gguf", "onnx", "tensorrt-engine", "safetensors", "pytorch"]
FORMATS: tuple[Format, ...] = ("gguf", "onnx", "tensorrt-engine", "safetensors", "pytorch")

_KEY = re.compile(r"^sha256:([0-9a-f]{64})$")
_TMP_MARK = ".tmp-"
# A temporary sibling older than this belongs to a Job that died; younger ones may still be in use.
_STALE_SECONDS = 6 * 3600
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Request:
    """Everything the manifest records about what the artifact is."""

    staging: Path
    root: Path
    key: str
    source: str
    revision: str
    resolved_revision: str | None
    format: Format
    quantization: str


def key_hex(key: str) -> str:
    """The 64 hex digits of a 'sha256:<hex>' artifact key."""
    match = _KEY.match(key)
    if not match:
        raise BuildError(STEP, f"invalid artifact key {key!r}: expected sha256:<64 lower-case hex digits>")
    return match.group(1)


def _required_layout(fmt: Format, staging: Path) -> list[str]:
    """What each serving runtime reads from the artifact; missing parts are reported by name."""
    missing: list[str] = []
    if fmt == "gguf":
        if not (staging / "model.gguf").is_file():
            missing.append("model.gguf")
    elif fmt == "onnx":
        if not list(staging.glob("triton/*/config.pbtxt")):
            missing.append("triton/<model>/config.pbtxt")
    elif fmt == "tensorrt-engine":
        if not list(staging.glob("engine/rank*.engine")):
            missing.append("engine/rank*.engine")
        for part in ("tokenizer", "triton/preprocessing", "triton/tensorrt_llm", "triton/postprocessing"):
            if not (staging / part).is_dir():
                missing.append(f"{part}/")
    elif fmt in ("safetensors", "pytorch"):
        weights = "*.safetensors" if fmt == "safetensors" else "*.bin"
        if not (staging / "config.json").is_file():
            missing.append("config.json")
        if not list(staging.glob(weights)):
            missing.append(weights)
    return missing


def _artifact_files(directory: Path) -> list[Path]:
    """Files that make up the artifact: everything except top-level bookkeeping ('.'-prefixed) entries."""
    files = [p for p in directory.rglob("*") if p.is_file() and not p.relative_to(directory).parts[0].startswith(".")]
    return sorted(files)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_tree(src: Path, dst: Path) -> None:
    """Hard-link when staging and artifacts share a filesystem (no second copy of a big model), else copy."""

    def link_or_copy(a: str, b: str) -> object:
        try:
            os.link(a, b)
            return b
        except OSError:
            return shutil.copy2(a, b)

    dst.mkdir(parents=True)
    # Empty directories matter too: Triton needs each model's version directory even when it is empty.
    for directory in sorted(p for p in src.rglob("*") if p.is_dir()):
        rel = directory.relative_to(src)
        if not rel.parts[0].startswith("."):
            (dst / rel).mkdir(parents=True, exist_ok=True)
    for path in _artifact_files(src):
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        link_or_copy(str(path), str(target))


def _fsync_tree(directory: Path) -> None:
    # The rename is atomic, but without fsync a node crash could expose a renamed dir with empty files.
    for path in [*directory.rglob("*"), directory]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _journal_records(staging: Path) -> list[dict[str, Any]]:
    records = journal.read(staging / journal.FILE_NAME)
    override = os.environ.get(journal.ENV_VAR)
    if override and Path(override) != staging / journal.FILE_NAME:
        records = journal.read(Path(override)) + records
    return records


def read_manifest(artifact: Path) -> dict[str, Any] | None:
    """The manifest of a complete artifact, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads((artifact / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _is_complete(artifact: Path, key: str) -> bool:
    manifest = read_manifest(artifact)
    if manifest is None or manifest.get("key") != key:
        return False
    # Sizes are cheap to compare; hashing a large artifact on every Job would not be.
    for entry in manifest.get("files", []):
        path = artifact / entry["path"]
        if not path.is_file() or path.stat().st_size != entry["size"]:
            return False
    return True


def _remove_stale_temporaries(root: Path, hex_key: str) -> None:
    now = time.time()
    for tmp in root.glob(f".{hex_key}{_TMP_MARK}*"):
        try:
            if now - tmp.stat().st_mtime > _STALE_SECONDS:
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            continue


def _manifest(req: Request, tmp: Path, started: float) -> dict[str, Any]:
    source_info: dict[str, Any] = {}
    source_file = req.staging / journal.SOURCE_FILE
    if source_file.is_file():
        source_info = json.loads(source_file.read_text(encoding="utf-8"))
    records = _journal_records(req.staging)
    resolved = (
        req.resolved_revision
        or source_info.get("resolvedRevision")
        or next((r["resolvedRevision"] for r in records if r.get("resolvedRevision")), None)
    )
    tools: dict[str, str] = {}
    timings: dict[str, float] = {}
    for rec in records:
        tools.update(rec.get("tools", {}))
        if "seconds" in rec:
            timings[rec["step"]] = timings.get(rec["step"], 0.0) + float(rec["seconds"])
    files = [
        {"path": str(p.relative_to(tmp)), "size": p.stat().st_size, "sha256": _sha256(p)} for p in _artifact_files(tmp)
    ]
    timings[STEP] = round(time.monotonic() - started, 3)
    return {
        "schemaVersion": SCHEMA_VERSION,
        "key": req.key,
        "source": req.source,
        "revision": req.revision,
        "resolvedRevision": resolved,
        "format": req.format,
        "quantization": req.quantization,
        "files": files,
        "totalBytes": sum(p.stat().st_size for p in _artifact_files(tmp)),
        "tools": dict(sorted(tools.items())),
        "timings": timings,
        "steps": [{k: v for k, v in r.items() if k in ("step", "argv")} for r in records if "argv" in r],
        "createdAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def publish(req: Request) -> tuple[Path, bool]:
    """Publish and return (artifact path, True if this call created it; False if it already existed)."""
    started = time.monotonic()
    hex_key = key_hex(req.key)
    if req.format not in FORMATS:
        raise BuildError(STEP, f"unknown format {req.format!r}")
    final = req.root / hex_key
    if _is_complete(final, req.key):
        return final, False
    if not req.staging.is_dir():
        raise BuildError(STEP, f"staging directory {req.staging} does not exist")
    missing = _required_layout(req.format, req.staging)
    if missing:
        raise BuildError(STEP, f"{req.format} artifact in {req.staging} lacks {', '.join(missing)}")
    req.root.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(req.root, hex_key)
    tmp = req.root / f".{hex_key}{_TMP_MARK}{uuid.uuid4().hex[:12]}"
    try:
        _copy_tree(req.staging, tmp)
        manifest = _manifest(req, tmp, started)
        # The manifest is written last: its presence is what "complete" means to readers.
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _fsync_tree(tmp)
        if final.exists():
            # A directory without a valid manifest is the leftover of a non-atomic writer; set it aside.
            if _is_complete(final, req.key):
                return final, False
            os.rename(final, req.root / f".{hex_key}{_TMP_MARK}broken-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(tmp, final)
        except OSError as exc:
            # Another Job with the same key won the race: fine, if what it published is complete.
            if _is_complete(final, req.key):
                return final, False
            raise BuildError(STEP, f"cannot move the artifact into place at {final}: {exc.strerror}") from exc
        fd = os.open(req.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return final, True
    except OSError as exc:
        raise BuildError(STEP, f"writing {final} failed: {exc.strerror or exc}") from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
