"""The embedded cluster's real worker node: real containers, logs, exec, Services by DNS name, real volumes."""

from __future__ import annotations

import functools
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmops_dev import node, node_runtime, paths
from llmops_dev.kubectl import Kubectl, wait_for

pytestmark = pytest.mark.cluster

RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "seccompProfile": {"type": "RuntimeDefault"},
}
ON_REAL_NODE = {
    "nodeSelector": {"kubernetes.io/hostname": node.NODE_NAME},
    "tolerations": [{"key": node.TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}],
}


@functools.cache
def session_images() -> dict[str, node_runtime.Image]:
    # Read once per session: the cluster imported what the manifest said when it started.
    return node_runtime.load_images(paths.images_manifest())


def image(name: str) -> str:
    return session_images()[name].ref


def pod(name: str, image_ref: str, command: list[str], **spec: Any) -> dict[str, Any]:
    """A pod on the real node; `container=` adds fields to its one container, the rest goes to the pod spec."""
    extra = {k: v for k, v in spec.items() if k != "container"}
    container = {"name": "main", "image": image_ref, "imagePullPolicy": "Never", "command": command,
                 "securityContext": RESTRICTED, **spec.get("container", {})}  # fmt: skip
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"restartPolicy": "Never", **ON_REAL_NODE, "containers": [container], **extra},
    }


def apply(kubectl: Kubectl, namespace: str, *objects: dict[str, Any]) -> None:
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(objects))


def wait_phase(kubectl: Kubectl, namespace: str, name: str, phases: tuple[str, ...], timeout: float = 120) -> str:
    def phase() -> str | None:
        current = kubectl.json("get", "pod", "-n", namespace, name).get("status", {}).get("phase")
        return current if current in phases else None

    return wait_for(phase, timeout=timeout, what=f"pod {name} in {phases}")


def test_the_real_node_is_ready_beside_the_kwok_pools(kubectl: Kubectl) -> None:
    nodes = {n["metadata"]["name"]: n for n in kubectl.json("get", "nodes")["items"]}
    real = nodes[node.NODE_NAME]
    ready = next(c for c in real["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True", ready
    info = real["status"]["nodeInfo"]
    assert info["kubeletVersion"] == "v1.36.3"
    assert info["containerRuntimeVersion"].startswith("containerd://2.")
    assert {"key": node.TAINT_KEY, "value": "true", "effect": "NoSchedule"} in real["spec"]["taints"]
    kwok = [n for n, obj in nodes.items() if obj["metadata"].get("labels", {}).get("type") == "kwok"]
    assert len(kwok) >= 5, "the kwok pools are still there"


def test_a_pod_runs_a_real_process_with_logs_and_exec(kubectl: Kubectl, namespace: str) -> None:
    script = 'echo "hello from $(hostname) as uid $(id -u)"; exec sleep 300'
    apply(kubectl, namespace, pod("real", image("debian"), ["sh", "-c", script]))
    wait_phase(kubectl, namespace, "real", ("Running",))
    logs = wait_for(lambda: kubectl.run("logs", "-n", namespace, "real").stdout or None, timeout=30, what="logs")
    assert logs.strip() == "hello from real as uid 1000"
    exec_out = kubectl.run("exec", "-n", namespace, "real", "--", "cat", "/proc/1/cmdline").stdout
    assert exec_out.split("\0")[:2] == ["sleep", "300"]
    status = kubectl.json("get", "pod", "-n", namespace, "real")["status"]
    assert status["podIP"].startswith("10.88."), status["podIP"]


def test_a_service_answers_by_dns_name_from_another_pod(kubectl: Kubectl, namespace: str) -> None:
    python = image("operator")  # any image with a Python: the operator's
    probe = {"httpGet": {"path": "/hostname", "port": 8080}, "periodSeconds": 1}
    serve = ["python3", "-m", "http.server", "8080", "--directory", "/etc"]
    server = pod("web", python, serve, container={"ports": [{"containerPort": 8080}], "readinessProbe": probe})
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    apply(kubectl, namespace, server, service)
    kubectl.run("wait", "-n", namespace, "--for=condition=Ready", "pod/web", "--timeout=120s")
    # kube-proxy programs a new Service's rules a moment after its endpoints exist: a client retries a refused
    # connection for a while, as any client of a just-created Service must.
    fetch = (
        "import socket, time, urllib.request\n"
        f"name = 'web.{namespace}.svc.cluster.local'\n"
        "print(socket.gethostbyname(name))\n"
        "for attempt in range(30):\n"
        "    try:\n"
        "        print(urllib.request.urlopen(f'http://{name}/hostname', timeout=10).read().decode().strip())\n"
        "        break\n"
        "    except OSError:  # URLError(ConnectionRefusedError)\n"
        "        if attempt == 29: raise\n"
        "        time.sleep(1)\n"
    )
    apply(kubectl, namespace, pod("client", python, ["python3", "-c", fetch]))
    assert wait_phase(kubectl, namespace, "client", ("Succeeded", "Failed")) == "Succeeded", kubectl.run(
        "logs", "-n", namespace, "client", check=False
    ).stdout
    cluster_ip = kubectl.json("get", "service", "-n", namespace, "web")["spec"]["clusterIP"]
    resolved, body = kubectl.run("logs", "-n", namespace, "client").stdout.split()
    assert resolved == cluster_ip
    assert body == "web"  # /etc/hostname of the server pod, through the Service


def test_a_claim_of_the_default_class_is_a_real_directory_shared_by_two_pods(
    kubectl: Kubectl, namespace: str, kubeconfig: str
) -> None:
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "shared"},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    volume = {"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "shared"}}],
              "container": {"volumeMounts": [{"name": "data", "mountPath": "/data"}]}}  # fmt: skip
    apply(kubectl, namespace, claim)
    wait_for(
        lambda: kubectl.json("get", "pvc", "-n", namespace, "shared").get("status", {}).get("phase") == "Bound" or None,
        timeout=90,
        what="claim bound",
    )
    pv_name = kubectl.json("get", "pvc", "-n", namespace, "shared")["spec"]["volumeName"]
    pv = kubectl.json("get", "pv", pv_name)
    assert pv["spec"]["storageClassName"] == "standard"
    host_dir = Path(pv["spec"]["hostPath"]["path"])
    writer = pod("writer", image("debian"), ["sh", "-c", "echo written-by-writer > /data/note"], **volume)
    apply(kubectl, namespace, writer)
    assert wait_phase(kubectl, namespace, "writer", ("Succeeded", "Failed")) == "Succeeded"
    apply(kubectl, namespace, pod("reader", image("debian"), ["cat", "/data/note"], **volume))
    assert wait_phase(kubectl, namespace, "reader", ("Succeeded", "Failed")) == "Succeeded"
    assert kubectl.run("logs", "-n", namespace, "reader").stdout.strip() == "written-by-writer"
    # The claim is a directory on this machine, under the cluster's state dir.
    assert (host_dir / "note").read_text().strip() == "written-by-writer"
    assert Path(kubeconfig).parent in host_dir.parents


@pytest.mark.parametrize(
    ("name", "command", "expected"),
    [
        ("operator", ["llmops", "--help"], "plan an LLMDeployment"),
        ("gguf-builder", ["llmops-build", "--help"], "usage: llmops-build"),
        ("onnx-builder", ["python", "-c", "import onnxruntime, optimum.exporters.onnx; print('onnx ok')"], "onnx ok"),
        ("llama-cpp-server", ["llama-server", "--version"], "version"),
        # tritonserver exits non-zero after printing its usage: the usage is the proof that it runs.
        ("triton-onnx", ["sh", "-c", "tritonserver --help; true"], "--model-repository"),
    ],
)
def test_every_image_runs_on_the_real_node(
    kubectl: Kubectl, namespace: str, name: str, command: list[str], expected: str
) -> None:
    # Restricted and read-only like every pod llmops renders.
    read_only = {"securityContext": {**RESTRICTED, "readOnlyRootFilesystem": True}}
    apply(kubectl, namespace, pod(f"smoke-{name}", image(name), command, container=read_only))
    phase = wait_phase(kubectl, namespace, f"smoke-{name}", ("Succeeded", "Failed"), timeout=180)
    logs = kubectl.run("logs", "-n", namespace, f"smoke-{name}").stdout
    assert phase == "Succeeded", logs
    assert expected in logs


def test_the_operator_image_carries_no_local_cluster_code(kubectl: Kubectl, namespace: str) -> None:
    probe = "import importlib.util as u; print(u.find_spec('llmops') is not None, u.find_spec('llmops_dev'))"
    apply(kubectl, namespace, pod("no-dev", image("operator"), ["python", "-c", probe]))
    assert wait_phase(kubectl, namespace, "no-dev", ("Succeeded", "Failed")) == "Succeeded"
    assert kubectl.run("logs", "-n", namespace, "no-dev").stdout.split() == ["True", "None"]


def test_down_leaves_no_process_mount_link_or_rule(tmp_path: Path) -> None:
    from llmops_dev import LocalCluster, netns  # noqa: PLC0415

    # A second cluster beside the session's: its own containerd store, so only the images it runs.
    cluster = LocalCluster(tmp_path / "cluster", die_with_parent=True, real_node=True, node_images=("pause", "debian"))
    cluster.start()
    state = json.loads((tmp_path / "cluster" / "cluster.json").read_text())
    layout = node.NodeLayout(tmp_path / "cluster", netns.NodeNetwork(state["network"]), Path(state["containerd_root"]))
    kube = Kubectl(str(cluster.kubeconfig))
    kube.run("create", "namespace", "leftovers")
    apply(kube, "leftovers", pod("sleeper", image("debian"), ["sleep", "600"]))
    wait_phase(kube, "leftovers", "sleeper", ("Running",))
    assert node_runtime.leftovers(layout), "a running node has processes, mounts and links"
    began = time.monotonic()
    cluster.stop()
    assert time.monotonic() - began < 120
    assert node_runtime.leftovers(layout) == []
    ours = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _mentions(p, str(tmp_path))]
    assert ours == []
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    assert layout.network.pod_cidr.rsplit(".", 2)[0] not in rules and "KUBE-SVC" not in rules


def _mentions(proc: Path, text: str) -> bool:
    try:
        return text.encode() in (proc / "cmdline").read_bytes()
    except OSError:
        return False
