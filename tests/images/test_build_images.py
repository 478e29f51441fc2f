"""e2e/images/build-images.sh: the content key that tags (and so caches) every locally built image, and the
Dockerfiles of its offline bases. The real builds run in setup and in the node tests; these run the script's
pure `key` and `list` commands, which need neither buildah nor root."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "e2e" / "images" / "build-images.sh"
BASES = ROOT / "e2e" / "images" / "bases"
OWN_DOCKERFILES = sorted([*BASES.glob("*.Dockerfile"), ROOT / "e2e" / "images" / "pause.Dockerfile"])


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, check=False, timeout=60)


def key(dockerfile: Path, context: Path, *extra: str) -> str:
    proc = run("key", "--dockerfile", str(dockerfile), "--context", str(context), *extra)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{16}", out), out
    return out


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """A build context like the repository's: a Dockerfile that copies a file and a package directory."""
    ctx = tmp_path / "ctx"
    (ctx / "pkg" / "__pycache__").mkdir(parents=True)
    (ctx / "pkg" / "mod.py").write_text("X = 1\n")
    (ctx / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    (ctx / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (ctx / "notes.md").write_text("not copied\n")
    dockerfile = ctx / "app.Dockerfile"
    dockerfile.write_text(
        "ARG BASE_IMAGE=python:3.11.7-slim-bookworm\n"
        "FROM ${BASE_IMAGE} AS build\n"
        "RUN echo built > /built\n"
        "FROM ${BASE_IMAGE}\n"
        "COPY --from=build /built /built\n"
        "COPY --chown=1000:1000 pyproject.toml /src/\n"
        "COPY pkg /src/pkg\n"
    )
    return dockerfile, ctx


BASE = ("--base", "BASE_IMAGE=sha256-of-the-base", "--build-arg", "BASE_IMAGE=localhost/llmops/python:0123")


def test_the_key_is_stable_for_the_same_inputs(project: tuple[Path, Path]) -> None:
    dockerfile, ctx = project
    first = key(dockerfile, ctx, *BASE)
    assert key(dockerfile, ctx, *BASE) == first
    # Build arguments and bases are a set: their order does not matter.
    assert key(dockerfile, ctx, "--build-arg", "A=1", "--build-arg", "B=2") == key(
        dockerfile, ctx, "--build-arg", "B=2", "--build-arg", "A=1"
    )


def test_what_the_build_does_not_read_does_not_change_the_key(project: tuple[Path, Path]) -> None:
    dockerfile, ctx = project
    before = key(dockerfile, ctx, *BASE)
    (ctx / "notes.md").write_text("edited, but no COPY names it\n")
    (ctx / "other").mkdir()
    (ctx / "other" / "x.py").write_text("y = 2\n")
    (ctx / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\1\2")
    (ctx / "pkg" / "stale.pyc").write_bytes(b"\3")
    (ctx / "pkg" / "x.egg-info").mkdir()
    (ctx / "pkg" / "x.egg-info" / "PKG-INFO").write_text("Name: x\n")
    assert key(dockerfile, ctx, *BASE) == before


@pytest.mark.parametrize(
    "change",
    ["dockerfile", "copied-file", "new-file-in-copied-dir", "removed-file", "file-mode", "dockerignore"],
)
def test_every_input_of_the_build_changes_the_key(project: tuple[Path, Path], change: str) -> None:
    dockerfile, ctx = project
    before = key(dockerfile, ctx, *BASE)
    if change == "dockerfile":
        dockerfile.write_text(dockerfile.read_text() + "USER 65532:65532\n")
    elif change == "copied-file":
        (ctx / "pyproject.toml").write_text("[project]\nname = 'q'\n")
    elif change == "new-file-in-copied-dir":
        (ctx / "pkg" / "new.py").write_text("")
    elif change == "removed-file":
        (ctx / "pkg" / "mod.py").unlink()
    elif change == "file-mode":
        (ctx / "pkg" / "mod.py").chmod(0o755)
    elif change == "dockerignore":
        (ctx / ".dockerignore").write_text("*\n")
    assert key(dockerfile, ctx, *BASE) != before


def test_the_base_image_id_build_args_and_target_change_the_key(project: tuple[Path, Path]) -> None:
    dockerfile, ctx = project
    before = key(dockerfile, ctx, *BASE)
    assert key(dockerfile, ctx, "--base", "BASE_IMAGE=another-id", *BASE[2:]) != before
    assert key(dockerfile, ctx, *BASE[:2], "--build-arg", "BASE_IMAGE=localhost/llmops/python:4567") != before
    assert key(dockerfile, ctx, *BASE, "--build-arg", "TORCH_VERSION=2.13.0") != before
    assert key(dockerfile, ctx, *BASE, "--target", "build") != before


def test_a_copy_source_missing_from_the_context_is_an_error(project: tuple[Path, Path]) -> None:
    dockerfile, ctx = project
    (ctx / "pyproject.toml").unlink()
    proc = run("key", "--dockerfile", str(dockerfile), "--context", str(ctx))
    assert proc.returncode != 0
    assert "copies pyproject.toml, which is not in the build context" in proc.stderr


def test_the_repository_images_have_keys_and_the_project_sources_are_inputs(tmp_path: Path) -> None:
    """The operator image's key follows operator/ (what it copies) and not tests/ (what it does not)."""
    dockerfile = ROOT / "Dockerfile"
    operator_key = key(dockerfile, ROOT, "--base", "PYTHON_IMAGE=x")
    assert key(dockerfile, ROOT, "--base", "PYTHON_IMAGE=x") == operator_key
    # A copy of the context with one operator file changed gets another key; the original keeps its own.
    ctx = tmp_path / "repo"
    ctx.mkdir()
    for item in (".dockerignore", "pyproject.toml", "README.md", "requirements-operator.txt", "Dockerfile"):
        (ctx / item).write_bytes((ROOT / item).read_bytes())
    subprocess.run(["cp", "-r", str(ROOT / "operator"), str(ROOT / "builders"), str(ctx)], check=True)
    assert key(ctx / "Dockerfile", ctx, "--base", "PYTHON_IMAGE=x") == operator_key
    # The README is documentation: editing it rebuilds no image.
    (ctx / "README.md").write_text("# edited\n")
    assert key(ctx / "Dockerfile", ctx, "--base", "PYTHON_IMAGE=x") == operator_key
    (ctx / "tests").mkdir()
    (ctx / "tests" / "test_x.py").write_text("")
    assert key(ctx / "Dockerfile", ctx, "--base", "PYTHON_IMAGE=x") == operator_key
    (ctx / "operator" / "llmops" / "__init__.py").write_text("# changed\n")
    assert key(ctx / "Dockerfile", ctx, "--base", "PYTHON_IMAGE=x") != operator_key


def test_the_script_builds_every_image_the_node_runs() -> None:
    proc = run("list")
    assert proc.returncode == 0, proc.stderr
    names = proc.stdout.split()
    assert names[0] == "debian"
    assert {"operator", "gguf-builder", "onnx-builder", "llama-cpp-server", "triton-onnx", "pause"} <= set(names)
    # Every image is built after the bases it is built FROM.
    assert names.index("python") < names.index("operator") and names.index("tritonserver") < names.index("triton-onnx")
    assert names.index("python-build") < names.index("gguf-builder")


def test_the_script_needs_a_command_it_knows() -> None:
    proc = run("nonsense")
    assert proc.returncode != 0 and "unknown command" in proc.stderr


@pytest.mark.parametrize("dockerfile", OWN_DOCKERFILES, ids=lambda p: p.name)
def test_own_dockerfiles_are_hadolint_clean(dockerfile: Path) -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    proc = subprocess.run([str(hadolint), "--no-color", str(dockerfile)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("dockerfile", sorted(BASES.glob("*.Dockerfile")), ids=lambda p: p.name)
def test_bases_take_their_own_base_as_an_argument(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["${BASE_IMAGE}"]
    (default,) = re.findall(r"^ARG BASE_IMAGE=(\S+)$", text, re.M)
    assert ":" in default and not default.endswith(":latest")


def test_the_python_base_behaves_like_the_official_image_where_the_dockerfiles_rely_on_it() -> None:
    text = (BASES / "python.Dockerfile").read_text()
    assert "rm -f /usr/lib/python3.11/EXTERNALLY-MANAGED" in text  # PEP 668: `pip install` as root works
    assert "python3.11-venv" in text  # the operator image's `python -m venv`
    for link in ("/usr/local/bin/python ", "/usr/local/bin/pip"):
        assert link in text


def test_the_triton_base_has_the_ngc_layout_the_triton_onnx_image_relies_on() -> None:
    text = (BASES / "tritonserver.Dockerfile").read_text()
    assert "ARG PYTRITON_VERSION=0.7.0" in text
    tested = (ROOT / "builders" / "requirements-triton.txt").read_text()
    assert "nvidia-pytriton==0.7.0" in tested  # the same tritonserver the lab's Triton tests run
    assert "PATH=/opt/tritonserver/bin:" in text and "backends/python/triton_python_backend_stub" in text
    assert "useradd --uid 1000" in text and "triton-server" in text
    assert re.findall(r"^ENTRYPOINT (.+)$", text, re.M) == ['["tritonserver"]']


def test_the_pause_image_is_the_binary_alone() -> None:
    text = (ROOT / "e2e" / "images" / "pause.Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["scratch"]
    assert re.findall(r"^ENTRYPOINT (.+)$", text, re.M) == ['["/pause"]']
