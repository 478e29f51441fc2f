"""The operator image: pinned base, non-root, `llmops run`, hadolint clean, and a lock that really installs."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.version import Version

from llmops.planning import images
from tests.chart.chart import CHART, ROOT

DOCKERFILE = ROOT / "Dockerfile"
LOCK = ROOT / "requirements-operator.txt"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).parent / "hadolint"
    return subprocess.run([str(binary), "--no-color", str(path)], capture_output=True, text=True, check=False)


def _locked() -> dict[str, tuple[Version, int]]:
    """name -> (version, number of hashes) from the lock."""
    text = LOCK.read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", "\n".join(line for line in text.splitlines() if not line.startswith("#")))
    locked = {}
    for entry in entries:
        head = re.match(r"([A-Za-z0-9_.-]+)==([^\s;\\]+)", entry)
        assert head, entry[:80]
        locked[head[1].lower().replace("_", "-")] = (Version(head[2]), entry.count("--hash=sha256:"))
    return locked


def test_hadolint_is_clean() -> None:
    proc = _hadolint(DOCKERFILE)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_catches_an_unpinned_root_image(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install kopf\nENTRYPOINT llmops run\n")
    proc = _hadolint(bad)
    assert proc.returncode != 0 and "DL3007" in proc.stdout


def test_base_is_slim_and_pinned_by_digest_the_final_stage_is_not_root() -> None:
    text = DOCKERFILE.read_text()
    (base,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", base), base
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users == ["65532:65532"]
    assert re.findall(r"^ENTRYPOINT (.+)$", text, re.M) == ['["llmops", "run"]']
    assert "--require-hashes" in text and "--no-build-isolation" in text


def test_image_user_matches_the_chart() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["securityContext"]["runAsUser"] == values["podSecurityContext"]["runAsUser"] == 65532
    assert values["image"]["repository"] == f"{images.REGISTRY}/operator"


def test_versions_agree() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == PYPROJECT["project"]["version"] == images.LLMOPS_VERSION


def test_lock_pins_every_runtime_dependency_with_hashes() -> None:
    locked = _locked()
    assert all(hashes >= 1 for _, hashes in locked.values()), [n for n, (_, h) in locked.items() if h == 0]
    required = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    required += [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"]["operator"]]
    required += [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    for requirement in required:
        name = requirement.name.lower().replace("_", "-")
        assert name in locked, f"{name} is not in {LOCK.name}"
        assert requirement.specifier.contains(locked[name][0]), f"{name} {locked[name][0]} !~ {requirement.specifier}"


def test_dockerignore_sends_only_what_the_build_copies() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[1] == "*"
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE.read_text(), re.M)
    sources = {s.rstrip("/") for line in copied for s in line.split()}
    assert sources == {"requirements-operator.txt", "pyproject.toml", "operator", "builders"}
    for source in sources:
        assert f"!{source}" in ignore or f"!{source}/" in ignore, source


def test_the_image_install_steps_work(tmp_path: Path) -> None:
    """The Dockerfile's RUN steps, outside Docker: the hashed lock installs alone, llmops builds against it,
    nothing is missing (pip check) and the entrypoint runs."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]

    def run(*args: str) -> None:
        proc = subprocess.run([*pip, *args], capture_output=True, text=True, check=False, timeout=540)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    run("install", "--require-hashes", "--no-deps", "-r", str(LOCK))
    source = tmp_path / "src"
    source.mkdir()
    for item in ("pyproject.toml", "operator", "builders"):
        subprocess.run(["cp", "-r", str(ROOT / item), str(source / item)], check=True)
    run("install", "--no-deps", "--no-build-isolation", str(source))
    run("check")
    help_ = subprocess.run([str(venv / "bin" / "llmops"), "run", "--help"], capture_output=True, text=True, check=True)
    assert "--metrics-port" in help_.stdout and "--probe-port" in help_.stdout
    imported = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import llmops.reconcile.main"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
