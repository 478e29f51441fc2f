"""The set-up scripts' cold paths, every CI run: empty cache, expensive commands replaced by fast stand-ins."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STANDIN = Path(__file__).with_name("standin.py")
# What the scripts run besides the stand-ins: the real ones, linked into a PATH of their own, so nothing
# installed on this machine (go, cmake, prometheus, a warm cache) can turn a cold branch into a warm one.
REAL_TOOLS = (
    "bash", "sh", "env", "cat", "cp", "mv", "rm", "mkdir", "touch", "ln", "chmod", "tar", "gzip", "sha256sum",
    "cut", "head", "tail", "sed", "grep", "find", "flock", "sleep", "nproc", "id", "dirname", "basename",
    "tee", "sort", "wc", "date", "mktemp", "ls", "true", "false", "seq", "readlink",
)  # fmt: skip
STANDINS = ("fake-python", "cmake", "go", "gcc", "apt-get", "apt-cache")
# The repository files the set-up scripts read.
SETUP_FILES = (
    "scripts/setup.sh", "scripts/install-checkov.sh", "scripts/install-debian-packages.sh",
    "builders/scripts/setup-lab.sh", "builders/requirements-lab.txt", "builders/requirements-triton.txt",
    "e2e/cluster/build-binaries.sh", "e2e/node/pause.c", "pyproject.toml",
)  # fmt: skip
# Every binary build-binaries.sh makes (path in the bin dir), the version it must report, and how to ask it.
BUILT = {
    "etcd": ("3.6.16", ["--version"]),
    "kube-apiserver": ("v1.36.3", ["--version"]),
    "kube-controller-manager": ("v1.36.3", ["--version"]),
    "kube-scheduler": ("v1.36.3", ["--version"]),
    "kubelet": ("v1.36.3", ["--version"]),
    "kube-proxy": ("v1.36.3", ["--version"]),
    "kwok": ("v0.8.0", ["--version"]),
    "helm": ("v4.3.1", ["version", "--template", "{{.Version}}"]),
    "containerd": ("v2.4.2", ["--version"]),
    "containerd-shim-runc-v2": ("v2.4.2", ["-v"]),
    "ctr": ("v2.4.2", ["--version"]),
    "crictl": ("v1.36.0", ["--version"]),
    "cni/bridge": ("v1.10.0", []),
    "cni/host-local": ("v1.10.0", []),
    "cni/loopback": ("v1.10.0", []),
    "cni/portmap": ("v1.10.0", []),
    "coredns": ("1.15.0", ["-version"]),
    "local-path-provisioner": ("v0.0.30", ["--version"]),
    "metrics-server": ("v0.8.0", ["--version"]),
    "prometheus-adapter": ("v0.12.0", []),  # no --version: the script reads `go version -m`
    "prometheus": ("3.16.0", ["--version"]),
    "promtool": ("3.16.0", ["--version"]),
}
# One `go install` each (several packages of one module at one version in one call).
GO_INSTALLED = (
    "github.com/containerd/containerd/v2/cmd/containerd@",
    "github.com/containernetworking/plugins/plugins/main/bridge@",
    "github.com/coredns/coredns@",
    "github.com/rancher/local-path-provisioner@",
    "sigs.k8s.io/cri-tools/cmd/crictl@",
    "sigs.k8s.io/metrics-server/cmd/metrics-server@",
    "github.com/prometheus/prometheus/cmd/prometheus@",
)
# The commands scripts/install-debian-packages.sh must leave on PATH.
DEBIAN_COMMANDS = (
    "runc", "iptables", "iptables-save", "iptables-restore", "conntrack", "buildah",
    "debootstrap",
)  # fmt: skip
DEBIAN_PACKAGES = ("runc", "iptables", "conntrack", "buildah", "debootstrap")


@dataclass
class Sandbox:
    repo: Path
    cache: Path
    bin: Path
    log: Path
    env: dict[str, str]

    def run(self, script: str, *args: str, fail: str | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(self.env, STANDIN_FAIL=fail or "")
        return subprocess.run(
            ["bash", str(self.repo / script), *args], cwd=self.repo, env=env,
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    repo, cache, bin_dir = tmp_path / "repo", tmp_path / "cache", tmp_path / "bin"
    for name in SETUP_FILES:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, repo / name)
    # The image builds (buildah, debootstrap) have cheap tests of their own (tests/images): here a stand-in
    # script records how setup.sh calls it and writes the manifest the real one would.
    images_script = repo / "e2e" / "images" / "build-images.sh"
    images_script.parent.mkdir(parents=True)
    images_script.write_text(
        '#!/usr/bin/env bash\nset -euo pipefail\necho "build-images $*" >>"$STANDIN_LOG"\n'
        'mkdir -p "$LLMOPS_CACHE_DIR/images"\necho "{}" >"$LLMOPS_CACHE_DIR/images/images.json"\n'
        'echo "$LLMOPS_CACHE_DIR/images/images.json"\n'
    )
    bin_dir.mkdir()
    # python3 is the test's own interpreter: a pyenv shim on PATH would need tools this PATH lacks.
    (bin_dir / "python3").symlink_to(sys.executable)
    for tool in REAL_TOOLS:
        found = shutil.which(tool)
        assert found, f"{tool} is needed on PATH to run the set-up scripts"
        (bin_dir / tool).symlink_to(found)
    for name in STANDINS:
        (bin_dir / name).symlink_to(STANDIN)
    log = tmp_path / "standin.log"
    env = {
        "PATH": str(bin_dir), "HOME": str(tmp_path / "home"), "LLMOPS_CACHE_DIR": str(cache),
        "PYTHON": str(bin_dir / "fake-python"), "STANDIN_LOG": str(log), "STANDIN_BIN": str(bin_dir),
        "LLMOPS_BUILD_JOBS": "2", "LLMOPS_SBIN_PATH": "",
    }  # fmt: skip
    return Sandbox(repo, cache, bin_dir, log, env)


def assert_reports(binary: Path, args: list[str], version: str, env: dict[str, str]) -> None:
    """BINARY ARGS prints VERSION (on stdout or stderr, as CNI plugins do), and its stamp says so."""
    out = subprocess.run([str(binary), *args], capture_output=True, text=True, check=False, env=env)
    assert version in out.stdout + out.stderr, f"{binary} {args}: {out.stdout}{out.stderr}"
    assert (binary.parent / f".built-{binary.name}").read_text().strip() in (version, f"v{version}")


def lab_env(cache: Path) -> dict[str, str]:
    lines = (cache / "lab" / "lab.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def expensive(calls: list[str]) -> list[str]:
    """The calls that download, compile or install (what a warm run must not repeat)."""
    keep = ("cmake", "go build", "go install", "go get", "gcc", "apt-get install")
    pips = (" -m pip install", " -m pip download", " -m pip wheel", "pip install")
    return [c for c in calls if c.startswith(keep) or any(p in c for p in pips)]


def test_setup_lab_cold_path_exits_0_and_writes_what_it_promises(sandbox: Sandbox) -> None:
    python = sandbox.repo / ".venv" / "bin" / "python"
    subprocess.run([str(sandbox.bin / "fake-python"), "-m", "venv", str(sandbox.repo / ".venv")], env=sandbox.env,
                   check=True)  # fmt: skip
    proc = sandbox.run("builders/scripts/setup-lab.sh", "--python", str(python))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ready:" in proc.stdout
    env = lab_env(sandbox.cache)
    for key in ("LLMOPS_LLAMA_SERVER", "LLMOPS_LLAMA_QUANTIZE", "LLMOPS_TRITONSERVER"):
        assert os.access(env[key], os.X_OK), f"{key}={env[key]} is not an executable"
    for key in ("LLMOPS_LLAMA_CPP_DIR", "LLAMA_CPP_LIB_PATH", "LLMOPS_TRITON_VENV", "LLMOPS_TRITON_BACKENDS"):
        assert Path(env[key]).is_dir(), f"{key}={env[key]} is not a directory"
    stub = Path(env["LLMOPS_TRITON_BACKENDS"]) / "python" / "triton_python_backend_stub"
    assert stub.is_file()
    # The cold branches really ran: one llama.cpp build (tools + libraries), one binding wheel without it.
    calls = sandbox.calls()
    assert [c for c in calls if c.startswith("cmake --build")] == [
        f"cmake --build {sandbox.cache}/lab/llama-cpp-python-0.3.36/build --target llama-server llama-quantize -j 2"
    ]
    assert sum(" -m pip wheel " in c for c in calls) == 1
    assert list((sandbox.repo / ".venv").glob(".llmops-lab-*")), "the builders' install stamp is missing"

    # Warm: nothing is downloaded, built or installed again.
    sandbox.log.unlink()
    again = sandbox.run("builders/scripts/setup-lab.sh", "--python", str(python))
    assert again.returncode == 0, again.stdout + again.stderr
    assert expensive(sandbox.calls()) == []


def test_setup_lab_fails_when_the_build_fails_and_publishes_nothing(sandbox: Sandbox) -> None:
    python = sandbox.repo / ".venv" / "bin" / "python"
    subprocess.run([str(sandbox.bin / "fake-python"), "-m", "venv", str(sandbox.repo / ".venv")], env=sandbox.env,
                   check=True)  # fmt: skip
    proc = sandbox.run("builders/scripts/setup-lab.sh", "--python", str(python), fail="cmake")
    assert proc.returncode != 0
    assert not (sandbox.cache / "lab" / "lab.env").exists()
    assert not (sandbox.cache / "lab" / "llama-cpp-python-0.3.36" / "build" / ".built").exists()


def test_setup_cold_path_runs_every_step_once_then_nothing(sandbox: Sandbox) -> None:
    proc = sandbox.run("scripts/setup.sh")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    steps = ("project", "checkov", "debian", "lab", "binaries", "images")
    for step in steps:
        assert f"{step}: done in" in proc.stdout, proc.stdout
    timings = (sandbox.cache / "setup-logs" / "timings.tsv").read_text().split("\n")
    assert sorted(line.split("\t")[0] for line in timings if line) == sorted(steps)

    # Each step left what it promises; the images were built after the binaries, with their pause.
    (images_call,) = [c for c in sandbox.calls() if c.startswith("build-images ")]
    pause = next((sandbox.cache / "bin").iterdir()) / "pause"
    assert images_call == f"build-images build --pause {pause}"
    assert (sandbox.cache / "images" / "images.json").is_file()
    assert (sandbox.repo / ".venv" / ".llmops-installed").is_file()
    assert lab_env(sandbox.cache)["LLMOPS_LLAMA_SERVER"].endswith("/bin/llama-server")
    checkov = next((sandbox.cache / "tools").glob("checkov-*"))
    assert (checkov / ".installed").is_file()
    for command in DEBIAN_COMMANDS:
        assert os.access(sandbox.bin / command, os.X_OK), f"{command} was not installed"
    bin_dirs = list((sandbox.cache / "bin").iterdir())
    assert len(bin_dirs) == 1
    # The bin dir is named after every pinned version.
    assert bin_dirs[0].name == (
        "k8s1.36.3-etcd3.6.16-kwok0.8.0-helm4.3.1-containerd2.4.2-cni1.10.0-coredns1.15.0-lpp0.0.30-crictl1.36.0"
        "-ms0.8.0-pa0.12.0-prom3.16.0"
    )
    for name, (version, args) in BUILT.items():
        assert_reports(bin_dirs[0] / name, args, version, sandbox.env)
    # pause is ours (e2e/node/pause.c): its version is a hash of the source and the compiler flags.
    pause_version = (bin_dirs[0] / ".built-pause").read_text().strip()
    assert len(pause_version) == 12
    assert_reports(bin_dirs[0] / "pause", ["-v"], pause_version, sandbox.env)

    # The expensive commands each ran once: one Kubernetes build for its five binaries, one go install per
    # other module (three containerd binaries, four CNI plugins), one gcc, one apt-get for every package.
    calls = sandbox.calls()
    kubernetes = [c for c in calls if c.startswith("go build") and "kube-apiserver" in c]
    assert len(kubernetes) == 1
    for command in ("kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"):
        assert f"k8s.io/kubernetes/cmd/{command}" in kubernetes[0]
    for module in GO_INSTALLED:
        assert sum(c.startswith("go install") and module in c for c in calls) == 1, module
    (prometheus,) = [c for c in calls if c.startswith("go install") and "prometheus/cmd/prometheus@" in c]
    assert "prometheus/cmd/promtool@" in prometheus and "remove_all_sd enable_kubernetes_sd" in prometheus
    assert sum(c.startswith("go build") and "sigs.k8s.io/prometheus-adapter/cmd/adapter" in c for c in calls) == 1
    assert [c for c in calls if c.startswith("gcc")] == [
        f'gcc -Os -static -s -Wall -Wextra -Werror -DPAUSE_VERSION="{pause_version}" -o {bin_dirs[0]}/pause '
        f"{sandbox.repo}/e2e/node/pause.c"
    ]
    assert sum(c.startswith("cmake --build") for c in calls) == 1
    installs = [c for c in calls if c.startswith("apt-get install")]
    assert len(installs) == 1
    assert set(installs[0].split()) >= set(DEBIAN_PACKAGES)

    sandbox.log.unlink()
    warm = sandbox.run("scripts/setup.sh")
    assert warm.returncode == 0, warm.stdout + warm.stderr
    assert expensive(sandbox.calls()) == []


@pytest.mark.parametrize("failing", ["go", "gcc", "cmake", "apt-get"])
def test_setup_names_the_failed_step_and_stops(sandbox: Sandbox, failing: str) -> None:
    proc = sandbox.run("scripts/setup.sh", fail=failing)
    step = {"go": "binaries", "gcc": "binaries", "cmake": "lab", "apt-get": "debian"}[failing]
    assert proc.returncode == 1
    assert f"setup: step {step} failed (log: {sandbox.cache}/setup-logs/{step}.log)" in proc.stderr


def test_debian_packages_installs_only_what_is_missing_in_one_call_and_nothing_when_all_is_there(
    sandbox: Sandbox,
) -> None:
    # runc is there already (as on a machine with Docker's packages): only the others are installed.
    (sandbox.bin / "runc").symlink_to(sandbox.bin / "true")
    proc = sandbox.run("scripts/install-debian-packages.sh")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    installs = [c.split() for c in sandbox.calls() if c.startswith("apt-get install")]
    assert len(installs) == 1
    assert set(installs[0]) >= set(DEBIAN_PACKAGES) - {"runc"} and "runc" not in installs[0]
    for command in DEBIAN_COMMANDS:
        assert os.access(sandbox.bin / command, os.X_OK), command

    # Warm: not even apt-cache is asked.
    sandbox.log.unlink()
    again = sandbox.run("scripts/install-debian-packages.sh")
    assert again.returncode == 0, again.stdout + again.stderr
    assert sandbox.calls() == []


def test_debian_packages_fails_when_a_command_is_still_missing(sandbox: Sandbox) -> None:
    # apt-get "succeeds" but leaves no buildah: the script must not report success.
    (sandbox.bin / "apt-get").unlink()
    (sandbox.bin / "apt-get").symlink_to(sandbox.bin / "true")
    proc = sandbox.run("scripts/install-debian-packages.sh")
    assert proc.returncode == 1
    assert "runc is installed, but runc is not found" in proc.stderr
