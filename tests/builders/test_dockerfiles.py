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


def _bases(text: str) -> list[str]:
    """The images the stages are built FROM, each `${ARG}` resolved to that build argument's default."""
    defaults = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.M))
    return [re.sub(r"\$\{(\w+)\}", lambda m: defaults[m[1]], base) for base in re.findall(r"^FROM (\S+)", text, re.M)]


def _stage(text: str, name: str) -> str:
    """The text of stage NAME, from its FROM line to the next FROM."""
    match = re.search(rf"^FROM \S+ AS {name}\n.*?(?=^FROM )", text, re.M | re.S)
    assert match, f"no stage {name}"
    return match[0]


def test_the_six_images_exist() -> None:
    assert [p.name for p in DOCKERFILES] == [
        "gguf-builder.Dockerfile",
        "llama-cpp-server-cuda.Dockerfile",
        "llama-cpp-server.Dockerfile",
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
    # Every base is a build argument (e2e/images/build-images.sh passes local stand-ins) whose default
    # is the pinned upstream image.
    assert all(re.fullmatch(r"\$\{\w+\}", b) for b in re.findall(r"^FROM (\S+)", text, re.M))
    for base in _bases(text):
        assert ":" in base and not base.endswith(":latest"), base
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users, "no USER"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_tensorrt_builder_uses_the_pinned_triton_trtllm_image_and_tag() -> None:
    text = (DOCKER / "tensorrt-llm-builder.Dockerfile").read_text()
    assert _bases(text) == [versions.TRITON_TRTLLM_IMAGE]
    assert f"ARG TENSORRT_LLM_VERSION={versions.TENSORRT_LLM_VERSION}" in text
    assert versions.TRTLLM_LLAMA_CONVERT_SCRIPT in text and versions.TRTLLM_QUANTIZE_SCRIPT in text


def test_gguf_builder_uses_the_same_llama_cpp_pin_as_the_lab() -> None:
    text = (DOCKER / "gguf-builder.Dockerfile").read_text()
    assert f"ARG LLAMA_CPP_PYTHON_VERSION={versions.LLAMA_CPP_PYTHON_VERSION}" in text
    script = (DOCKER.parent / "scripts" / "setup-lab.sh").read_text()
    assert f"LLAMA_CPP_PYTHON_VERSION={versions.LLAMA_CPP_PYTHON_VERSION}" in script


def test_llama_cpp_is_compiled_once_for_the_gguf_builder_and_the_server() -> None:
    """The two images' compile stages are byte-identical and start from the same base argument, so a layer
    cache (buildah --layers, BuildKit) builds llama-quantize and llama-server once for both."""
    gguf = (DOCKER / "gguf-builder.Dockerfile").read_text()
    server = (DOCKER / "llama-cpp-server.Dockerfile").read_text()
    stage = _stage(gguf, "llama-cpp")
    assert _stage(server, "llama-cpp") == stage
    assert _bases(gguf)[0] == _bases(server)[0] == "python:3.11.7-bookworm"
    assert "--target llama-quantize llama-server" in stage
    for flag in ("-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_BUILD_UI=OFF", "-DLLAMA_CURL=OFF", "-DGGML_NATIVE=OFF"):
        assert flag in stage


def test_llama_cpp_server_image_runs_what_the_operator_renders() -> None:
    text = (DOCKER / "llama-cpp-server.Dockerfile").read_text()
    assert "COPY --from=llama-cpp /llama.cpp/build/bin/llama-server /app/llama-server" in text
    assert re.findall(r"^ENTRYPOINT (.+)$", text, re.M) == ['["/app/llama-server"]']
    # The operator's container command (operator/llmops/render/runtimes/llamacpp.py).
    rendered = (DOCKER.parents[1] / "operator" / "llmops" / "render" / "runtimes" / "llamacpp.py").read_text()
    assert 'command=["/app/llama-server"]' in rendered
    assert re.findall(r"^USER (\S+)$", text, re.M) == ["1000:1000"]


def test_the_builders_share_their_torch_layer() -> None:
    """gguf-builder and onnx-builder start their final stage with the same steps up to torch."""

    def head(text: str) -> list[str]:
        final = text[text.rindex("\nFROM ") + 1 :]
        steps = [line for line in final.splitlines() if line and not line.startswith("#")]
        end = next(i for i, line in enumerate(steps) if "torch==" in line)
        return steps[: end + 1]

    gguf = head((DOCKER / "gguf-builder.Dockerfile").read_text())
    assert gguf == head((DOCKER / "onnx-builder.Dockerfile").read_text())
    assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in gguf and "ARG TORCH_VERSION=2.13.0+cpu" in gguf


def test_triton_onnx_image_installs_what_the_tested_triton_venv_has() -> None:
    text = (DOCKER / "triton-onnx.Dockerfile").read_text()
    assert _bases(text) == [versions.TRITON_IMAGE]
    tested = (DOCKER.parent / "requirements-triton.txt").read_text()
    for pin in re.findall(r"(?:onnxruntime|tokenizers)==\S+", tested):
        assert pin in text
