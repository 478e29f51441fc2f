"""Smoke tests proving the embedded cluster is a real control plane with working GPU node pools."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from llmops_dev import paths
from llmops_dev.kubectl import Kubectl, wait_for
from llmops_dev.nodes import load as load_nodes

pytestmark = pytest.mark.cluster

H100 = "NVIDIA-H100-80GB-HBM3"
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
# Never pulled: kwok plays the kubelet, so any image reference will do; this one is real and tiny.
IMAGE = "registry.k8s.io/pause:3.10"
FAILURE_MESSAGE = "convert_checkpoint.py: CUDA out of memory (simulated)"
CHART_DEPLOYMENT = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{{{ .Release.Name }}}}
spec:
  replicas: {{{{ .Values.replicas }}}}
  selector:
    matchLabels: {{app: {{{{ .Release.Name }}}}}}
  template:
    metadata:
      labels: {{app: {{{{ .Release.Name }}}}}}
    spec:
      containers:
      - name: main
        image: {IMAGE}
"""


def _pod(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": IMAGE}], **spec},
    }


def _deployment(name: str, pod_spec: dict[str, Any], replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def _job(name: str, *, annotations: dict[str, str] | None = None, backoff_limit: int = 0) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": backoff_limit,
            "template": {
                "metadata": {"annotations": annotations or {}},
                "spec": {
                    "restartPolicy": "Never",
                    "initContainers": [{"name": "fetch", "image": IMAGE}],
                    "containers": [{"name": "convert", "image": IMAGE}],
                },
            },
        },
    }


def _pods(kubectl: Kubectl, namespace: str, selector: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kubectl.json("get", "pods", "-n", namespace, "-l", selector)["items"]
    return items


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == kind), None)


def test_node_pools_are_listed_and_ready(kubectl: Kubectl) -> None:
    expected = {n["metadata"]["name"]: n for n in load_nodes(paths.nodes_file())}
    table = kubectl.run("get", "nodes", "--no-headers").stdout
    rows = {line.split()[0]: line.split()[1] for line in table.splitlines()}
    assert set(expected) <= set(rows), table
    assert all(rows[name] == "Ready" for name in expected), table

    nodes = {n["metadata"]["name"]: n for n in kubectl.json("get", "nodes")["items"]}
    assert nodes["h100-0"]["status"]["allocatable"]["nvidia.com/gpu"] == "8"
    assert nodes["rtx4090-0"]["metadata"]["labels"]["nvidia.com/gpu.family"] == "ada-lovelace"
    assert "nvidia.com/gpu" not in nodes["cpu-0"]["status"]["allocatable"]
    for name in expected:
        ready = _condition(nodes[name], "Ready")
        assert ready is not None and ready["status"] == "True", (name, ready)

    # The node-lifecycle controller is real: nodes stay Ready only because their Leases are renewed.
    def renew_time() -> str:
        lease = kubectl.json("get", "lease", "h100-0", "-n", "kube-node-lease")
        return str(lease["spec"]["renewTime"])

    first = renew_time()
    wait_for(lambda: renew_time() != first, timeout=40, what="kwok to renew the Lease of h100-0")


def test_gpu_deployment_lands_on_an_h100_and_becomes_available(kubectl: Kubectl, namespace: str) -> None:
    pod_spec = {
        "nodeSelector": {"nvidia.com/gpu.product": H100},
        "tolerations": [GPU_TOLERATION],
        "containers": [{"name": "server", "image": IMAGE, "resources": {"limits": {"nvidia.com/gpu": "1"}}}],
    }
    kubectl.apply(_deployment("llm", pod_spec), namespace=namespace)
    kubectl.run("wait", "--for=condition=Available", "deployment/llm", "-n", namespace, "--timeout=60s", timeout=70)

    (pod,) = _pods(kubectl, namespace, "app=llm")
    assert pod["spec"]["nodeName"] in {"h100-0", "h100-1"}
    assert pod["status"]["phase"] == "Running"
    assert all(s["ready"] for s in pod["status"]["containerStatuses"])


def test_pod_asking_more_gpus_than_any_node_stays_pending(kubectl: Kubectl, namespace: str) -> None:
    greedy = _pod(
        "greedy",
        tolerations=[GPU_TOLERATION],
        containers=[{"name": "main", "image": IMAGE, "resources": {"limits": {"nvidia.com/gpu": "16"}}}],
    )
    kubectl.create(greedy, namespace=namespace)

    def unschedulable() -> dict[str, Any] | None:
        pod = kubectl.json("get", "pod", "greedy", "-n", namespace)
        cond = _condition(pod, "PodScheduled")
        return cond if cond and cond.get("reason") == "Unschedulable" else None

    cond = wait_for(unschedulable, timeout=60, what="PodScheduled=False/Unschedulable")
    assert cond["status"] == "False"
    assert "nvidia.com/gpu" in cond["message"], cond["message"]
    pod = kubectl.json("get", "pod", "greedy", "-n", namespace)
    assert pod["status"]["phase"] == "Pending"
    assert not pod["spec"].get("nodeName")


def test_job_pod_runs_then_the_job_completes(kubectl: Kubectl, namespace: str) -> None:
    kubectl.apply(_job("convert"), namespace=namespace)

    seen_running = wait_for(
        lambda: any(p["status"].get("phase") == "Running" for p in _pods(kubectl, namespace, "job-name=convert")),
        timeout=60,
        interval=0.2,
        what="the Job's pod to be Running before it completes",
    )
    assert seen_running
    kubectl.run("wait", "--for=condition=Complete", "job/convert", "-n", namespace, "--timeout=60s", timeout=70)

    (pod,) = _pods(kubectl, namespace, "job-name=convert")
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["status"]["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    job = kubectl.json("get", "job", "convert", "-n", namespace)
    assert job["status"]["succeeded"] == 1


def test_annotated_job_fails_after_backoff_limit_with_the_message(kubectl: Kubectl, namespace: str) -> None:
    annotations = {"kwok.llmops.dev/exit-code": "3", "kwok.llmops.dev/message": FAILURE_MESSAGE}
    kubectl.apply(_job("convert", annotations=annotations, backoff_limit=1), namespace=namespace)
    # The Job controller waits ~10 s before replacing the first failed pod.
    kubectl.run("wait", "--for=condition=Failed", "job/convert", "-n", namespace, "--timeout=90s", timeout=100)

    job = kubectl.json("get", "job", "convert", "-n", namespace)
    failed = _condition(job, "Failed")
    assert failed is not None and failed["reason"] == "BackoffLimitExceeded", failed
    assert job["status"]["failed"] == 2
    assert not job["status"].get("succeeded")
    pods = _pods(kubectl, namespace, "job-name=convert")
    assert len(pods) == 2
    for pod in pods:
        assert pod["status"]["phase"] == "Failed"
        terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
        assert (terminated["exitCode"], terminated["reason"]) == (3, "Error")
        assert terminated["message"] == FAILURE_MESSAGE


def test_deleting_an_owner_cascades_to_its_dependents(kubectl: Kubectl, namespace: str) -> None:
    pod_spec = {"containers": [{"name": "main", "image": IMAGE}]}
    kubectl.apply(_deployment("web", pod_spec, replicas=2), namespace=namespace)
    kubectl.run("wait", "--for=condition=Available", "deployment/web", "-n", namespace, "--timeout=60s", timeout=70)
    assert len(_pods(kubectl, namespace, "app=web")) == 2
    assert kubectl.json("get", "replicasets", "-n", namespace, "-l", "app=web")["items"]

    # Background propagation: the Deployment goes at once, the garbage collector removes the rest.
    kubectl.run("delete", "deployment", "web", "-n", namespace, "--cascade=background", "--wait=false")
    wait_for(
        lambda: (
            not kubectl.json("get", "replicasets", "-n", namespace, "-l", "app=web")["items"]
            and not _pods(kubectl, namespace, "app=web")
        ),
        timeout=60,
        what="the garbage collector to delete the ReplicaSet and its pods",
    )


def test_restricted_namespace_rejects_a_privileged_pod(kubectl: Kubectl, namespace: str) -> None:
    kubectl.run("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    privileged = _pod(
        "privileged", containers=[{"name": "main", "image": IMAGE, "securityContext": {"privileged": True}}]
    )
    rejected = kubectl.create(privileged, namespace=namespace, check=False)
    assert rejected.returncode != 0
    assert "violates PodSecurity" in rejected.stderr and "restricted" in rejected.stderr, rejected.stderr

    # The same namespace admits a pod that meets the restricted profile: it is not refusing everything.
    compliant = _pod(
        "compliant",
        securityContext={
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        containers=[
            {
                "name": "main",
                "image": IMAGE,
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ],
    )
    kubectl.create(compliant, namespace=namespace)


def test_autoscaling_v2_hpa_is_accepted_and_reconciled(kubectl: Kubectl, namespace: str) -> None:
    pod_spec = {"containers": [{"name": "main", "image": IMAGE, "resources": {"requests": {"cpu": "100m"}}}]}
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1,
            "maxReplicas": 3,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
                }
            ],
        },
    }
    kubectl.apply(_deployment("web", pod_spec), hpa, namespace=namespace)
    stored = kubectl.json("get", "horizontalpodautoscalers.v2.autoscaling", "web", "-n", namespace)
    assert stored["apiVersion"] == "autoscaling/v2"
    assert stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 80

    # The real HPA controller picks it up (its 15 s sync loop); with no metrics API it reports that.
    able = wait_for(
        lambda: _condition(kubectl.json("get", "hpa", "web", "-n", namespace), "AbleToScale"),
        timeout=60,
        what="the HPA controller to set AbleToScale",
    )
    assert able["status"] in {"True", "False"}


def test_helm_installs_a_chart(kubectl: Kubectl, namespace: str, helm: str, tmp_path: Path) -> None:
    chart = tmp_path / "smoke"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: smoke\nversion: 0.1.0\nappVersion: '1.0'\n")
    (chart / "values.yaml").write_text("greeting: hello\nreplicas: 1\n")
    (chart / "templates" / "configmap.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n"
    )
    (chart / "templates" / "deployment.yaml").write_text(CHART_DEPLOYMENT)

    env = {
        **os.environ,
        "HELM_CACHE_HOME": str(tmp_path / "helm-cache"),
        "HELM_CONFIG_HOME": str(tmp_path / "helm-config"),
        "HELM_DATA_HOME": str(tmp_path / "helm-data"),
    }
    started = time.monotonic()
    result = subprocess.run(
        [
            helm,
            "install",
            "smoke",
            str(chart),
            "--namespace",
            namespace,
            f"--kubeconfig={kubectl.kubeconfig}",
            "--set",
            "greeting=hi",
            "--wait",
            "--timeout",
            "90s",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert time.monotonic() - started < 90

    config = kubectl.json("get", "configmap", "smoke-config", "-n", namespace)
    assert config["data"] == {"greeting": "hi"}
    deploy = kubectl.json("get", "deployment", "smoke", "-n", namespace)
    assert deploy["status"].get("availableReplicas") == 1
    listed = subprocess.run(
        [helm, "list", "--namespace", namespace, f"--kubeconfig={kubectl.kubeconfig}", "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    (release,) = json.loads(listed.stdout)
    assert (release["name"], release["status"]) == ("smoke", "deployed")


def test_claim_on_the_default_storage_class_is_provisioned_bound_and_reclaimed(
    kubectl: Kubectl, namespace: str
) -> None:
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "models"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "200Gi"}}},
    }
    reader = _pod(
        "reader",
        volumes=[{"name": "models", "persistentVolumeClaim": {"claimName": "models"}}],
        containers=[{"name": "main", "image": IMAGE, "volumeMounts": [{"name": "models", "mountPath": "/models"}]}],
    )
    kubectl.create(claim, reader, namespace=namespace)
    bound = wait_for(
        lambda: (c := kubectl.json("get", "pvc", "models", "-n", namespace))["status"].get("phase") == "Bound" and c,
        timeout=60,
        what="the claim to be Bound",
    )
    assert bound["spec"]["storageClassName"] == "standard"  # the default class was filled in
    volume = kubectl.json("get", "pv", bound["spec"]["volumeName"])
    assert volume["spec"]["claimRef"]["uid"] == bound["metadata"]["uid"]
    assert volume["spec"]["capacity"]["storage"] == "200Gi"
    assert volume["status"]["phase"] == "Bound"
    kubectl.run("wait", "--for=condition=Ready", "pod/reader", "-n", namespace, "--timeout=60s", timeout=70)

    kubectl.run("delete", "pod", "reader", "-n", namespace, "--wait=true", timeout=70)
    kubectl.run("delete", "pvc", "models", "-n", namespace, "--wait=true", timeout=70)
    wait_for(
        lambda: kubectl.run("get", "pv", volume["metadata"]["name"], check=False).returncode != 0,
        timeout=60,
        what="the released volume to be deleted (reclaim policy Delete)",
    )
