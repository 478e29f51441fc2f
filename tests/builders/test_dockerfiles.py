"""The builder and serving images: pinned upstream bases, non-root, hadolint clean, same pins as the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from llmops_builders import versions

DOCKER = Path(__file__).resolve().parents[2] / "builders" / "docker"
DOCKERFILES = sorted(DOCKER.glob("*.Dockerfile"))


def _hadolint() -> str:
    return str(Path(sys.executable).parent / "hadolint")


def test_the_four_images_exist() -> None:
    assert [p.name for p in DOCKERFILES] == [
        "gguf-builder.Dockerfile",
        "onnx-builder.Dockerfile",
        "tensorrt-llm-builder.Dockerfile",
        "triton-onnx.Dockerfile",
    ]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_is_clean(dockerfile: Path) -> None:
    proc = subprocess.run([_hadolint(), "--no-color", str(dockerfile)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_does_catch_problems(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n")
    proc = subprocess.run([_hadolint(), "--no-color", str(bad)], capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "DL3007" in proc.stdout


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_bases_are_pinned_and_the_final_stage_is_not_root(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    for base in re.findall(r"^FROM (\S+)", text, re.M):
        assert ":" in base and not base.endswith(":latest"), base
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users, "no USER"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_tensorrt_builder_uses_the_pinned_triton_trtllm_image_and_tag() -> None:
    text = (DOCKER / "tensorrt-llm-builder.Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", text, re.M) == [versions.TRITON_TRTLLM_IMAGE]
    assert f"ARG TENSORRT_LLM_VERSION={versions.TENSORRT_LLM_VERSION}" in text
    assert versions.TRTLLM_LLAMA_CONVERT_SCRIPT in text and versions.TRTLLM_QUANTIZE_SCRIPT in text


def test_gguf_builder_uses_the_same_llama_cpp_pin_as_the_lab() -> None:
    text = (DOCKER / "gguf-builder.Dockerfile").read_text()
    assert f"ARG LLAMA_CPP_PYTHON_VERSION={versions.LLAMA_CPP_PYTHON_VERSION}" in text
    script = (DOCKER.parent / "scripts" / "setup-lab.sh").read_text()
    assert f"LLAMA_CPP_PYTHON_VERSION={versions.LLAMA_CPP_PYTHON_VERSION}" in script


def test_triton_onnx_image_installs_what_the_tested_triton_venv_has() -> None:
    text = (DOCKER / "triton-onnx.Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", text, re.M) == [versions.TRITON_IMAGE]
    tested = (DOCKER.parent / "requirements-triton.txt").read_text()
    for pin in re.findall(r"(?:onnxruntime|tokenizers)==\S+", tested):
        assert pin in text
