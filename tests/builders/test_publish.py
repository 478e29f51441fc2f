"""Atomic, idempotent publishing of artifacts with a manifest: what the serving Deployments rely on."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

CliRunner = Callable[..., subprocess.CompletedProcess[str]]
HEX = "5e" * 32
KEY = f"sha256:{HEX}"


def _publish_args(staging: Path, root: Path, fmt: str = "gguf", key: str = KEY) -> list[str]:
    return [
        "publish", "--src", str(staging), "--artifacts-root", str(root), "--key", key,
        "--source", "hf://org/model", "--revision", "main", "--format", fmt, "--quantization", "q4_k_m",
    ]  # fmt: skip


def _gguf_staging(path: Path, size: int = 1000) -> Path:
    path.mkdir(parents=True)
    (path / "model.gguf").write_bytes(b"GGUF" + os.urandom(size))
    return path


def test_manifest_records_files_hashes_source_and_steps(cli: CliRunner, tmp_path: Path) -> None:
    staging = _gguf_staging(tmp_path / "staging")
    (staging / ".llmops-source.json").write_text(json.dumps({"resolvedRevision": "c" * 40}))
    (staging / ".llmops-journal.jsonl").write_text(
        json.dumps({"step": "quantize-gguf", "argv": ["llama-quantize", "a", "b", "Q4_K_M"], "seconds": 1.5,
                    "tools": {"llama.cpp": "x"}}) + "\n"
    )  # fmt: skip
    proc = cli(*_publish_args(staging, tmp_path / "root"))
    artifact = tmp_path / "root" / HEX
    assert proc.stdout.strip() == f"published: {artifact}"
    manifest = json.loads((artifact / "manifest.json").read_text())
    data = (staging / "model.gguf").read_bytes()
    assert manifest["files"] == [{"path": "model.gguf", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}]
    assert manifest["key"] == KEY and manifest["resolvedRevision"] == "c" * 40
    assert manifest["source"] == "hf://org/model" and manifest["revision"] == "main"
    assert manifest["format"] == "gguf" and manifest["quantization"] == "q4_k_m"
    assert manifest["tools"] == {"llama.cpp": "x"}
    assert manifest["timings"]["quantize-gguf"] == 1.5 and manifest["timings"]["publish"] >= 0
    assert manifest["steps"] == [{"step": "quantize-gguf", "argv": ["llama-quantize", "a", "b", "Q4_K_M"]}]
    # Bookkeeping files stay out of the artifact.
    assert sorted(p.name for p in artifact.iterdir()) == ["manifest.json", "model.gguf"]


def test_resolved_revision_flag_wins(cli: CliRunner, tmp_path: Path) -> None:
    staging = _gguf_staging(tmp_path / "staging")
    cli(*_publish_args(staging, tmp_path / "root"), "--resolved-revision", "d" * 40)
    assert json.loads((tmp_path / "root" / HEX / "manifest.json").read_text())["resolvedRevision"] == "d" * 40


def test_rerun_with_a_complete_artifact_changes_nothing(cli: CliRunner, tmp_path: Path) -> None:
    staging = _gguf_staging(tmp_path / "staging")
    cli(*_publish_args(staging, tmp_path / "root"))
    manifest = tmp_path / "root" / HEX / "manifest.json"
    before = (manifest.stat().st_mtime_ns, manifest.read_bytes())
    # Replace (not rewrite in place): published files may be hard links of the staged ones.
    (staging / "model.gguf").unlink()
    (staging / "model.gguf").write_bytes(b"GGUF different")
    proc = cli(*_publish_args(staging, tmp_path / "root"))
    assert proc.stdout.strip() == f"already published: {tmp_path / 'root' / HEX}"
    assert (manifest.stat().st_mtime_ns, manifest.read_bytes()) == before
    # Even a missing staging dir is fine once the artifact exists: the Job is simply done.
    cli(*_publish_args(tmp_path / "gone", tmp_path / "root"))


def test_incomplete_artifact_is_replaced(cli: CliRunner, tmp_path: Path) -> None:
    staging = _gguf_staging(tmp_path / "staging")
    half = tmp_path / "root" / HEX
    half.mkdir(parents=True)
    (half / "model.gguf").write_bytes(b"GGUF trunc")  # a non-atomic writer died here: no manifest
    cli(*_publish_args(staging, tmp_path / "root"))
    assert (half / "model.gguf").read_bytes() == (staging / "model.gguf").read_bytes()
    assert (half / "manifest.json").is_file()


def test_killed_publish_leaves_no_half_artifact_and_rerun_completes(tmp_path: Path, cli_env: dict[str, str]) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    big = staging / "model.gguf"
    with big.open("wb") as fh:
        fh.write(b"GGUF")
        fh.truncate(1024**3)  # sparse: hashing 1 GiB takes a few seconds here, costs no disk
    root = tmp_path / "root"
    argv = [sys.executable, "-m", "llmops_builders.cli", "--termination-log", str(tmp_path / "log"),
            *_publish_args(staging, root)]  # fmt: skip
    proc = subprocess.Popen(argv, env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not list(root.glob(f".{HEX}.tmp-*")):
        assert proc.poll() is None, "publish ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(0.05)  # inside the copy-and-hash phase, before the rename
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert not (root / HEX).exists()
    assert list(root.glob(f".{HEX}.tmp-*"))  # the dead Job's temporary sibling, never the artifact
    rerun = subprocess.run(argv, env=cli_env, capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    manifest = json.loads((root / HEX / "manifest.json").read_text())
    assert manifest["files"][0]["size"] == 1024**3


@pytest.mark.parametrize(
    ("fmt", "make", "missing"),
    [
        ("gguf", [], "model.gguf"),
        ("onnx", ["triton/m/1/model.py"], "triton/<model>/config.pbtxt"),
        ("safetensors", ["config.json"], "*.safetensors"),
        ("tensorrt-engine", ["engine/rank0.engine", "tokenizer/tokenizer.json"], "triton/preprocessing/"),
    ],
)
def test_incomplete_staging_is_refused_by_name(
    *, cli: CliRunner, tmp_path: Path, termination_log: Path, fmt: str, make: list[str], missing: str
) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    for rel in make:
        (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        (staging / rel).write_text("x")
    proc = cli(*_publish_args(staging, tmp_path / "root", fmt=fmt), check=False)
    assert proc.returncode == 1
    assert missing in termination_log.read_text()
    assert not (tmp_path / "root" / HEX).exists()


def test_safetensors_snapshot_is_published_as_is(cli: CliRunner, tmp_path: Path, tiny_model: Path) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    for path in tiny_model.iterdir():
        (staging / path.name).write_bytes(path.read_bytes())
    (staging / ".cache" / "huggingface").mkdir(parents=True)  # snapshot_download's bookkeeping
    (staging / ".cache" / "huggingface" / "x.metadata").write_text("m")
    cli(*_publish_args(staging, tmp_path / "root", fmt="safetensors"))
    published = {p.name for p in (tmp_path / "root" / HEX).iterdir()}
    assert published == {p.name for p in tiny_model.iterdir()} | {"manifest.json"}


def test_invalid_key_is_refused(cli: CliRunner, tmp_path: Path, termination_log: Path) -> None:
    staging = _gguf_staging(tmp_path / "staging")
    proc = cli(*_publish_args(staging, tmp_path / "root", key="sha256:XYZ"), check=False)
    assert proc.returncode == 1
    assert termination_log.read_text().startswith("publish: invalid artifact key 'sha256:XYZ'")
