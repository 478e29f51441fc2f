"""Bring the real node's files into place, import its images, and leave nothing behind when it stops."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from llmops_dev import kubeconfig, netns, node
from llmops_dev.errors import ClusterError
from llmops_dev.node import NodeLayout
from llmops_dev.pki import ClusterPki

_CGROUP_ROOT = Path("/sys/fs/cgroup")
_DRAIN_TIMEOUT = 120.0


@dataclass(frozen=True)
class Image:
    """One locally built image: its reference and the archive containerd imports it from."""

    name: str
    ref: str
    archive: Path


def claim_shared_store(store: Path) -> int | None:
    """Lock the machine-wide containerd store; the open descriptor (to hand to containerd, which then holds
    the lock for its lifetime) or None when another cluster's containerd uses it."""
    store.mkdir(parents=True, exist_ok=True)
    fd = os.open(store / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def load_images(manifest: Path) -> dict[str, Image]:
    """The images e2e/images/build-images.sh built, by logical name."""
    try:
        data = json.loads(manifest.read_text())
    except FileNotFoundError:
        raise ClusterError(f"no image manifest at {manifest}: run scripts/setup.sh (it builds the images)") from None
    return {name: Image(name, entry["ref"], Path(entry["archive"])) for name, entry in data.items()}


def write_files(layout: NodeLayout, pki: ClusterPki, server: str, bin_dir: Path, sandbox_image: str) -> None:
    """Every configuration file and kubeconfig the node's daemons read."""
    node_pki = pki.node_identities()
    for directory in (layout.config, layout.cni_conf_dir, layout.kubelet_root, layout.pod_logs, layout.volumes,
                      layout.containerd_root, layout.run):  # fmt: skip
        directory.mkdir(parents=True, exist_ok=True)
    layout.file("containerd.toml").write_text(node.containerd_config(layout, bin_dir / "cni", sandbox_image))
    (layout.cni_conf_dir / "10-llmops.conflist").write_text(node.cni_config(layout))
    layout.file("kubelet.yaml").write_text(node.kubelet_config(layout, pki, node_pki))
    layout.file("kube-proxy.yaml").write_text(node.kube_proxy_config(layout))
    layout.file("Corefile").write_text(node.corefile(layout))
    layout.file("resolv.conf").write_text(node.resolv_conf())
    for name, credentials in (
        ("kubelet", node_pki.kubelet),
        ("kube-proxy", node_pki.kube_proxy),
        ("coredns", node_pki.coredns),
        ("local-path-provisioner", node_pki.local_path_provisioner),
        ("metrics-server", node_pki.metrics_server),
    ):
        kubeconfig.write(layout.file(f"{name}.kubeconfig"), server=server, ca_cert=pki.ca.cert, user=name,
                         credentials=credentials)  # fmt: skip


def _ctr(bin_dir: Path, layout: NodeLayout, *args: str, timeout: float = 600) -> str:
    argv = [str(bin_dir / "ctr"), f"--address={layout.containerd_socket}", "--namespace=k8s.io", *args]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise ClusterError(f"ctr {' '.join(args)}: {proc.stderr.strip()[-2000:]}")
    return proc.stdout


def import_images(bin_dir: Path, layout: NodeLayout, images: list[Image]) -> list[str]:
    """Import the images containerd does not hold yet (references are content hashes); returns those imported."""
    present = set(_ctr(bin_dir, layout, "images", "list", "--quiet").split())
    imported = []
    for image in images:
        if image.ref in present:
            continue
        if not image.archive.is_file():
            raise ClusterError(f"image archive {image.archive} of {image.ref} is missing: run scripts/setup.sh")
        _ctr(bin_dir, layout, "images", "import", str(image.archive))
        imported.append(image.ref)
    return imported


def drain(bin_dir: Path, layout: NodeLayout) -> None:
    """Stop and remove every pod sandbox through containerd (its CNI teardown removes their veths)."""
    if not layout.containerd_socket.exists():
        return
    argv = [str(bin_dir / "crictl"), f"--runtime-endpoint=unix://{layout.containerd_socket}", "--timeout=60s",
            "rmp", "--all", "--force"]  # fmt: skip
    subprocess.run(argv, capture_output=True, timeout=_DRAIN_TIMEOUT, check=False)


def _mount_points() -> list[Path]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        # Field 5 is the mount point, with spaces and the like octal-escaped.
        points.append(Path(line.split()[4].encode().decode("unicode_escape")))
    return points


def _under(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _node_processes(layout: NodeLayout) -> list[int]:
    """Processes of this node outside the pods: containerd's shims and any daemon run from its files."""
    marks = (str(layout.containerd_socket).encode(), f"{layout.config}/".encode())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if any(mark in cmdline for mark in marks):
            found.append(int(entry.name))
    return found


def _kill_processes(layout: NodeLayout) -> None:
    """SIGKILL what outlived the daemons' stop: containerd's shims, strays, and the pods' processes."""
    for pid in _node_processes(layout):
        _kill(pid)
    for cgroup in _cgroups(layout):
        for procs in sorted(cgroup.rglob("cgroup.procs")):
            for task in procs.read_text().split():
                _kill(int(task))


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def create_cgroups(layout: NodeLayout) -> None:
    """The kubelet's cgroupRoot in every v1 controller (the kubelet requires it to exist)."""
    name = f"llmops-{layout.network.index}"
    for controller in sorted(_CGROUP_ROOT.iterdir()):
        if not (controller / "cgroup.procs").exists() or controller.name == "unified":
            continue
        child = controller / name
        child.mkdir(exist_ok=True)
        # A new v1 cpuset starts with no CPUs and no memory nodes: no task could join it.
        for knob in ("cpuset.cpus", "cpuset.mems"):
            if (controller / knob).exists() and not (child / knob).read_text().strip():
                (child / knob).write_text((controller / knob).read_text())


def _cgroups(layout: NodeLayout) -> list[Path]:
    """The node's pod hierarchy in every mounted controller (kubelet's cgroupRoot)."""
    name = f"llmops-{layout.network.index}"
    return [d / name for d in _CGROUP_ROOT.iterdir() if (d / name).is_dir()] if _CGROUP_ROOT.is_dir() else []


def _remove_cgroups(layout: NodeLayout) -> None:
    deadline = time.monotonic() + 10.0
    for cgroup in _cgroups(layout):
        for directory in sorted((p for p in cgroup.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            _rmdir_when_empty(directory, deadline)
        _rmdir_when_empty(cgroup, deadline)


def _rmdir_when_empty(directory: Path, deadline: float) -> None:
    # A killed task leaves its cgroup a moment later: retry until the kernel lets the directory go.
    while True:
        try:
            directory.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as err:
            if time.monotonic() > deadline:
                raise ClusterError(f"cgroup {directory} cannot be removed: {err}") from err
            time.sleep(0.1)


def unmount_all(roots: tuple[Path, ...]) -> list[Path]:
    """Unmount (lazily, deepest first) everything mounted under `roots`; returns what was unmounted."""
    points = sorted((p for p in _mount_points() if _under(p, roots)), key=lambda p: -len(p.parts))
    for point in points:
        subprocess.run(["umount", "--lazy", str(point)], capture_output=True, check=False)
    return points


def teardown(layout: NodeLayout) -> None:
    """After the node's daemons stopped: no process, mount, cgroup, veth or iptables rule of it remains."""
    _kill_processes(layout)
    unmount_all((layout.root, layout.run, layout.containerd_root))
    _remove_cgroups(layout)
    if netns.exists(layout.network):
        netns.destroy(layout.network)
    shutil.rmtree(layout.run, ignore_errors=True)


def leftovers(layout: NodeLayout) -> list[str]:
    """What a stopped node left behind (empty when `teardown` did its job): for `down` and its test."""
    found = [f"mount {p}" for p in _mount_points() if _under(p, (layout.root, layout.run, layout.containerd_root))]
    found += [f"cgroup {c}" for c in _cgroups(layout)]
    if netns.exists(layout.network):
        found.append(f"network namespace {layout.network.netns}")
    links = subprocess.run(["ip", "-o", "link", "show", layout.network.host_link], capture_output=True, check=False)
    if links.returncode == 0:
        found.append(f"link {layout.network.host_link}")
    found += [f"process {pid}" for pid in _node_processes(layout)]
    return found
