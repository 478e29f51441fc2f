"""Renderers: golden files for every runtime and conversion path, Kubernetes schema validation, Pod Security
restricted, placement, secrets by reference, HPA ownership of replicas."""

import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from llmops.api.resource import parse_resource
from llmops.desired import DesiredState, desired_state, plan_document
from llmops.planning.facts import ClusterFacts, pools_from_nodes
from llmops.planning.hardware import GPU_RESOURCE

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.yaml") if p.name != "nodes.yaml")
K8S_VERSION = "1.36.0"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def nodes() -> list[dict[str, Any]]:
    return list(yaml.safe_load((ROOT / "examples" / "nodes.yaml").read_text())["items"])


def render(path: Path) -> DesiredState:
    return render_object(yaml.safe_load(path.read_text()))


def render_object(obj: dict[str, Any]) -> DesiredState:
    resource = parse_resource(obj)
    resource = resource.model_copy(
        update={"metadata": resource.metadata.model_copy(update={"namespace": "team-a", "uid": "0000-uid"})}
    )
    facts = (
        ClusterFacts(pools=pools_from_nodes(nodes()))
        if resource.spec.hardware.accelerator == "auto"
        else ClusterFacts()
    )
    state = desired_state(resource, facts)
    assert isinstance(state, DesiredState), str(state)
    return state


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{o['kind']}/{o['metadata']['name']}", o["spec"]["template"]["spec"])
        for o in objects
        if o["kind"] in ("Deployment", "Job")
    ]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_golden(example: Path) -> None:
    document = yaml.safe_dump(plan_document(render(example)), sort_keys=False, width=120)
    golden = GOLDEN / f"{example.stem}.yaml"
    if UPDATE:
        golden.write_text(document)
    assert golden.exists(), f"no golden {golden.name}; create it with UPDATE_GOLDEN=1 and review it"
    assert golden.read_text() == document, f"golden {golden.name} differs; rerun with UPDATE_GOLDEN=1 and review"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_objects_pass_the_kubernetes_schemas(example: Path) -> None:
    for obj in render(example).objects:
        if obj["apiVersion"].startswith("monitoring.coreos.com"):
            continue  # a CRD kind; not in the bundled schemas
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_pod_meets_pod_security_restricted(example: Path) -> None:
    for where, pod in pod_specs(render(example).objects):
        sc = pod["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["seccompProfile"]["type"] == "RuntimeDefault", where
        assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC"), where
        for volume in pod["volumes"]:
            assert set(volume) - {"name"} <= {"persistentVolumeClaim", "emptyDir"}, where
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            csc = container["securityContext"]
            assert csc["allowPrivilegeEscalation"] is False, where
            assert csc["capabilities"]["drop"] == ["ALL"], where
            assert not csc.get("privileged"), where
            assert not container.get("ports") or all(p.get("hostPort") is None for p in container["ports"])


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_hf_token_reaches_only_the_download_step(example: Path) -> None:
    state = render(example)
    ref = state.context.spec.model.token_secret_ref
    seen = []
    for where, pod in pod_specs(state.objects):
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            for env in container.get("env", []):
                if env["name"] == "HF_TOKEN":
                    seen.append((where, container["name"]))
                    assert env["valueFrom"]["secretKeyRef"] == {"name": ref.name, "key": ref.key} if ref else False
                    assert "value" not in env
    expected_download = ref is not None and not state.context.serves_source_in_place
    assert [c for _, c in seen] == (["download"] if expected_download else [])


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_placement_and_gpu_limits(example: Path) -> None:
    state = render(example)
    plan = state.plan
    for obj in state.objects:
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        pod = obj["spec"]["template"]["spec"]
        limits = [c["resources"]["limits"] for c in pod["containers"]]
        terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        on_gpu = obj["kind"] == "Deployment" or (
            obj["metadata"]["name"].startswith("llmops-convert") and state.context.is_engine
        )
        if on_gpu and plan.gpus:
            assert all(lim[GPU_RESOURCE] == str(plan.gpus) for lim in limits)
            assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
            assert terms[0]["matchExpressions"][0]["values"] == [plan.accelerator.value]
        else:
            assert all(GPU_RESOURCE not in lim for lim in limits), obj["metadata"]["name"]
            if obj["kind"] == "Job":
                assert terms[0]["matchExpressions"][0]["values"] == ["cpu"], "non-engine conversions run on CPU"


def test_engine_conversion_runs_on_the_target_gpu_pool() -> None:
    state = render(ROOT / "examples" / "h100-triton-tensorrt.yaml")
    jobs = {o["metadata"]["name"].split("-")[1]: o for o in state.objects if o["kind"] == "Job"}
    convert = jobs["convert"]["spec"]["template"]["spec"]
    assert [c["name"] for c in convert["initContainers"]] == ["convert-checkpoint", "build-engine", "repository"]
    products = convert["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert products[1]["matchExpressions"][0]["values"] == ["NVIDIA-H100-80GB-HBM3"]
    download = jobs["download"]["spec"]["template"]["spec"]
    assert GPU_RESOURCE not in download["containers"][0]["resources"]["limits"]


def test_autoscaling_leaves_replicas_to_the_hpa() -> None:
    state = render(ROOT / "examples" / "h100-triton-tensorrt.yaml")
    deployment = next(o for o in state.objects if o["kind"] == "Deployment")
    hpa = next(o for o in state.objects if o["kind"] == "HorizontalPodAutoscaler")
    assert "replicas" not in deployment["spec"]
    assert hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] == "nv_inference_queue_duration_us"
    assert hpa["spec"]["behavior"] == {"scaleDown": {"stabilizationWindowSeconds": 300}}, "the default: five minutes"
    fixed = next(o for o in render(ROOT / "examples" / "cpu-triton-onnx.yaml").objects if o["kind"] == "Deployment")
    assert fixed["spec"]["replicas"] == 2


def test_the_scale_down_window_is_the_specs() -> None:
    obj = yaml.safe_load((ROOT / "examples" / "h100-triton-tensorrt.yaml").read_text())
    obj["spec"]["autoscaling"]["scaleDownStabilizationSeconds"] = 30
    hpa = next(o for o in render_object(obj).objects if o["kind"] == "HorizontalPodAutoscaler")
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 30


@pytest.mark.parametrize(
    ("example", "metric"),
    [("rtx4090-vllm", "vllm:num_requests_waiting"), ("l40s-vllm-fp8", "vllm:kv_cache_usage_perc")],
)
def test_hpa_maps_metrics_to_the_runtime(example: str, metric: str) -> None:
    hpa = next(
        o for o in render(ROOT / "examples" / f"{example}.yaml").objects if o["kind"] == "HorizontalPodAutoscaler"
    )
    assert hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] == metric


def test_schema_validation_catches_a_broken_object() -> None:
    deployment = next(
        o for o in render(ROOT / "examples" / "cpu-triton-onnx.yaml").objects if o["kind"] == "Deployment"
    )
    broken = deployment | {"spec": deployment["spec"] | {"replicas": "2"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_children_carry_owner_reference_and_own_labels_only() -> None:
    state = render(ROOT / "examples" / "rtx4090-vllm.yaml")
    for obj in state.objects:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "llmops"
        assert "app.kubernetes.io/instance" not in labels  # ArgoCD's tracking label never follows
        if obj["kind"] == "PersistentVolumeClaim":
            assert "ownerReferences" not in obj["metadata"]  # shared artifacts outlive an LLMDeployment
        else:
            (ref,) = obj["metadata"]["ownerReferences"]
            assert ref["controller"] is True and ref["uid"] == "0000-uid" and ref["kind"] == "LLMDeployment"
