"""The operator on the real control plane: every accelerator class to Ready, the artifact cache, shared and
failing conversions, placement, updates, the HPA, restarts, deletion, refusals and admission."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmops.api.resource import parse_resource
from llmops.desired import DesiredState, desired_state
from llmops.planning.facts import ClusterFacts, accelerator_of_node
from llmops_dev.kubectl import Kubectl, wait_for
from tests.integration.operator_fixtures import (
    CRD,
    OperatorProcess,
    condition,
    example,
    items,
    llmd,
    wait_phase,
)

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def operator(kubeconfig: str, kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    kubectl.run("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
    kubectl.wait_established("llmdeployments.llmops.dev")
    process = OperatorProcess(kubeconfig, tmp_path_factory.mktemp("operator") / "operator.log")
    process.start()
    yield process
    if process.process is not None:
        assert process.stop() == 0, "graceful shutdown on SIGTERM"


@pytest.fixture(autouse=True)
def restricted(kubectl: Kubectl, namespace: str) -> None:
    """Every test namespace enforces Pod Security "restricted": a rendered pod that breaks it is never created."""
    kubectl.run("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")


def node_of(kubectl: Kubectl, namespace: str, selector: str) -> list[dict[str, Any]]:
    pods = kubectl.json("get", "pods", "-n", namespace, "-l", selector)["items"]
    return [kubectl.json("get", "node", p["spec"]["nodeName"]) for p in pods if p["spec"].get("nodeName")]


CLASS_EXAMPLES = [
    ("h100-triton-tensorrt", "h100"),
    ("h100-nim", "h100"),
    ("a100-triton-int8", "a100"),
    ("rtx4090-vllm", "rtx4090"),
    ("cpu-triton-onnx", "cpu"),
    ("edge-llamacpp", "edge"),
    ("auto", "h100"),
]


@pytest.mark.parametrize(("name", "accelerator"), CLASS_EXAMPLES)
def test_each_accelerator_class_reaches_ready_on_its_pool(
    operator: OperatorProcess, kubectl: Kubectl, namespace: str, name: str, accelerator: str
) -> None:
    obj = example(name)
    kubectl.apply(obj, namespace=namespace)
    ready = wait_phase(kubectl, namespace, obj["metadata"]["name"], "Ready")
    status = ready["status"]
    assert status["plan"]["accelerator"] == accelerator
    assert condition(ready, "Ready")["status"] == "True"
    assert {c["type"] for c in status["conditions"]} == {"Planned", "ArtifactReady", "Available", "Ready"}
    assert status["artifact"]["key"].startswith("sha256:") and status["artifact"]["cached"] is False
    assert status["endpoint"]["url"].startswith(f"http://{obj['metadata']['name']}.{namespace}.svc:")
    assert status["selector"] == f"llmops.dev/deployment={obj['metadata']['name']}"
    assert status["readyReplicas"] == status["replicas"] >= 1
    # serving pods landed on the planned pool
    for node in node_of(kubectl, namespace, status["selector"]):
        assert accelerator_of_node(node) == accelerator, node["metadata"]["name"]
    # engines are built on the target GPU pool; downloads and every other conversion run on CPU nodes
    for pod in kubectl.json("get", "pods", "-n", namespace, "-l", "app.kubernetes.io/component=conversion")["items"]:
        node = kubectl.json("get", "node", pod["spec"]["nodeName"])
        engine_build = status["plan"]["format"] == "tensorrt-engine" and "-convert-" in pod["metadata"]["name"]
        assert accelerator_of_node(node) == (accelerator if engine_build else "cpu"), pod["metadata"]["name"]
    reasons = [e["reason"] for e in kubectl.json("get", "events", "-n", namespace)["items"]]
    assert "Ready" in reasons


def test_status_is_not_rewritten_when_nothing_changes(
    operator: OperatorProcess, kubectl: Kubectl, namespace: str
) -> None:
    obj = example("edge-llamacpp")
    kubectl.apply(obj, namespace=namespace)
    ready = wait_phase(kubectl, namespace, obj["metadata"]["name"], "Ready")
    time.sleep(5)
    assert (
        llmd(kubectl, namespace, obj["metadata"]["name"])["metadata"]["resourceVersion"]
        == ready["metadata"]["resourceVersion"]
    )
    deployment = kubectl.json("get", "deployment", obj["metadata"]["name"], "-n", namespace, "--show-managed-fields")
    managers = {f["manager"] for f in deployment["metadata"]["managedFields"] if f["operation"] == "Apply"}
    assert managers == {"llmops"}
    labels = deployment["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "llmops" and "app.kubernetes.io/instance" not in labels
    (owner,) = deployment["metadata"]["ownerReferences"]
    assert owner["controller"] is True and owner["uid"] == ready["metadata"]["uid"]


def test_equal_key_is_a_cache_hit_with_no_job(operator: OperatorProcess, kubectl: Kubectl, namespace: str) -> None:
    first = example("cpu-triton-onnx", name="first", serving={"replicas": 1})
    kubectl.apply(first, namespace=namespace)
    wait_phase(kubectl, namespace, "first", "Ready")
    jobs_before = {j["metadata"]["name"] for j in items(kubectl, namespace, "jobs")}
    kubectl.apply(example("cpu-triton-onnx", name="second", serving={"replicas": 1}), namespace=namespace)
    second = wait_phase(kubectl, namespace, "second", "Ready")
    assert second["status"]["artifact"]["cached"] is True
    assert condition(second, "ArtifactReady")["reason"] == "ArtifactCached"
    assert "conversionStarted" not in second["status"]["timings"]
    assert {j["metadata"]["name"] for j in items(kubectl, namespace, "jobs")} == jobs_before
    assert "llmops_artifact_cache_hits_total" in operator.metrics()


def test_same_artifact_for_several_deployments_runs_one_job(
    operator: OperatorProcess, kubectl: Kubectl, namespace: str
) -> None:
    names = ["a", "b", "c"]
    kubectl.apply(*(example("cpu-triton-onnx", name=n) for n in names), namespace=namespace)
    keys = {wait_phase(kubectl, namespace, n, "Ready")["status"]["artifact"]["key"] for n in names}
    assert len(keys) == 1
    jobs = items(kubectl, namespace, "jobs")
    assert sorted(j["metadata"]["name"].split("-")[1] for j in jobs) == ["convert", "download"]
    assert len(items(kubectl, namespace, "pods", "app.kubernetes.io/component=conversion")) == 2


def rendered(obj: dict[str, Any], namespace: str) -> DesiredState:
    resource = parse_resource(obj | {"metadata": {**obj["metadata"], "namespace": namespace, "uid": "x"}})
    state = desired_state(resource, ClusterFacts())
    assert isinstance(state, DesiredState)
    return state


def precreate_job(kubectl: Kubectl, state: DesiredState, index: int, annotations: dict[str, str]) -> str:
    """Create the Job the operator would create, with kwok annotations on its pod (failure or delay)."""
    job = copy.deepcopy([o for o in state.objects if o["kind"] == "Job"][index])
    del job["metadata"]["ownerReferences"]
    job["spec"]["template"]["metadata"]["annotations"] = annotations
    kubectl.create(job)
    return str(job["metadata"]["name"])


def test_failed_conversion_job_fails_the_deployment_with_its_message(
    operator: OperatorProcess, kubectl: Kubectl, namespace: str
) -> None:
    obj = example("edge-llamacpp")
    message = "convert: unsupported architecture MambaForCausalLM"
    job = precreate_job(kubectl, rendered(obj, namespace), 1,
                        {"kwok.llmops.dev/exit-code": "3", "kwok.llmops.dev/message": message})  # fmt: skip
    kubectl.apply(obj, namespace=namespace)
    failed = wait_phase(kubectl, namespace, obj["metadata"]["name"], "Failed", timeout=120)
    artifact = condition(failed, "ArtifactReady")
    assert artifact["reason"] == "ConversionFailed" and message in artifact["message"] and job in artifact["message"]
    assert condition(failed, "Ready")["reason"] == "ConversionFailed"
    assert not items(kubectl, namespace, "deployments")
    warnings = [e for e in kubectl.json("get", "events", "-n", namespace)["items"] if e["type"] == "Warning"]
    assert any(message in e["message"] for e in warnings)


def test_no_matching_nodes_waits_without_children_then_proceeds(
    operator: OperatorProcess, kubectl: Kubectl, namespace: str
) -> None:
    obj = example("l40s-vllm-fp8")
    kubectl.apply(obj, namespace=namespace)
    pending = wait_phase(kubectl, namespace, obj["metadata"]["name"], "Pending")
    ready = condition(pending, "Ready")
    assert ready["status"] == "False" and ready["reason"] == "NoMatchingNodes" and "l40s" in ready["message"]
    assert not items(kubectl, namespace, "jobs") and not items(kubectl, namespace, "deployments")
    node_name = f"l40s-{namespace[-6:]}"
    node: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node_name,
            "labels": {"type": "kwok", "nvidia.com/gpu.product": "NVIDIA-L40S", "kubernetes.io/os": "linux"},
            "annotations": {"kwok.x-k8s.io/node": "fake"},
        },
        "spec": {"taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]},
        "status": {
            "capacity": {"cpu": "64", "memory": "512Gi", "pods": "110", "nvidia.com/gpu": "4"},
            "allocatable": {"cpu": "64", "memory": "512Gi", "pods": "110", "nvidia.com/gpu": "4"},
        },
    }
    kubectl.create(node)
    try:
        wait_phase(kubectl, namespace, obj["metadata"]["name"], "Ready", timeout=120)
    finally:
        kubectl.run("delete", "node", node_name, "--wait=false")


def test_refused_spec_creates_nothing(operator: OperatorProcess, kubectl: Kubectl, namespace: str) -> None:
    obj = example("a100-triton-int8", optimization={"quantization": "fp8"})
    kubectl.apply(obj, namespace=namespace)
    failed = wait_phase(kubectl, namespace, obj["metadata"]["name"], "Failed")
    planned = condition(failed, "Planned")
    assert planned["reason"] == "Fp8NeedsHopperOrAda" and "fp8-needs-hopper-or-ada" in planned["message"]
    for kind in ("jobs", "deployments", "services", "pvc", "configmaps"):
        assert not items(kubectl, namespace, kind), kind


def test_serving_change_rolls_the_deployment_without_conversion(
    operator: OperatorProcess, kubectl: Kubectl, namespace: str
) -> None:
    obj = example("rtx4090-vllm")
    name = obj["metadata"]["name"]
    kubectl.apply(obj, namespace=namespace)
    before = wait_phase(kubectl, namespace, name, "Ready")
    jobs = {j["metadata"]["name"] for j in items(kubectl, namespace, "jobs")}
    kubectl.apply(example("rtx4090-vllm", serving={"args": ["--enable-prefix-caching"]}), namespace=namespace)
    after = wait_phase(kubectl, namespace, name, "Ready")
    assert after["status"]["artifact"]["key"] == before["status"]["artifact"]["key"]
    assert {j["metadata"]["name"] for j in items(kubectl, namespace, "jobs")} == jobs
    container = kubectl.json("get", "deployment", name, "-n", namespace)["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][-1] == "--enable-prefix-caching"


def test_new_artifact_converts_while_the_old_deployment_keeps_serving(
    operator: OperatorProcess, kubectl: Kubectl, namespace: str
) -> None:
    obj = example("edge-llamacpp")
    name = obj["metadata"]["name"]
    kubectl.apply(obj, namespace=namespace)
    old_key = wait_phase(kubectl, namespace, name, "Ready")["status"]["artifact"]["key"]
    changed = example("edge-llamacpp", optimization={"quantization": "q8_0"})
    # the new conversion takes 15 s (kwok delay), long enough to look at the old Deployment meanwhile
    precreate_job(kubectl, rendered(changed, namespace), 1, {"kwok.llmops.dev/delay": "15s"})
    kubectl.apply(changed, namespace=namespace)
    converting = wait_phase(kubectl, namespace, name, "Converting")
    assert converting["status"]["artifact"]["key"] != old_key
    deployment = kubectl.json("get", "deployment", name, "-n", namespace)
    assert deployment["spec"]["template"]["metadata"]["annotations"]["llmops.dev/artifact-key"] == old_key
    assert deployment["status"]["readyReplicas"] == 1
    ready = wait_phase(kubectl, namespace, name, "Ready", timeout=120)
    new_key = ready["status"]["artifact"]["key"]
    deployment = kubectl.json("get", "deployment", name, "-n", namespace)
    assert deployment["spec"]["template"]["metadata"]["annotations"]["llmops.dev/artifact-key"] == new_key


def test_hpa_owns_replicas_and_the_operator_does_not_revert_them(
    operator: OperatorProcess, kubectl: Kubectl, namespace: str
) -> None:
    obj = example("cpu-triton-onnx", autoscaling={"enabled": True, "minReplicas": 1, "maxReplicas": 5, "metric": "cpu"})
    name = obj["metadata"]["name"]
    kubectl.apply(obj, namespace=namespace)
    wait_phase(kubectl, namespace, name, "Ready")
    hpa = kubectl.json("get", "hpa", name, "-n", namespace)
    assert hpa["spec"]["scaleTargetRef"]["name"] == name and hpa["spec"]["maxReplicas"] == 5
    # what the HPA controller does: write the scale subresource as another manager
    kubectl.run("scale", "deployment", name, "-n", namespace, "--replicas=3")
    kubectl.apply(example("cpu-triton-onnx", autoscaling=obj["spec"]["autoscaling"], serving={"args": ["--verbose"]}),
                  namespace=namespace)  # fmt: skip
    ready = wait_phase(kubectl, namespace, name, "Ready")
    assert ready["status"]["replicas"] == 3 and ready["status"]["readyReplicas"] == 3
    assert kubectl.json("get", "deployment", name, "-n", namespace)["spec"]["replicas"] == 3
    # autoscaling off again: the HPA goes, the operator applies spec.serving.replicas
    kubectl.apply(example("cpu-triton-onnx", serving={"replicas": 2}), namespace=namespace)
    wait_for(lambda: not items(kubectl, namespace, "hpa"), timeout=60, what="HPA removed")
    assert wait_phase(kubectl, namespace, name, "Ready")["status"]["replicas"] == 2


def test_scale_subresource_drives_serving_replicas(operator: OperatorProcess, kubectl: Kubectl, namespace: str) -> None:
    obj = example("cpu-triton-onnx")
    name = obj["metadata"]["name"]
    kubectl.apply(obj, namespace=namespace)
    wait_phase(kubectl, namespace, name, "Ready")
    kubectl.run("scale", "llmdeployment", name, "-n", namespace, "--replicas=3")
    ready = wait_phase(kubectl, namespace, name, "Ready")
    assert ready["status"]["replicas"] == 3
    scale = json.loads(
        kubectl.run(
            "get", "--raw", f"/apis/llmops.dev/v1alpha1/namespaces/{namespace}/llmdeployments/{name}/scale"
        ).stdout
    )
    assert scale["status"]["selector"] == f"llmops.dev/deployment={name}"


def test_operator_killed_mid_conversion_resumes_without_duplicate_jobs(
    operator: OperatorProcess, kubectl: Kubectl, namespace: str
) -> None:
    obj = example("h100-triton-tensorrt")
    name = obj["metadata"]["name"]
    kubectl.apply(obj, namespace=namespace)
    wait_for(lambda: items(kubectl, namespace, "jobs"), timeout=60, what="the first conversion Job")
    operator.stop(kill=True)
    time.sleep(3)  # the Job finishes while nobody watches
    operator.start()
    wait_phase(kubectl, namespace, name, "Ready", timeout=120)
    jobs = items(kubectl, namespace, "jobs")
    assert sorted(j["metadata"]["name"].split("-")[1] for j in jobs) == ["convert", "download"]
    pods = items(kubectl, namespace, "pods", "app.kubernetes.io/component=conversion")
    assert len(pods) == 2


def test_deletion_removes_children_and_keeps_shared_artifacts(
    operator: OperatorProcess, kubectl: Kubectl, namespace: str
) -> None:
    obj = example("cpu-triton-onnx")
    name = obj["metadata"]["name"]
    kubectl.apply(obj, namespace=namespace)
    key = wait_phase(kubectl, namespace, name, "Ready")["status"]["artifact"]["key"]
    kubectl.run("delete", "llmdeployment", name, "-n", namespace, "--wait=true", timeout=90)
    for kind in ("deployments", "services", "jobs"):

        def gone(kind: str = kind) -> bool:
            return not items(kubectl, namespace, kind)

        wait_for(gone, timeout=60, what=f"{kind} garbage-collected")
    records = items(kubectl, namespace, "configmaps", "app.kubernetes.io/component=artifact")
    assert [r["data"]["key"] for r in records] == [key]
    assert kubectl.json("get", "pvc", "llmops-models", "-n", namespace)["status"]["phase"] == "Bound"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"hardware": {"accelerator": "cpu", "gpus": 1}}, "hardware.gpus must be 0"),
        ({"autoscaling": {"minReplicas": 5, "maxReplicas": 2}}, "autoscaling.minReplicas must be less than or equal"),
        ({"runtime": "tensorrt-llm", "hardware": {"accelerator": "edge"}}, "runtime-needs-nvidia-gpu"),
        ({"runtime": "vllm", "model": {"source": "pvc://m/x.gguf", "format": "gguf"}}, "runtime-format-unsupported"),
        ({"hardware": {"accelerator": "tpu"}}, 'spec.hardware.accelerator: Unsupported value: "tpu"'),
        ({"model": {"source": "s3://bucket/model"}}, "spec.model.source in body should match"),
    ],
)
def test_api_server_rejects_bad_specs_with_clear_messages(
    operator: OperatorProcess, kubectl: Kubectl, namespace: str, spec: dict[str, Any], message: str
) -> None:
    obj = example("edge-llamacpp")
    obj["spec"] = {**obj["spec"], **spec}
    result = kubectl.create(obj, namespace=namespace, check=False)
    assert result.returncode != 0 and message in result.stderr, result.stderr


def test_existing_claim_is_immutable(operator: OperatorProcess, kubectl: Kubectl, namespace: str) -> None:
    obj = example("edge-llamacpp", storage={"existingClaim": "models-a"})
    kubectl.create(obj, namespace=namespace)
    patch = json.dumps({"spec": {"storage": {"existingClaim": "models-b"}}})
    name = obj["metadata"]["name"]
    result = kubectl.run("patch", "llmdeployment", name, "-n", namespace, "--type=merge", "-p", patch, check=False)
    assert result.returncode != 0 and "storage.existingClaim is immutable" in result.stderr, result.stderr


def test_operator_metrics_use_controller_runtime_names(operator: OperatorProcess) -> None:
    text = operator.metrics()
    for name in (
        'controller_runtime_reconcile_total{controller="llmdeployment"',
        "controller_runtime_reconcile_time_seconds_bucket",
        "controller_runtime_reconcile_errors_total",
        "llmops_llmdeployments{",
        "llmops_conversion_duration_seconds_bucket",
    ):
        assert name in text, name


def test_token_secret_stays_a_reference(operator: OperatorProcess, kubectl: Kubectl, namespace: str) -> None:
    sentinel = "hf_SENTINEL_not_to_be_seen_anywhere"
    kubectl.run("create", "secret", "generic", "hf-token", "-n", namespace, f"--from-literal=token={sentinel}")
    obj = example("rtx4090-vllm")
    kubectl.apply(obj, namespace=namespace)
    wait_phase(kubectl, namespace, obj["metadata"]["name"], "Ready")
    everything = kubectl.run(
        "get", "llmd,jobs,deployments,services,configmaps,events", "-n", namespace, "-o", "yaml"
    ).stdout
    assert sentinel not in everything
    assert "secretKeyRef" in everything and "hf-token" in everything
    log = Path(operator.log).read_text()
    assert sentinel not in log
