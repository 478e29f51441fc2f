"""End to end on the real node: an LLMDeployment from `kubectl apply` to answered requests, every step a real
process in a real container — download from a local model hub, convert, publish, serve, cache, fail cleanly."""

from __future__ import annotations

import functools
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from llmops.api.enums import Runtime, ScalingMetric
from llmops.observability.conventions import DEPLOYMENT, RUNTIME
from llmops.planning.hardware import CLASS_LABEL
from llmops.planning.metrics import SCALING_SIGNALS
from llmops.render import common
from llmops_builders.lab import tinymodel
from llmops_dev import localconfig, node
from llmops_dev.hub import ModelHub, read_repo
from llmops_dev.kubectl import Kubectl, wait_for
from tests.chart.chart import scrape_configs
from tests.integration.operator_fixtures import CRD, OperatorProcess, condition, llmd
from tests.node import custom_metrics
from tests.node.test_real_node import apply, image, pod, session_images, wait_phase
from tests.observability import promql
from tests.observability.prometheus import Prometheus, running, wait_until
from tests.observability.test_prometheus_serving import serving_expressions

pytestmark = pytest.mark.cluster

TOKEN = "hf_e2e" + "0" * 30  # the token that accepted the gated repo's license
ON_REAL_NODE = localconfig.ON_REAL_NODE
# Small requests: the real node has 2 cores, and a conversion Job asks for one.
SMALL = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
SLOW = 420  # seconds for a cold path: download, convert, quantize, publish, pull nothing, start, probes


@pytest.fixture(scope="module")
def hub(kubeconfig: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelHub]:
    """The local model hub on the host end of the node's link (the apiserver's address), so pods reach it."""
    host = localconfig.hub_host(Path(kubeconfig))
    llama = tinymodel.make_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))
    qwen = tinymodel.make_tiny_qwen2(tmp_path_factory.mktemp("tiny-qwen2"))
    unknown = tmp_path_factory.mktemp("unknown-arch")
    for item in llama.iterdir():
        (unknown / item.name).write_bytes(item.read_bytes())
    config = json.loads((llama / "config.json").read_text())
    (unknown / "config.json").write_text(json.dumps({**config, "architectures": ["FluxCapacitorForCausalLM"]}))
    with ModelHub(host=host) as server:
        server.add("llmops-e2e/tiny-llama", read_repo(llama))
        server.add("llmops-e2e/tiny-qwen2", read_repo(qwen))
        server.add("llmops-e2e/unknown-arch", read_repo(unknown))
        server.add("llmops-e2e/gated", read_repo(llama, gated=True, tokens=frozenset({TOKEN})))
        yield server


@pytest.fixture(scope="module")
def operator(
    kubeconfig: str, kubectl: Kubectl, hub: ModelHub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """`llmops run` configured as a user of a mirrored, air-gapped cluster would: local images, a Hub mirror,
    conversion Jobs on the build node (here the real one)."""
    kubectl.run("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
    kubectl.wait_established("llmdeployments.llmops.dev")
    work = tmp_path_factory.mktemp("operator")
    images, conversion = localconfig.write(work, hub.url, session_images())
    args = ("--images-config", str(images), "--conversion-config", str(conversion))
    process = OperatorProcess(kubeconfig, work / "operator.log", args)
    process.start()
    try:
        yield process
    finally:
        if process.process is not None:
            process.stop()


def deployment(name: str, source: str, accelerator: str = "cpu", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": {"source": source},
        "hardware": {"accelerator": accelerator, **ON_REAL_NODE},
        "serving": {"resources": SMALL},
        "optimization": {"maxInputLength": 128, "maxOutputLength": 64},
        "storage": {"size": "2Gi"},
    }
    for key, value in spec.items():
        body[key] = {**body.get(key, {}), **value} if isinstance(value, dict) else value
    return {"apiVersion": "llmops.dev/v1alpha1", "kind": "LLMDeployment", "metadata": {"name": name}, "spec": body}


def wait_settled(kubectl: Kubectl, operator: OperatorProcess, namespace: str, name: str, timeout: float = SLOW) -> Any:
    """Wait for Ready or Failed of the current generation; the operator's log tail on a timeout."""

    def settled() -> Any:
        obj = llmd(kubectl, namespace, name)
        status = obj.get("status") or {}
        current = status.get("observedGeneration") == obj["metadata"]["generation"]
        return obj if current and status.get("phase") in ("Ready", "Failed") else None

    try:
        return wait_for(settled, timeout=timeout, what=f"{namespace}/{name} Ready or Failed")
    except TimeoutError:
        status = llmd(kubectl, namespace, name).get("status")
        pods = kubectl.run("get", "pods", "-n", namespace, "-o", "wide", check=False).stdout
        raise AssertionError(f"{name}: {status}\n{pods}\n{operator.log.read_text()[-3000:]}") from None


def jobs(kubectl: Kubectl, namespace: str) -> dict[str, Any]:
    return {j["metadata"]["name"]: j for j in kubectl.json("get", "jobs", "-n", namespace)["items"]}


def models_dir(kubectl: Kubectl, namespace: str) -> Path:
    """The models claim's directory on this machine (local-path, shared-filesystem mode)."""
    claim = kubectl.json("get", "pvc", "llmops-models", "-n", namespace)
    return Path(kubectl.json("get", "pv", claim["spec"]["volumeName"])["spec"]["hostPath"]["path"])


def request(kubectl: Kubectl, namespace: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST BODY to URL from a pod on the real node (so through the Service and cluster DNS); the JSON answer."""
    script = (
        "import json, sys, urllib.request\n"
        f"req = urllib.request.Request({url!r}, data=json.dumps({body!r}).encode(),\n"
        "                             headers={'Content-Type': 'application/json'})\n"
        "print(urllib.request.urlopen(req, timeout=60).read().decode())\n"
    )
    name = f"client-{secrets.token_hex(3)}"
    apply(kubectl, namespace, pod(name, image("operator"), ["python3", "-c", script]))
    phase = wait_phase(kubectl, namespace, name, ("Succeeded", "Failed"), timeout=120)
    logs = kubectl.run("logs", "-n", namespace, name).stdout
    assert phase == "Succeeded", logs
    return dict(json.loads(logs))


def load_pod(url: str, seconds: int, body: dict[str, Any] | None = None, concurrency: int = 2) -> dict[str, Any]:
    """A pod that POSTs BODY (a short completion by default) to URL, CONCURRENCY at a time, for SECONDS."""
    body = body or {"prompt": "Hello there", "max_tokens": 16}
    script = (
        "import json, threading, time, urllib.request\n"
        f"end = time.time() + {seconds}\n"
        "def send():\n"
        "    while time.time() < end:\n"
        f"        req = urllib.request.Request({url!r}, data=json.dumps({body!r}).encode(),\n"
        "                                     headers={'Content-Type': 'application/json'})\n"
        "        urllib.request.urlopen(req, timeout=120).read()\n"
        f"threads = [threading.Thread(target=send) for _ in range({concurrency})]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
    )
    return pod(f"load-{secrets.token_hex(3)}", image("operator"), ["python3", "-c", script])


@pytest.fixture(scope="module")
def prometheus(helm: str, kubeconfig: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """Prometheus on this machine with the chart's scrape configuration: its own Kubernetes discovery finds the
    serving pods, and it reaches their IPs over the node's link."""
    configs = scrape_configs(helm, "--set", "metrics.scrapeConfigs.interval=2s", kubeconfig=kubeconfig)
    with running(tmp_path_factory.mktemp("prometheus"), configs, [promql.RULES]) as server:
        yield server


def discovered(prometheus: Prometheus, kubectl: Kubectl, namespace: str, name: str) -> dict[str, Any]:
    """The one healthy serving target Prometheus discovered for the LLMDeployment's one pod."""
    (serving,) = kubectl.json("get", "pods", "-n", namespace, "-l", f"{common.DEPLOYMENT_LABEL}={name}")["items"]

    def healthy() -> dict[str, Any] | None:
        mine = [t for t in prometheus.targets() if t["labels"].get("namespace") == namespace
                and t["labels"].get(DEPLOYMENT) == name]  # fmt: skip
        return mine[0] if len(mine) == 1 and mine[0]["health"] == "up" else None

    target = wait_until(healthy, 60, f"one healthy target for {namespace}/{name} (log: {prometheus.log})")
    assert target["labels"]["job"] == "llmops-serving" and target["labels"]["pod"] == serving["metadata"]["name"]
    assert target["scrapeUrl"].startswith(f"http://{serving['status']['podIP']}:")
    return target


def panels_return_data(prometheus: Prometheus, row: str, variables: dict[str, str]) -> None:
    for expression in [e for e in serving_expressions() if not e.where.startswith(("llama.cpp", "Triton"))
                       or e.where.startswith(row)]:  # fmt: skip
        query = promql.substitute(expression.expr, variables)
        wait_until(functools.partial(prometheus.finite, query), 120, f"data for {expression.where}", every=2)


def events(kubectl: Kubectl, namespace: str, name: str, kind: str = "") -> list[dict[str, Any]]:
    """The Events about the object NAME (of KIND, if given)."""
    selector = f"involvedObject.name={name}" + (f",involvedObject.kind={kind}" if kind else "")
    return list(kubectl.json("get", "events", "-n", namespace, "--field-selector", selector)["items"])


def warnings(kubectl: Kubectl, namespace: str, name: str) -> list[dict[str, Any]]:
    return [e for e in events(kubectl, namespace, name) if e["type"] == "Warning"]


@dataclass(frozen=True)
class Served:
    """An LLMDeployment that went Ready for real, in a namespace of its own for the module."""

    namespace: str
    name: str
    obj: dict[str, Any]
    applied: float  # time.monotonic() at `kubectl apply`
    seconds: float  # apply → Ready


@pytest.fixture(scope="module")
def llama_cpp(kubectl: Kubectl, operator: OperatorProcess) -> Iterator[Served]:
    """tiny-llama as a cpu llama-cpp LLMDeployment, from apply to Ready (cold: nothing of it cached)."""
    namespace = f"e2e-llama-{secrets.token_hex(3)}"
    kubectl.run("create", "namespace", namespace)
    name = "tiny-llama-cpp"
    began = time.monotonic()
    kubectl.apply(deployment(name, "hf://llmops-e2e/tiny-llama", runtime="llama-cpp"), namespace=namespace)
    obj = wait_settled(kubectl, operator, namespace, name)
    yield Served(namespace, name, obj, began, time.monotonic() - began)
    kubectl.run("delete", "namespace", namespace, "--wait=false", check=False)


def test_cpu_llama_cpp_downloads_converts_serves_and_answers(
    kubectl: Kubectl, llama_cpp: Served, operator: OperatorProcess, hub: ModelHub
) -> None:
    namespace, name, obj = llama_cpp.namespace, llama_cpp.name, llama_cpp.obj
    assert obj["status"]["phase"] == "Ready", obj["status"]
    status = obj["status"]
    # Every Job ran on the real node and succeeded; the files came from the hub, by commit.
    found = jobs(kubectl, namespace)
    assert found and all(j["status"].get("succeeded") == 1 for j in found.values()), found
    job_pods = kubectl.json("get", "pods", "-n", namespace, "-l", "app.kubernetes.io/component=conversion")["items"]
    assert job_pods and {p["spec"]["nodeName"] for p in job_pods} == {node.NODE_NAME}
    commit = hub.repos["llmops-e2e/tiny-llama"].commit
    assert any(r.startswith(f"GET /llmops-e2e/tiny-llama/resolve/{commit}/model.safetensors") for r in hub.requests)
    assert status["artifact"]["cached"] is False
    # The artifact on the volume: a GGUF file and its manifest.
    hex_key = status["artifact"]["key"].split(":", 1)[1]
    artifact = models_dir(kubectl, namespace) / "artifacts" / hex_key
    manifest = json.loads((artifact / "manifest.json").read_text())
    assert manifest["key"] == status["artifact"]["key"] and manifest["format"] == "gguf"
    assert manifest["resolvedRevision"] == commit
    assert (artifact / "model.gguf").read_bytes()[:4] == b"GGUF"
    assert {"download", "convert-gguf", "quantize-gguf", "publish"} <= set(manifest["timings"]), manifest["timings"]
    # The serving pod is real, on the real node, and answers through its Service by DNS name.
    (serving,) = kubectl.json("get", "pods", "-n", namespace, "-l", f"llmops.dev/deployment={name}")["items"]
    assert serving["spec"]["nodeName"] == node.NODE_NAME
    assert all(s["ready"] and s["restartCount"] == 0 for s in serving["status"]["containerStatuses"])
    url = f"http://{name}.{namespace}.svc.cluster.local:8080/v1/completions"
    answer = request(kubectl, namespace, url, {"prompt": "Return the number of items", "max_tokens": 8})
    assert answer["usage"]["completion_tokens"] > 0 and answer["choices"][0]["text"], answer
    answered = time.monotonic() - llama_cpp.applied
    # Timings come from this run: each phase after the one before it.
    timings = status["timings"]
    for earlier, later in (("planned", "conversionStarted"), ("conversionStarted", "conversionFinished"),
                           ("conversionFinished", "ready")):  # fmt: skip
        assert timings[earlier] <= timings[later], timings
    print(f"\n[e2e] gguf cold: apply → Ready {llama_cpp.seconds:.0f}s, → answered {answered:.0f}s; {timings}")
    assert 'llmops_conversion_duration_seconds_count{format="gguf"} 1.0' in operator.metrics()


def test_prometheus_discovers_the_real_serving_pod_and_every_llama_cpp_panel_returns_data(
    kubectl: Kubectl, llama_cpp: Served, prometheus: Prometheus
) -> None:
    namespace, name = llama_cpp.namespace, llama_cpp.name
    target = discovered(prometheus, kubectl, namespace, name)
    assert target["labels"][RUNTIME] == "llama-cpp" and target["scrapeUrl"].endswith(":8080/metrics")
    # Bounded traffic through the Service while the panels are queried.
    apply(kubectl, namespace, load_pod(f"http://{name}.{namespace}.svc.cluster.local:8080/v1/completions", 90))
    panels_return_data(prometheus, "llama.cpp", {"namespace": namespace, "runtime": "llama-cpp", "deployment": name})
    served = f'sum(increase(llamacpp:tokens_predicted_total{{namespace="{namespace}",{DEPLOYMENT}="{name}"}}[1m]))'
    wait_until(lambda: [s for s in prometheus.query(served) if float(s["value"][1]) > 0], 60, "tokens under load")


def replicas(kubectl: Kubectl, namespace: str, name: str) -> tuple[int, int]:
    """The serving Deployment's (spec.replicas, ready replicas)."""
    deployment_ = kubectl.json("get", "deployment", name, "-n", namespace)
    return deployment_["spec"]["replicas"], deployment_["status"].get("readyReplicas", 0)


def scales_up_under_load_and_back(kubectl: Kubectl, namespace: str, name: str, load: dict[str, Any]) -> None:
    """Under LOAD the HPA takes the Deployment to 2 ready replicas; after it, back to 1."""
    assert replicas(kubectl, namespace, name) == (1, 1)
    apply(kubectl, namespace, load)
    try:
        wait_for(lambda: replicas(kubectl, namespace, name) == (2, 2), timeout=360, what=f"{name} scaled up to 2")
    except TimeoutError as error:
        hpa = kubectl.json("get", "hpa", name, "-n", namespace).get("status", {})
        pods = kubectl.run("get", "pods", "-n", namespace, "-o", "wide", check=False).stdout
        raise TimeoutError(f"{error}; HPA status: {hpa}; pods:\n{pods}") from None
    kubectl.run("delete", "pod", load["metadata"]["name"], "-n", namespace, "--grace-period=0", "--wait=false")
    wait_for(lambda: replicas(kubectl, namespace, name)[0] == 1, timeout=240, what=f"{name} scaled back to 1")
    rescaled = events(kubectl, namespace, name, "HorizontalPodAutoscaler")
    messages = [e["message"] for e in rescaled if e["reason"] == "SuccessfulRescale"]
    assert any("New size: 2" in m for m in messages) and any("New size: 1" in m for m in messages), messages


def autoscaled(name: str, metric: str, target: str, **spec: Any) -> dict[str, Any]:
    scaling = {"enabled": True, "minReplicas": 1, "maxReplicas": 2, "metric": metric, "target": target,
               "scaleDownStabilizationSeconds": 15}  # fmt: skip
    return deployment(name, "hf://llmops-e2e/tiny-llama", runtime="llama-cpp", autoscaling=scaling, **spec)


def test_a_cpu_hpa_scales_llama_cpp_up_under_load_and_back_down_through_metrics_server(
    kubectl: Kubectl, llama_cpp: Served, operator: OperatorProcess
) -> None:
    namespace, name = llama_cpp.namespace, "cpu-scaled"
    kubectl.apply(autoscaled(name, "cpu", "50"), namespace=namespace)
    assert wait_settled(kubectl, operator, namespace, name)["status"]["phase"] == "Ready"

    def utilization() -> int | None:
        metrics = kubectl.json("get", "hpa", name, "-n", namespace).get("status", {}).get("currentMetrics") or []
        # Until metrics-server has a sample of the pod, the entry is there but empty ({"type": ""}).
        current = metrics[0].get("resource", {}).get("current", {}) if metrics else {}
        value: int | None = current.get("averageUtilization")
        return value

    # metrics-server answers for the real pod: the HPA reads its cpu (0% counts, hence `is not None`).
    wait_for(lambda: utilization() is not None, timeout=120, what=f"{name}'s HPA reading cpu")
    url = f"http://{name}.{namespace}.svc.cluster.local:8080/v1/completions"
    scales_up_under_load_and_back(kubectl, namespace, name, load_pod(url, 300))


def test_a_custom_metrics_hpa_scales_on_requests_deferred_through_prometheus_adapter(
    kubectl: Kubectl, llama_cpp: Served, operator: OperatorProcess, prometheus: Prometheus, tmp_path: Path
) -> None:
    namespace, name = llama_cpp.namespace, "queue-scaled"
    signal = SCALING_SIGNALS[Runtime.LLAMA_CPP][ScalingMetric.REQUESTS_WAITING]
    # One slot: every request beyond the first waits, so the queue grows with the load.
    kubectl.apply(autoscaled(name, "requests-waiting", "1", optimization={"maxBatchSize": 1}), namespace=namespace)
    assert wait_settled(kubectl, operator, namespace, name)["status"]["phase"] == "Ready"
    discovered(prometheus, kubectl, namespace, name)
    with custom_metrics.adapter(kubectl.kubeconfig, prometheus.base, tmp_path, [signal.metric]):
        path = f"/apis/{custom_metrics.GROUP_VERSION}/namespaces/{namespace}/pods/*/{signal.metric}"
        wait_for(lambda: kubectl.run("get", "--raw", path, check=False).returncode == 0, timeout=90,
                 what=f"{signal.metric} served by prometheus-adapter")  # fmt: skip
        url = f"http://{name}.{namespace}.svc.cluster.local:8080/v1/completions"
        load = load_pod(url, 300, {"prompt": "Hello there", "max_tokens": 48}, concurrency=6)
        scales_up_under_load_and_back(kubectl, namespace, name, load)


def test_a_second_deployment_of_the_same_model_is_a_cache_hit_and_the_artifact_outlives_both(
    kubectl: Kubectl, namespace: str, operator: OperatorProcess, hub: ModelHub
) -> None:
    first = deployment("first", "hf://llmops-e2e/tiny-qwen2", runtime="llama-cpp")
    kubectl.apply(first, namespace=namespace)
    assert wait_settled(kubectl, operator, namespace, "first")["status"]["phase"] == "Ready"
    made = {n: j["metadata"]["uid"] for n, j in jobs(kubectl, namespace).items()}
    hub.requests.clear()

    began = time.monotonic()
    kubectl.apply(deployment("second", "hf://llmops-e2e/tiny-qwen2", runtime="llama-cpp"), namespace=namespace)
    second = wait_settled(kubectl, operator, namespace, "second", timeout=180)
    assert second["status"]["phase"] == "Ready", second["status"]
    assert second["status"]["artifact"]["cached"] is True
    assert condition(second, "ArtifactReady")["reason"] == "ArtifactCached"
    assert {n: j["metadata"]["uid"] for n, j in jobs(kubectl, namespace).items()} == made, "no new Job"
    assert not [r for r in hub.requests if "/resolve/" in r], "nothing downloaded again"
    ready = time.monotonic() - began
    url = f"http://second.{namespace}.svc.cluster.local:8080/v1/completions"
    assert request(kubectl, namespace, url, {"prompt": "Hello", "max_tokens": 4})["usage"]["completion_tokens"] > 0
    print(f"\n[e2e] gguf cached: apply → Ready {ready:.0f}s, → answered {time.monotonic() - began:.0f}s")

    artifact = models_dir(kubectl, namespace) / "artifacts" / second["status"]["artifact"]["key"].split(":", 1)[1]
    kubectl.run("delete", "llmdeployment", "first", "second", "-n", namespace, "--wait=true")
    assert (artifact / "manifest.json").is_file() and (artifact / "model.gguf").is_file()
    third = deployment("third", "hf://llmops-e2e/tiny-qwen2", runtime="llama-cpp")
    kubectl.apply(third, namespace=namespace)
    obj = wait_settled(kubectl, operator, namespace, "third", timeout=180)
    assert obj["status"]["phase"] == "Ready" and obj["status"]["artifact"]["cached"] is True
    # The first deployment's Jobs went with it (garbage collection); none was made again.
    assert {j["metadata"]["uid"] for j in jobs(kubectl, namespace).values()} <= set(made.values())
    assert not [r for r in hub.requests if "/resolve/" in r]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("hf://llmops-e2e/absent", "download: repository llmops-e2e/absent not found (404)"),
        ("hf://llmops-e2e/gated", "download: repository llmops-e2e/gated is gated: no token was given"),
        ("hf://llmops-e2e/unknown-arch", "convert: convert_hf_to_gguf.py exited with 1: "),
    ],
    ids=["missing", "gated-without-token", "unconvertible"],
)
def test_what_cannot_be_built_fails_with_the_builders_reason_and_leaves_nothing(
    kubectl: Kubectl, namespace: str, operator: OperatorProcess, source: str, reason: str
) -> None:
    name = "doomed"
    kubectl.apply(deployment(name, source, runtime="llama-cpp"), namespace=namespace)
    obj = wait_settled(kubectl, operator, namespace, name)
    status = obj["status"]
    assert status["phase"] == "Failed", status
    ready = condition(obj, "Ready")
    assert ready["status"] == "False" and ready["reason"] == "ConversionFailed"
    assert reason in ready["message"], ready["message"]
    assert TOKEN not in json.dumps(obj)
    assert [e for e in warnings(kubectl, namespace, name) if e["reason"] == "ConversionFailed"]
    # No partial artifact, no serving Deployment (so nothing crash-loops), no record.
    hex_key = status["artifact"]["key"].split(":", 1)[1]
    assert not (models_dir(kubectl, namespace) / "artifacts" / hex_key).exists()
    assert kubectl.json("get", "deployments", "-n", namespace)["items"] == []
    assert not [c for c in kubectl.json("get", "configmaps", "-n", namespace)["items"]
                if c["metadata"]["name"].startswith("llmops-artifact-")]  # fmt: skip


def test_a_gated_model_with_its_token_secret_downloads(
    kubectl: Kubectl, namespace: str, operator: OperatorProcess
) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hf"}, "stringData": {"token": TOKEN}}
    kubectl.apply(secret, namespace=namespace)
    obj = deployment("gated", "hf://llmops-e2e/gated", runtime="llama-cpp")
    obj["spec"]["model"]["tokenSecretRef"] = {"name": "hf"}
    kubectl.apply(obj, namespace=namespace)
    settled = wait_settled(kubectl, operator, namespace, "gated")
    assert settled["status"]["phase"] == "Ready", settled["status"]
    assert TOKEN not in json.dumps(settled) and TOKEN not in operator.log.read_text()


@pytest.fixture
def real_node_as_edge(kubectl: Kubectl) -> Iterator[None]:
    """The real node joins the edge class for one test (serving an edge deployment needs the class label)."""
    kubectl.run("label", "node", node.NODE_NAME, f"{CLASS_LABEL}=edge", "--overwrite")
    try:
        yield
    finally:
        kubectl.run("label", "node", node.NODE_NAME, f"{CLASS_LABEL}-")


@pytest.mark.usefixtures("real_node_as_edge")
def test_an_edge_deployment_resumes_after_the_operator_is_killed_mid_conversion_without_a_second_job(
    kubectl: Kubectl, namespace: str, operator: OperatorProcess
) -> None:
    name = "resumed"
    kubectl.apply(deployment(name, "hf://llmops-e2e/tiny-llama", accelerator="edge"), namespace=namespace)
    running = wait_for(lambda: jobs(kubectl, namespace) or None, timeout=60, what="the first Job")
    operator.stop(kill=True)
    try:
        seen = {n: j["metadata"]["uid"] for n, j in running.items()}
        time.sleep(5)
    finally:
        operator.start()
    obj = wait_settled(kubectl, operator, namespace, name)
    assert obj["status"]["phase"] == "Ready", obj["status"]
    after = {n: j["metadata"]["uid"] for n, j in jobs(kubectl, namespace).items()}
    assert {n: after[n] for n in seen} == seen, "the Jobs made before the kill were kept, not made again"
    assert all(j["status"].get("succeeded") == 1 for j in jobs(kubectl, namespace).values())
    (serving,) = kubectl.json("get", "pods", "-n", namespace, "-l", f"llmops.dev/deployment={name}")["items"]
    assert serving["spec"]["nodeName"] == node.NODE_NAME
    url = f"http://{name}.{namespace}.svc.cluster.local:8080/v1/completions"
    assert request(kubectl, namespace, url, {"prompt": "Hello", "max_tokens": 4})["usage"]["completion_tokens"] > 0


def test_cpu_onnx_exports_and_triton_answers_through_the_service_and_fills_its_panels(
    kubectl: Kubectl, namespace: str, operator: OperatorProcess, prometheus: Prometheus
) -> None:
    name = "tiny-onnx"
    began = time.monotonic()
    # Triton with ONNX Runtime and the Python backend needs more than the llama.cpp server.
    resources = {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"memory": "3Gi"}}
    obj = deployment(name, "hf://llmops-e2e/tiny-llama", runtime="triton", serving={"resources": resources})
    kubectl.apply(obj, namespace=namespace)
    settled = wait_settled(kubectl, operator, namespace, name, timeout=600)
    assert settled["status"]["phase"] == "Ready", settled["status"]
    ready = time.monotonic() - began
    hex_key = settled["status"]["artifact"]["key"].split(":", 1)[1]
    manifest = json.loads((models_dir(kubectl, namespace) / "artifacts" / hex_key / "manifest.json").read_text())
    assert manifest["format"] == "onnx" and "convert-onnx" in manifest["timings"]
    # The KServe v2 protocol through the Service by DNS name: the served model generates tokens.
    inputs = [
        {"name": "text_input", "shape": [1, 1], "datatype": "BYTES", "data": ["Return the number of items"]},
        {"name": "max_tokens", "shape": [1, 1], "datatype": "INT32", "data": [6]},
    ]
    url = f"http://{name}.{namespace}.svc.cluster.local:8000/v2/models/tiny-llama/infer"
    answer = request(kubectl, namespace, url, {"inputs": inputs})
    (output,) = [o for o in answer["outputs"] if o["name"] == "text_output"]
    assert output["data"] and output["data"][0], answer
    print(f"\n[e2e] onnx cold: apply → Ready {ready:.0f}s, → answered {time.monotonic() - began:.0f}s")
    # Discovered by Prometheus, and every Triton panel has data from the real pod under load.
    target = discovered(prometheus, kubectl, namespace, name)
    assert target["labels"][RUNTIME] == "triton" and target["scrapeUrl"].endswith(":8002/metrics")
    apply(kubectl, namespace, load_pod(url, 60, {"inputs": inputs}))
    panels_return_data(prometheus, "Triton", {"namespace": namespace, "runtime": "triton", "deployment": name})
    # The same model again: served from the cache, no Job.
    made = {n: j["metadata"]["uid"] for n, j in jobs(kubectl, namespace).items()}
    began = time.monotonic()
    again = deployment(
        "tiny-onnx-again", "hf://llmops-e2e/tiny-llama", runtime="triton", serving={"resources": resources}
    )
    kubectl.apply(again, namespace=namespace)
    cached = wait_settled(kubectl, operator, namespace, "tiny-onnx-again", timeout=300)
    assert cached["status"]["phase"] == "Ready" and cached["status"]["artifact"]["cached"] is True
    ready = time.monotonic() - began
    url = f"http://tiny-onnx-again.{namespace}.svc.cluster.local:8000/v2/models/tiny-llama/infer"
    assert request(kubectl, namespace, url, {"inputs": inputs})["outputs"]
    assert {n: j["metadata"]["uid"] for n, j in jobs(kubectl, namespace).items()} == made
    print(f"[e2e] onnx cached: apply → Ready {ready:.0f}s, → answered {time.monotonic() - began:.0f}s")
